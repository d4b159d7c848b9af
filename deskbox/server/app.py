"""The control server: a FastAPI app over one Desktop."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from .. import __version__
from ..desktop import Desktop
from .auth import TokenStore, require_token
from .errors import install_error_handlers
from .limits import RequestLimits
from .routes import actions, browser, docs, files, info, screenshot, shell, viewer
from .routes import desktop as desktop_area
from .settings import Settings, get_settings
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
            app.state.desktop = Desktop(settings.display)
        try:
            yield
        finally:
            if owned:
                await app.state.desktop.close()
                app.state.desktop = None

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
    app.state.viewer_auth = ViewerAuth(tokens)
    install_error_handlers(app)
    # Outermost: nothing reads a body before the token and the size are checked.
    app.add_middleware(RequestLimits, tokens=tokens)
    # Open: health probes. Own checks: the viewer (ticket/cookie), DevTools sockets, docs.
    for open_router in (info.health_router, viewer.public_router, browser.socket_router, docs.router):
        app.include_router(open_router)
    protected = [Depends(require_token)]
    for area in (actions, screenshot, shell, files, desktop_area, info, viewer, browser):
        app.include_router(area.router, dependencies=protected)
    return app
