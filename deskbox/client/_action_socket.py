"""Actions over the server's persistent websocket, as an httpx transport.

``POST /actions``, ``GET /screenshot``, ``/cursor`` and ``/screen`` go over one
websocket to ``/actions/ws`` (see ``deskbox.server.routes.action_socket`` for the
frames); every other request, and these too where the socket cannot be had, goes over
the inner transport as plain HTTP. Being a transport, it hands the SDK the same
responses HTTP would (status, headers, the one error body), so nothing above it knows
which path a request took.

Where the server answers the upgrade with anything but a socket (an older server, a
proxy that carries no websockets), it is not tried again on this connection; where it
cannot be reached, or the handshake is cut off, the request goes over HTTP (which
reports that as HTTP does) and the socket is tried again a little later. A request
whose socket closes before its answer fails as a dropped HTTP connection would: it is
never sent twice, since an action may have run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
import time
from typing import TYPE_CHECKING, Any

import httpx

from .._tls import tls_for

if TYPE_CHECKING:
    from ._websocket import ClientSocket

CARRIED = {("POST", "/actions"), ("GET", "/screenshot"), ("GET", "/cursor"), ("GET", "/screen")}
CLOSE_WAIT = 0.05
"""Seconds to wait for the server's answer to a close before dropping the connection."""
RETRY_SOCKET_AFTER = 2.0
"""Seconds of plain HTTP after the socket could not be opened, before trying it again."""
MAX_SOCKET_BODY = 1 << 20
"""Larger requests (a long text to type) go over HTTP, out of the way of small ones."""
SKIPPED_HEADERS = {
    "host",
    "content-length",
    "content-type",
    "connection",
    "upgrade",
    "accept-encoding",
    "transfer-encoding",
}


class ActionSocketTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, open_timeout: float = 10.0) -> None:
        # Without a transport of the caller's, the one it falls back to verifies TLS with
        # the process's shared context (see deskbox._tls); building its own costs 40 ms.
        self._inner = inner or httpx.AsyncHTTPTransport(verify=tls_for("https://"))
        self._open_timeout = open_timeout
        self._socket: ClientSocket | None = None
        self._opening = asyncio.Lock()
        self._pending: dict[int, asyncio.Future[tuple[dict[str, Any], bytes]]] = {}
        self._sent_on: dict[int, ClientSocket] = {}
        """The socket each pending request went out on: only its own socket's end fails it."""
        self._ids = itertools.count(1)
        self._refused = False
        self._retry_at = 0.0
        self._closed = False

    @property
    def socket_open(self) -> bool:
        """Whether requests are going over the websocket now (for tests and benchmarks)."""
        return self._socket is not None

    def carries(self, request: httpx.Request) -> bool:
        """Whether ``request`` would go over the socket (else over the inner transport)."""
        tail = request.url.path.rpartition("/")[2]
        return not (self._refused or self._closed) and (request.method, f"/{tail}") in CARRIED

    def open_for(self, method: str, path: str) -> bool:
        """Whether the socket is open now and carries ``method path``: the connection's
        short way, with no HTTP request built at all."""
        return self._socket is not None and not self._closed and (method, path) in CARRIED

    async def exchange(
        self, method: str, path: str, query: dict[str, str], body_json: str, timeout: float | None
    ) -> tuple[int, dict[str, str], bytes] | None:
        """One request over the open socket, its body given as JSON text: (status, headers,
        content); or None to send it the other way (too large for the socket, or the socket
        found closed before the frame left). A socket that closes while the answer is
        awaited fails it as a dropped connection would: it may have run."""
        socket = self._socket
        if socket is None:
            raise httpx.ReadError("the action socket closed")
        key = next(self._ids)
        head = json.dumps({"id": key, "method": method, "path": path, "query": query})
        message = f'{head[:-1]},"body":{body_json}}}'
        if len(message) > MAX_SOCKET_BODY:
            return None
        self._sent_on[key] = socket
        answer: asyncio.Future[tuple[dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self._pending[key] = answer
        try:
            if not socket.send_text(message):
                # Closed before the frame left (a restarted server): nothing ran, so the
                # request may go the other way, which opens a new socket.
                if self._socket is socket:
                    self._socket = None
                return None
            header, content = await self._answer(socket, key, answer, timeout, None)
        finally:
            self._pending.pop(key, None)
            self._sent_on.pop(key, None)
        return int(header["status"]), dict(header.get("headers") or {}), content

    async def _answer(
        self,
        socket: ClientSocket,
        key: int,
        answer: asyncio.Future[tuple[dict[str, Any], bytes]],
        timeout: float | None,
        request: httpx.Request | None,
    ) -> tuple[dict[str, Any], bytes]:
        # A timer on the future, not asyncio.wait_for: wait_for wraps the wait in more
        # machinery than the whole answer costs on a cold cache.
        timer = None if timeout is None else answer.get_loop().call_later(timeout, _expire, answer)
        try:
            return await answer
        except _Expired:
            self._cancel(socket, key)
            raise httpx.ReadTimeout("no answer on the action socket in time", request=request) from None
        except asyncio.CancelledError:
            self._cancel(socket, key)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.carries(request):
            return await self._inner.handle_async_request(request)
        base, _, tail = request.url.path.rpartition("/")
        route = (request.method, f"/{tail}")
        body = await request.aread()
        if len(body) > MAX_SOCKET_BODY:
            return await self._inner.handle_async_request(request)
        key = next(self._ids)
        frame = {
            "id": key,
            "method": request.method,
            "path": route[1],
            "query": dict(request.url.params),
            "body": json.loads(body) if body else None,
        }
        answer: asyncio.Future[tuple[dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self._pending[key] = answer
        try:
            socket = await self._sent(request, base, frame)
            if socket is None:
                return await self._inner.handle_async_request(request)
            timeout = (request.extensions.get("timeout") or {}).get("read")
            header, content = await self._answer(socket, key, answer, timeout, request)
        finally:
            self._pending.pop(key, None)
            self._sent_on.pop(key, None)
        headers = dict(header.get("headers") or {})
        return httpx.Response(int(header["status"]), headers=headers, content=content, request=request)

    async def _sent(self, request: httpx.Request, base: str, frame: dict[str, Any]) -> ClientSocket | None:
        """The socket ``frame`` went out on, or None to use HTTP. A socket found closed
        when sending (the server restarted since) is opened again once: the frame never
        left, so sending it again cannot run an action twice."""
        for attempt in (1, 2):
            socket = await self._connected(request, base)
            if socket is None:
                return None
            self._sent_on[frame["id"]] = socket  # before the send: its end may come first
            if socket.send_text(json.dumps(frame)):
                return socket
            if self._socket is socket:
                self._socket = None
            if attempt == 2:
                raise httpx.WriteError("the action socket closed")
        return None

    def _cancel(self, socket: ClientSocket, key: int) -> None:
        socket.send_text(json.dumps({"id": key, "cancel": True}))  # nothing to stop on a closed one

    async def _connected(self, request: httpx.Request, base: str) -> ClientSocket | None:
        if self._socket is not None:
            return self._socket
        async with self._opening:
            if self._socket is None and not self._refused:
                self._socket = await self._open(request, base)
        return self._socket

    async def _open(self, request: httpx.Request, base: str) -> ClientSocket | None:
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

        from ._websocket import open_socket

        if time.monotonic() < self._retry_at:
            return None

        scheme = "wss" if request.url.scheme == "https" else "ws"
        url = str(request.url.copy_with(scheme=scheme, path=f"{base}/actions/ws", query=None))
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in SKIPPED_HEADERS]
        try:
            return await open_socket(
                url,
                headers,
                self._received,
                self._ended,
                ssl=tls_for(url) if scheme == "wss" else None,
                timeout=self._open_timeout,
            )
        except (InvalidStatus, InvalidURI):
            self._refused = True  # answered, but with no socket: HTTP from now on
            return None
        except (InvalidHandshake, OSError, TimeoutError):
            # Unreachable, or cut off mid-handshake (a server restarting behind a port
            # forwarder): HTTP says so in its own words, and the socket is tried later.
            self._retry_at = time.monotonic() + RETRY_SOCKET_AFTER
            return None

    def _received(self, socket: ClientSocket, message: bytes) -> None:
        """An answer, handed to its request as it arrives (on the event loop's thread)."""
        try:
            (length,) = struct.unpack_from(">I", message)
            header = json.loads(message[4 : 4 + length])
            waiting = self._pending.get(header.get("id"))
        except (ValueError, struct.error, AttributeError, TypeError) as exc:
            self._ended(socket, f"the action socket sent a frame that is not one: {exc}")
            socket.abort()
            return
        if waiting is not None and not waiting.done():
            waiting.set_result((header, message[4 + length :]))

    def _ended(self, socket: ClientSocket, reason: str) -> None:
        if self._socket is socket:
            self._socket = None
        for key, waiting in self._pending.items():
            if self._sent_on.get(key) is socket and not waiting.done():
                waiting.set_exception(httpx.ReadError(reason))

    async def aclose(self) -> None:
        self._closed = True
        socket, self._socket = self._socket, None
        if socket is not None:
            try:
                await asyncio.wait_for(socket.close(), CLOSE_WAIT)
            except Exception:
                # A server that cannot answer the close (a sandbox paused right before,
                # a dead one behind a port forwarder) is left without one.
                socket.abort()
        await self._inner.aclose()


class _Expired(Exception):
    """An answer's time ran out (raised into the request that waits for it)."""


def _expire(answer: asyncio.Future[Any]) -> None:
    if not answer.done():
        answer.set_exception(_Expired())
