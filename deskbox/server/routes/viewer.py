"""The noVNC viewer, behind one-time tickets and a signed cookie (see viewer_auth)."""

from __future__ import annotations

import contextlib
import functools
import json
import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Depends, Request, WebSocket
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field

from ...errors import AuthenticationError, NotFoundError
from ...models import ViewerLinkInfo
from ..auth import require_token
from ..instance_routing import INSTANCE_COOKIE, INSTANCE_PARAM
from ..viewer_auth import COOKIE, LINK_SECONDS_MAX, SESSION_SECONDS, TICKET_SECONDS, Grant, ViewerAuth
from ..wsproxy import bridge
from .trace import live_url

router = APIRouter(tags=["viewer"])  # needs the bearer token
public_router = APIRouter(tags=["viewer"])  # needs a ticket or the viewer cookie

POLICY_VIOLATION = 1008


class TicketRequest(BaseModel):
    view_only: bool = False
    page: Literal["desktop", "trace"] = "desktop"
    """Where the link leads: the desktop alone, or the live trace beside it."""


class Ticket(BaseModel):
    url: str
    """Open this in a browser within ``expires_in`` seconds; it works once."""
    expires_in: float
    view_only: bool


class LinkRequest(BaseModel):
    view_only: bool = False
    expires_in: Annotated[float, Field(ge=60, le=LINK_SECONDS_MAX)] = 3600
    """Seconds the link keeps working (at most a week)."""


def _auth(request: Request | WebSocket) -> ViewerAuth:
    auth: ViewerAuth = request.app.state.viewer_auth
    return auth


def _novnc_dir(request: Request | WebSocket) -> Path:
    folder: Path | None = request.app.state.settings.novnc_dir
    if folder is None:
        raise NotFoundError("this server has no viewer (noVNC is not installed)")
    return folder


@functools.cache
def _socket_path(novnc: Path) -> str:
    """noVNC's ``path`` setting for /viewer/websockify.

    noVNC up to 1.4 joins ``path`` to the host; later versions resolve it against the
    page's URL, which already lives under /viewer/.
    """
    try:
        version = json.loads((novnc / "package.json").read_text())["version"]
        major, minor = (int(part) for part in version.split(".")[:2])
    except (OSError, ValueError, KeyError):
        return "viewer/websockify"
    return "websockify" if (major, minor) >= (1, 5) else "viewer/websockify"


@router.post("/viewer/tickets", response_model=Ticket)
async def create_ticket(request: Request, body: TicketRequest | None = None) -> Ticket:
    """A one-time viewer URL; ``view_only`` gives a viewer that cannot send input."""
    _novnc_dir(request)
    view_only = body.view_only if body is not None else False
    ticket = _auth(request).issue_ticket("view" if view_only else "full")
    page = body.page if body is not None else "desktop"
    query = {"ticket": ticket, **({"page": page} if page != "desktop" else {})}
    machine: str | None = request.app.state.settings.fly_machine_id
    if machine is not None:  # one hostname, many machines: the link names this one
        query[INSTANCE_PARAM] = machine
    url = f"{str(request.base_url).rstrip('/')}/viewer?{urlencode(query)}"
    return Ticket(url=url, expires_in=TICKET_SECONDS, view_only=view_only)


def _public_base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post("/viewer/links", response_model=ViewerLinkInfo, status_code=201)
async def create_link(request: Request, body: LinkRequest | None = None) -> ViewerLinkInfo:
    """A viewer URL that works many times (to embed the live view in a page) until it
    expires or is revoked. It carries its own secret, never the API token."""
    _novnc_dir(request)
    body = body or LinkRequest()
    link, secret = _auth(request).issue_link("view" if body.view_only else "full", body.expires_in)
    query = {"link": secret}
    machine: str | None = request.app.state.settings.fly_machine_id
    if machine is not None:
        query[INSTANCE_PARAM] = machine
    url = f"{_public_base(request)}/viewer?{urlencode(query)}"
    return ViewerLinkInfo(id=link.id, url=url, expires_at=link.expires_at, view_only=body.view_only)


