"""E2B's stock ``desktop`` template, answering the control server's requests.

The stock template runs no deskbox server, so the SDK's requests are answered here, from
a route table, by ``e2b_desktop`` calls: shell commands (xdotool, scrot, xmodmap) and
file operations. The SDK above runs unchanged; only this transport knows it is not
talking to our server.

What this mode can do is declared once, as data: the route table (``ROUTES``, plus the
screen and action routes the transport answers itself; ``StockTransport.routes`` is the
whole allowlist) and ``ACTIONS`` (the action types a batch may hold). Anything else is refused before it
runs, through ``refuse``, with an UnsupportedInModeError naming it and the mode. A new
route or action is off here until someone adds it to these tables.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import httpx

from ...actions import parse_request, screenshot_query
from ...dispatch import actions_of, perform
from ...models import Size
from .._router import Call, Handler, RouteTable, respond
from . import _commands, _desktop, _files
from ._refusal import MODE, refuse
from ._remote import Remote
from ._target import XdotoolTarget

ACTIONS = frozenset(
    {
        "move",
        "click",
        "mouse_down",
        "mouse_up",
        "drag",
        "scroll",
        "key",
        "key_down",
        "key_up",
        "hold_key",
        "type",
        "wait",
        "screenshot",
        "cursor_position",
        "zoom",
    }
)
"""The action types stock mode runs; any other is refused, naming it."""
OFF_ACTIONS = frozenset({"pyautogui"})
"""Action types decided off: pyautogui code runs in a worker beside deskbox's server,
which the stock template does not have."""

RemoteHandler = Callable[[Remote, Call], Awaitable[httpx.Response]]

ROUTES: dict[str, RemoteHandler] = {
    "POST /shell/run": _commands.shell_run,
    "POST /shell/stream": _commands.shell_stream,
    "GET /files": _files.listing,
    "GET /files/stat": _files.stat,
    "GET /files/exists": _files.exists,
    "GET /files/download": _files.download,
    "PUT /files/upload": _files.upload,
    "POST /files/mkdir": _files.make_dir,
    "POST /files/move": _files.move,
    "DELETE /files": _files.remove,
    "POST /open": _desktop.open_target,
    "POST /launch": _desktop.launch,
    "GET /windows/active": _desktop.active_window,
    "GET /windows/search": _desktop.search_windows,
    "GET /windows/{window_id}/title": _desktop.window_title,
    "POST /windows/{window_id}/focus": _desktop.focus_window,
    "POST /viewer/tickets": _desktop.viewer_ticket,
}
"""The routes answered by e2b calls; the screen and action routes are the transport's own."""


class StockTransport(httpx.AsyncBaseTransport):
    """``httpx`` transport for one stock sandbox: ``desktop`` is its ``e2b_desktop.Sandbox``,
    ``sdk`` the ``e2b`` package whose exceptions it raises."""

    def __init__(self, desktop: Any, sdk: ModuleType) -> None:
        self._remote = Remote(desktop, sdk)
        self._target = XdotoolTarget(self._remote)
        table: dict[str, Handler] = {
            "GET /screen": self._screen,
            "GET /cursor": self._cursor,
            "GET /screenshot": self._screenshot,
            "GET /screenshot/base64": self._screenshot_base64,
            "POST /actions": self._actions,
        }
        table |= {route: functools.partial(handler, self._remote) for route, handler in ROUTES.items()}
        self._table = RouteTable(table)

    @property
    def routes(self) -> frozenset[str]:
        """What this mode answers: the allowlist of routes."""
        return frozenset(self._table.routes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        found = self._table.match(request.method, path)
        if found is None:
            raise refuse(f"{request.method} {path}")
        handler, path_args = found
        body = await request.aread()
        return await handler(Call(request.method, path, request.url.params, body, path_args))

    async def _screen(self, call: Call) -> httpx.Response:
        width, height = await self._target.screen_size()
        return respond(Size(width=width, height=height))

    async def _cursor(self, call: Call) -> httpx.Response:
        x, y = await self._target.cursor_position()
        return respond({"x": x, "y": y})

    async def _screenshot(self, call: Call) -> httpx.Response:
        options, settle = screenshot_query(call.params)
        encoded = await self._target.screenshot(options, settle)
        headers = {
            "content-type": encoded.media_type,
            "X-Image-Width": str(encoded.width),
            "X-Image-Height": str(encoded.height),
        }
        return httpx.Response(200, content=encoded.data, headers=headers)

    async def _screenshot_base64(self, call: Call) -> httpx.Response:
        options, settle = screenshot_query(call.params)
        return respond((await self._target.screenshot(options, settle)).to_model())

    async def _actions(self, call: Call) -> httpx.Response:
        request = parse_request(call.json())
        for step in actions_of(request):
            if step.type not in ACTIONS:
                raise refuse(f"the {step.type!r} action")
        after, settle = screenshot_query(call.params) if call.flag("screenshot_after") else (None, 0.0)
        return respond(await perform(self._target, request, after, settle))


__all__ = ["ACTIONS", "MODE", "OFF_ACTIONS", "ROUTES", "StockTransport", "refuse"]
