"""Many sandboxes behind one hostname (Fly Machines): a request meant for another machine
is sent there.

Fly's proxy gives a request to any machine of the app unless it carries
``fly-force-instance-id``, which the SDK always sends. A browser cannot add that header
to the viewer's page, its scripts or its websocket, so the viewer's link names the
machine (``?fly_instance=<id>``) and opening it sets a cookie that names it too. A
machine that gets a request naming another answers, before anything else runs, with
``fly-replay: instance=<id>``: Fly's proxy then replays the request to that machine.
Only where the server knows its own machine (Fly sets ``FLY_MACHINE_ID``); elsewhere this
does nothing.
"""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from .limits import ASGIApp, Receive, Scope, Send

INSTANCE_PARAM = "fly_instance"
INSTANCE_COOKIE = "deskbox_instance"
REPLAY_HEADER = b"fly-replay"
_MACHINE_ID = re.compile(r"^[0-9a-z]{6,32}$")


def target_of(scope: Scope) -> str | None:
    """The machine a request names: its ``fly_instance`` parameter, else the viewer's cookie."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    named = query.get(INSTANCE_PARAM, [None])[0]
    if named is None:
        for key, value in scope.get("headers", []):
            if key == b"cookie":
                cookie: SimpleCookie = SimpleCookie()
                try:
                    cookie.load(value.decode("latin-1"))
                except Exception:  # a cookie header this server did not write
                    continue
                if INSTANCE_COOKIE in cookie:
                    named = cookie[INSTANCE_COOKIE].value
    return named if named is not None and _MACHINE_ID.match(named) else None


class InstanceRouting:
    """ASGI middleware, outermost: nothing runs for a request that belongs elsewhere."""

    def __init__(self, app: ASGIApp, machine_id: str | None) -> None:
        self.app = app
        self.machine_id = machine_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.machine_id is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        target = target_of(scope)
        if target is None or target == self.machine_id:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": {"type": "conflict", "message": f"this request is for machine {target}: "
                       "Fly's proxy replays it there", "details": []}}
        ).encode()  # fmt: skip
        headers = [
            (REPLAY_HEADER, f"instance={target}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 409, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 409, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1013})