# On the public router, ahead of the viewer's files under /viewer/, with the token checked
# here: the protected router comes after them, and the files' route would take the path.
@public_router.get(
    "/viewer/links", response_model=list[ViewerLinkInfo], dependencies=[Depends(require_token)]
)
async def list_links(request: Request) -> list[ViewerLinkInfo]:
    return [
        ViewerLinkInfo(id=link.id, expires_at=link.expires_at, view_only=link.mode == "view")
        for link in _auth(request).links()
    ]


@router.delete("/viewer/links/{link_id}", status_code=204)
async def revoke_link(request: Request, link_id: str) -> None:
    """Revoke a link: it opens nothing more, and the viewers it opened are closed."""
    sockets = _auth(request).revoke(link_id)
    if sockets is None:
        raise NotFoundError(f"no viewer link {link_id!r} (revoked, expired, or never made)")
    for socket in sockets:
        if isinstance(socket, WebSocket):
            with contextlib.suppress(RuntimeError, OSError):
                await socket.close(code=POLICY_VIOLATION)


@public_router.get("/viewer", response_class=RedirectResponse, status_code=303)
async def open_viewer(
    request: Request,
    ticket: str | None = None,
    link: str | None = None,
    page: Literal["desktop", "trace"] = "desktop",
    resize: Literal["scale", "remote", "off"] = "scale",
    autoconnect: bool = True,
) -> RedirectResponse:
    """Trade a ticket (once) or a link (until it ends) for the viewer cookie, then go to
    the viewer page."""
    _novnc_dir(request)
    grant: Grant | None = None
    if ticket is not None:
        mode = _auth(request).redeem(ticket)
        grant = None if mode is None else Grant(mode, time.time() + SESSION_SECONDS)
    elif link is not None:
        grant = _auth(request).use_link(link)
    if grant is None:
        raise AuthenticationError("this viewer link is invalid, used, revoked or expired; ask for a new one")
    mode = grant.mode
    query = {
        "autoconnect": "1" if autoconnect else "0",
        "reconnect": "1",
        "resize": resize,
        "path": _socket_path(_novnc_dir(request)),
        "view_only": "1" if mode == "view" else "0",
        "show_dot": "1",
    }
    target = live_url(query) if page == "trace" else f"/viewer/vnc.html?{urlencode(query)}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        _auth(request).session_cookie(mode, grant.link, grant.expires_at),
        max_age=max(1, int(min(SESSION_SECONDS, grant.expires_at - time.time()))),
        # "/" so the same browser can also read /docs; the API itself never takes it.
        path="/",
        httponly=True,
        samesite="strict",
    )
    machine: str | None = request.app.state.settings.fly_machine_id
    if machine is not None:  # the page's own requests, and its websocket, come back here
        response.set_cookie(INSTANCE_COOKIE, machine, max_age=SESSION_SECONDS, path="/", samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@public_router.get("/viewer/{asset:path}", response_class=FileResponse)
async def viewer_asset(
    request: Request, asset: str, deskbox_viewer: Annotated[str | None, Cookie()] = None
) -> FileResponse:
    """noVNC's page and scripts, for holders of the viewer cookie."""
    if _auth(request).check_cookie(deskbox_viewer) is None:
        raise AuthenticationError("open the viewer through a ticket URL from POST /viewer/tickets")
    root = _novnc_dir(request).resolve()
    path = (root / asset).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFoundError(f"no viewer file {asset!r}")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


@public_router.websocket("/viewer/websockify")
async def viewer_socket(websocket: WebSocket) -> None:
    """The VNC stream: view-only cookies reach a VNC server that ignores input."""
    auth = _auth(websocket)
    grant = auth.cookie_grant(websocket.cookies.get(COOKIE))
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    # Cross-site pages must not ride on the cookie (SameSite=Strict covers browsers
    # that honour it; the Origin check covers the rest).
    if grant is None or (origin is not None and origin.split("://", 1)[-1] != host):
        await websocket.close(code=POLICY_VIOLATION)
        return
    upstream: str | None = websocket.app.state.settings.viewer_upstream
    if not upstream:
        await websocket.close(code=POLICY_VIOLATION)
        return
    auth.viewer_opened(grant.link, websocket)
    try:
        await bridge(websocket, f"{upstream}?token={grant.mode}")
    finally:
        auth.viewer_closed(grant.link, websocket)
