"""ASGI middleware that turns each HTTP request into a trace step while a trace runs.

It sits inside the request limits (the token and the body's size are checked first, so
nothing unauthenticated is traced) and sees the request's body as the route reads it
and the answer as it is sent, keeping what ``deskbox.trace.bodies`` keeps. With no trace
running it only looks at one attribute per request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from ..timing import clock
from ..trace.bodies import MAX_JSON_BYTES, describe
from .auth import TokenStore, bearer_matches
from .limits import ASGIApp, Message, Receive, Scope, Send
from .tracing import Tracer, traced


class TraceRecorder:
    def __init__(self, app: ASGIApp, tokens: TokenStore) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer: Tracer | None = getattr(scope["app"].state, "tracer", None) if "app" in scope else None
        if (
            scope["type"] != "http"
            or tracer is None
            or not tracer.active
            or not traced(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if not bearer_matches(self.tokens, headers.get(b"authorization", b"").decode("latin-1")):
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        step = await tracer.begin(scope["method"], scope["path"], query, "http")
        if step is None:
            await self.app(scope, receive, send)
            return
        sent = _Answer()
        received = _Body()

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received.add(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent.status = message["status"]
                sent.content_type = _header(message.get("headers", []), b"content-type")
            elif message["type"] == "http.response.body":
                sent.body.add(message.get("body", b""))
            await send(message)

        request_type = headers.get(b"content-type", b"").decode("latin-1")
        with clock() as spent:
            try:
                await self.app(scope, reading, sending)
            finally:
                await tracer.finish(
                    step,
                    sent.status,
                    describe(received.kept(), request_type, received.size),
                    describe(sent.body.kept(), sent.content_type, sent.body.size),
                    spent,
                )


class _Body:
    """A body's size, and its bytes while they are few enough to keep."""

    def __init__(self) -> None:
        self.size = 0
        self._chunks: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= MAX_JSON_BYTES:
            self._chunks.append(chunk)

    def kept(self) -> bytes:
        return b"".join(self._chunks) if self.size <= MAX_JSON_BYTES else b""


class _Answer:
    def __init__(self) -> None:
        self.status = 500  # what the client gets when the app raises before answering
        self.content_type: str | None = None
        self.body = _Body()


def _header(headers: Any, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
