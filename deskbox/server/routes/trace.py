"""The action trace: start, stop (the file comes back), notes, and the live viewer.

The API (start, stop, status, notes) needs the token. The live viewer's page and what it
reads (events, frames, the viewer's scripts) take the token or the viewer cookie that a
ticket URL sets, as noVNC's page does, since a browser cannot send the token.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ...errors import AuthenticationError, DesktopUnavailableError, NotFoundError
from ...trace import viewer
from ...trace.model import TraceEvents, TraceNote, TraceNoteRequest, TraceStartRequest, TraceStatus
from ..auth import bearer_matches
from ..tracing import Tracer
from ..viewer_auth import COOKIE, ViewerAuth

router = APIRouter(prefix="/trace", tags=["trace"])  # needs the bearer token
public_router = APIRouter(prefix="/trace", tags=["trace"])  # the token or the viewer cookie

LONGEST_POLL = 30.0


def get_tracer(request: Request) -> Tracer:
    tracer: Tracer | None = request.app.state.tracer
    if tracer is None:
        raise DesktopUnavailableError("the server is still starting: it has no desktop yet")
    return tracer


TracerDep = Annotated[Tracer, Depends(get_tracer)]


async def viewer_access(
    request: Request, deskbox_viewer: Annotated[str | None, Cookie(alias=COOKIE)] = None
) -> None:
    if bearer_matches(request.app.state.tokens, request.headers.get("authorization")):
        return
    auth: ViewerAuth = request.app.state.viewer_auth
    if auth.check_cookie(deskbox_viewer) is None:
        raise AuthenticationError(
            "send the bearer token, or open the live trace through a viewer ticket URL "
            '(POST /viewer/tickets with {"page": "trace"})'
        )


ViewerAccess = Depends(viewer_access)


@router.post("/start", response_model=TraceStatus)
async def start(tracer: TracerDep, request: TraceStartRequest | None = None) -> TraceStatus:
    """Record every request from now on, with the screen before and after (409 while one runs)."""
    return await tracer.start(request or TraceStartRequest())


@router.post("/stop", response_class=FileResponse, responses={200: {"content": {"application/zip": {}}}})
async def stop(tracer: TracerDep) -> FileResponse:
    """End the trace and download it: one zip file (``deskbox trace show`` opens it)."""
    path = await tracer.stop()
    return FileResponse(path, media_type="application/zip", filename="trace.zip")


@router.get("", response_model=TraceStatus)
async def status(tracer: TracerDep) -> TraceStatus:
    return tracer.status()


@router.post("/notes", response_model=TraceNote)
async def note(request: TraceNoteRequest, tracer: TracerDep) -> TraceNote:
    """What the model asked for, shown above the steps that carry it out."""
    return await tracer.note(request)


@public_router.get("/events", response_model=TraceEvents, dependencies=[ViewerAccess])
async def events(
    tracer: TracerDep,
    after: Annotated[int, Query(ge=0, description="How many events the caller already has")] = 0,
    wait: Annotated[float, Query(ge=0, le=LONGEST_POLL, description="Seconds to wait for a new one")] = 0,
) -> TraceEvents:
    """The trace's events after the first ``after``; with ``wait``, a long poll."""
    return await tracer.events(after, wait)


@public_router.get(
    "/frames/{seq}",
    response_class=Response,
    dependencies=[ViewerAccess],
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def frame(seq: int, tracer: TracerDep) -> Response:
    picture = await tracer.frame(seq)
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@public_router.get("/live", response_class=HTMLResponse, dependencies=[ViewerAccess])
async def live(request: Request, vnc: str | None = None) -> HTMLResponse:
    """The trace as it grows, beside the desktop's live view when ``vnc`` says where it is."""
    config: dict[str, object] = {"source": "remote", "base": "/trace/", "live": True}
    if vnc is not None:
        if not vnc.startswith("/viewer/vnc.html?"):
            raise NotFoundError("vnc must be the viewer's own page")
        config["vnc"] = vnc
    page = viewer.page(config, assets="/trace/assets/")
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@public_router.get("/assets/{name}", dependencies=[ViewerAccess])
async def asset(name: str) -> Response:
    content, media_type = viewer.asset(name)
    return Response(content, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


def live_url(vnc_query: dict[str, str]) -> str:
    """Where a trace ticket leads: the live trace beside the desktop."""
    return "/trace/live?" + urlencode({"vnc": "/viewer/vnc.html?" + urlencode(vnc_query)})
