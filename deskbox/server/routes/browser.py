"""The desktop's Chromium over the DevTools protocol, for holders of the token.

Chromium listens on loopback inside the sandbox. This gateway forwards /cdp/json/* and
the DevTools websockets, rewriting the websocket URLs Chromium hands out so they point
back here. Playwright connects with the token as a header:

    browser = await playwright.chromium.connect_over_cdp(
        f"{url}/cdp", headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Request, WebSocket
from fastapi import Path as FastAPIPath
from fastapi.responses import JSONResponse

from ...errors import DesktopUnavailableError, NotFoundError
from ...models import HistoryMoved, HistoryRequest, NavigateRequest
from .. import devtools
from ..auth import bearer_matches
from ..wsproxy import bridge

router = APIRouter(tags=["browser"])  # needs the bearer token
socket_router = APIRouter(tags=["browser"])  # checks the token itself (websocket)

POLICY_VIOLATION = 1008


def _upstream(request: Request | WebSocket) -> str:
    url: str | None = request.app.state.settings.cdp_url
    if not url:
        raise NotFoundError("this server has no browser to connect to")
    return url.rstrip("/")


def _rewrite(value: Any, upstream_ws: str, public_ws: str) -> Any:
    if isinstance(value, dict):
        return {key: _rewrite(item, upstream_ws, public_ws) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, upstream_ws, public_ws) for item in value]
    if isinstance(value, str) and value.startswith(upstream_ws):
        return public_ws + value[len(upstream_ws) :]
    return value


Endpoint = Annotated[
    str, FastAPIPath(pattern=r"^[A-Za-z0-9_./-]*$", max_length=200, description="version, list, ...")
]


@router.get("/cdp/json/{endpoint:path}")
async def devtools_json(request: Request, endpoint: Endpoint) -> JSONResponse:
    """Chromium's /json endpoints (version, list, ...), with websocket URLs made public."""
    upstream = _upstream(request)
    try:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            # httpx sends Host: 127.0.0.1:<port>; Chromium answers only an IP or localhost
            # Host, and builds the websocket URLs it returns from it.
            answer = await client.get(f"{upstream}/json/{endpoint.rstrip('/')}")
            body = answer.json() if answer.status_code != 404 else None
    except (httpx.HTTPError, ValueError) as exc:
        raise DesktopUnavailableError(f"the browser is not answering as DevTools does: {exc}") from exc
    if answer.status_code == 404:
        raise NotFoundError(f"no DevTools endpoint /json/{endpoint}")
    scheme = "wss" if request.url.scheme == "https" else "ws"
    public_ws = f"{scheme}://{request.headers.get('host', request.url.netloc)}/cdp"
    upstream_ws = "ws://" + upstream.removeprefix("http://").removeprefix("https://")
    return JSONResponse(_rewrite(body, upstream_ws, public_ws), status_code=answer.status_code)


@router.post("/browser/navigate", status_code=204)
async def navigate(request: Request, body: NavigateRequest) -> None:
    """Open ``url`` in the browser's active tab and wait (up to 15 s) for it to load."""
    await devtools.navigate(_upstream(request), body.url)


@router.post("/browser/history", response_model=HistoryMoved)
async def history(request: Request, body: HistoryRequest) -> HistoryMoved:
    """Go back (delta -1) or forward (+1) in the active tab; ``moved`` is false at either end."""
    return HistoryMoved(moved=await devtools.go(_upstream(request), body.delta))


@socket_router.websocket("/cdp/devtools/{path:path}")
async def devtools_socket(websocket: WebSocket, path: str) -> None:
    """A DevTools session (browser or page), relayed to Chromium."""
    if not bearer_matches(websocket.app.state.tokens, websocket.headers.get("authorization")):
        await websocket.close(code=POLICY_VIOLATION)
        return
    try:
        upstream = _upstream(websocket)
    except NotFoundError:
        await websocket.close(code=POLICY_VIOLATION)
        return
    upstream_ws = "ws://" + upstream.removeprefix("http://").removeprefix("https://")
    await bridge(websocket, f"{upstream_ws}/devtools/{path}")
