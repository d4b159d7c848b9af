"""Limits enforced before a request costs anything: headers, the token, the body.

The order matters. A request's headers are capped while they arrive (``LimitedHttp``,
the protocol under uvicorn), so a huge header cannot fill the server's memory. Then,
before a byte of the body is read, a request that can carry one must carry the token
(``RequestLimits``): an anonymous 300 MB POST is refused with a 401 having cost nothing.
An authenticated body is capped too, by its Content-Length or, when it is streamed, as it
arrives; only the streamed upload route takes bodies of any size.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .auth import TokenStore, bearer_matches

MAX_HEADER_BYTES = 256 * 1024
"""All of a request's header lines together; far above any browser's or client's."""
MAX_BODY_BYTES = 32 * 1024 * 1024
"""A JSON body; larger files go through the streamed PUT /files/upload."""
UNLIMITED_BODY_PATHS = frozenset({"/files/upload"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _error_body(kind: str, message: str) -> bytes:
    return json.dumps({"error": {"type": kind, "message": message, "details": []}}).encode()


async def _respond(send: Send, status: int, kind: str, message: str, extra: list[Any] | None = None) -> None:
    body = _error_body(kind, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware: the token before the body, and the body's size."""

    def __init__(self, app: ASGIApp, tokens: TokenStore, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.tokens = tokens
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if not bearer_matches(self.tokens, authorization):
            await _respond(
                send,
                401,
                "authentication_error",
                "missing or invalid bearer token: send 'Authorization: Bearer <token>'",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        if scope["path"] in UNLIMITED_BODY_PATHS:
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.max_body:
            await _respond(send, 413, "request_too_large", self._too_large())
            return
        await _BoundedBody(self, scope, receive, send).run()

    def _too_large(self) -> str:
        return (
            f"the request body is over {self.max_body // (1024 * 1024)} MiB; "
            "send files with PUT /files/upload"
        )


class _BoundedBody:
    """One request whose body is counted as it is read; past the cap, a 413."""

    def __init__(self, limits: RequestLimits, scope: Scope, receive: Receive, send: Send) -> None:
        self._limits, self._scope, self._receive, self._send = limits, scope, receive, send
        self._received = 0
        self._refused = False
        self._started = False

    async def run(self) -> None:
        await self._limits.app(self._scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self._refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limits.max_body:
                self._refused = True
                if not self._started:
                    self._started = True
                    await _respond(self._send, 413, "request_too_large", self._limits._too_large())
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self._refused:
            return  # the 413 has been sent; the app's own answer is dropped
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


class LimitedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose headers pass MAX_HEADER_BYTES.

    Counted as bytes arrive, before the parser has them: httptools gathers a header's
    value whole before it reports it, so counting afterwards would be too late.
    """

    _header_bytes = 0
    _in_headers = True

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse_headers()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_headers, self._header_bytes = True, 0

    def _refuse_headers(self) -> None:
        body = _error_body(
            "request_too_large", f"the request's headers are over {MAX_HEADER_BYTES // 1024} KiB"
        )
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()
