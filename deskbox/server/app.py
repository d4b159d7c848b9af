"""The control server: a FastAPI app over one Desktop."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from .. import __version__
from ..desktop import Desktop
from ..desktop.driver import state_folder
from ..models import ErrorBody
from ..trace.model import TraceStartRequest
from .auth import TokenStore, require_token
from .errors import install_error_handlers
from .instance_routing import InstanceRouting
from .limits import RequestLimits
from .routes import (
    accessibility,
    action_socket,
    actions,
    browser,
    docs,
    files,
    info,
    osworld,
    osworld_setup,
    recording,
    screenshot,
    shell,
    trace,
    viewer,
    watch,
)
from .routes import desktop as desktop_area
from .settings import Settings, get_settings
from .trace_middleware import TraceRecorder
from .tracing import Tracer
from .viewer_auth import ViewerAuth

log = logging.getLogger("deskbox.server")


def tune_malloc() -> None:
    """Keep glibc from mmap-ing and unmapping every multi-megabyte frame buffer.

    Fresh 4 MB buffers per screenshot cost milliseconds each in a VM; raising the mmap
    and trim thresholds lets malloc reuse the heap instead, which more than halves a
    grab plus JPEG. Equivalent to MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 64 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 256 * 1024 * 1024)


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "Missing or wrong bearer token",
        404: "No such file, process, window or endpoint",
        409: "The target is in the wrong state (a folder, a file that exists, a pipe)",
        413: "The request, or what it asks for, is over a size limit",
        422: "A field is invalid; details name each one",
        503: "The display or the browser cannot be reached right now, or no process can start",
        504: "A wait the request asked for ran out (a window that never showed, code past its timeout)",
        507: "The sandbox's disk is full",
    }.items()
}
"""Every error a protected route can answer, in the one error shape, for the OpenAPI schema."""

TRIM_EVERY = 10.0
TRIM_AFTER_GROWTH = 32 * 1024 * 1024


async def _give_memory_back() -> None:
    """Return freed heap to the system after a large request. The malloc thresholds above
    keep big frames in the heap for speed; without a trim, a burst of large requests
    would leave the server the largest process, the out-of-memory killer's first pick."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    page = os.sysconf("SC_PAGE_SIZE")

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    baseline = resident()
    while True:
        await asyncio.sleep(TRIM_EVERY)
        now = resident()
        if now - baseline > TRIM_AFTER_GROWTH:
            libc.malloc_trim(0)
            baseline = resident()
        else:
            baseline = min(baseline, now)


def create_app(settings: Settings | None = None, desktop: Desktop | None = None) -> FastAPI:
    """The app for one display. Pass ``desktop`` to share a driver (tests do)."""
    settings = settings or get_settings()
    if settings.token_file is not None:
        tokens = TokenStore(None, settings.token_file)
    else:
        token, generated = settings.ensure_token()
        if generated:
            log.warning("DESKBOX_TOKEN is not set; generated token for this run: %s", token)
        tokens = TokenStore(token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.desktop is None
        if owned:
            # A supervised sandbox's server is known by its status file: a restarted one
            # ends the commands its predecessor left running.
            owner = str(settings.status_file) if settings.status_file is not None else None
            app.state.desktop = Desktop(settings.display, owner)
            ended = await app.state.desktop.processes.end_orphans()
            if ended:
                log.warning("ended %d command(s) left running by the previous server", ended)
        if app.state.tracer is None:
            app.state.tracer = Tracer(app.state.desktop, state_folder("traces"))
        if settings.trace:
            await app.state.tracer.start(TraceStartRequest(title="DESKBOX_TRACE"))
        trimming = asyncio.create_task(_give_memory_back())
        try:
            yield
        finally:
            trimming.cancel()
            await app.state.tracer.close()
            if owned:
                await app.state.desktop.close()
                app.state.desktop = None
                app.state.tracer = None

    app = FastAPI(
        title="deskbox",
        version=__version__,
        summary="A desktop in a box for computer-use agents.",
        description="Send `Authorization: Bearer <token>` with every request but /health.",
        lifespan=lifespan,
        # Served by routes/docs.py, behind the token like everything else.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.tokens = tokens
    app.state.settings = settings
    app.state.desktop = desktop
    # Made here when the desktop is given (tests serve it without a lifespan), else at start.
    app.state.tracer = Tracer(desktop, state_folder("traces")) if desktop is not None else None
    app.state.viewer_auth = ViewerAuth(tokens)
    install_error_handlers(app)
    # Inside the limits: only requests with the token, and bodies of an allowed size, are traced.
    app.add_middleware(TraceRecorder, tokens=tokens)
    # Outermost: nothing reads a body before the token and the size are checked.
    app.add_middleware(RequestLimits, tokens=tokens)
    # Before even that: a request for another machine behind the same hostname goes there.
    app.add_middleware(InstanceRouting, machine_id=settings.fly_machine_id)
    # Open: health probes. Own checks: the viewer (ticket/cookie), the sockets, docs.
    open_routers = (
        info.health_router,
        viewer.public_router,
        browser.socket_router,
        action_socket.router,
        docs.router,
        trace.public_router,
    )
    for open_router in open_routers:
        app.include_router(open_router)
    protected = [Depends(require_token)]
    for area in (
        actions,
        screenshot,
        shell,
        files,
        watch,
        desktop_area,
        accessibility,
        info,
        viewer,
        browser,
        osworld,
        osworld_setup,
        recording,
        trace,
    ):
        app.include_router(area.router, dependencies=protected, responses=ERROR_RESPONSES)
    return app
