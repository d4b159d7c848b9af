"""The client end of the action socket: websockets' sans-I/O protocol on an asyncio
Protocol.

websockets' asyncio client hands each message received to a reader task, which hands it
to the request waiting for it, and puts each message sent through a send context: on
an idle machine's cold caches that was 0.25 ms of a key press's 1.5. Here the message a
request waits for reaches it from ``data_received``, and a frame sent is framed and
written at once. The protocol itself (handshake, framing, masking, answering pings, the
closing handshake) stays websockets'.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from ssl import SSLContext

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

PING_INTERVAL = 20.0
"""Seconds between pings on a quiet socket, as websockets' own client sends them: a
proxy or NAT in the way may drop a connection that says nothing for a minute."""
PING_TIMEOUT = 20.0
"""Seconds a ping may go unanswered before the connection is taken for dead."""
CLOSE_TIMEOUT = 10.0
"""Seconds to wait for the server to end the TCP connection after the closing handshake."""


class ClientSocket(asyncio.Protocol):
    """One websocket connection. ``on_message`` gets every binary message as it arrives,
    ``on_end`` the reason, once, when an open connection ends (for any cause)."""

    def __init__(
        self,
        protocol: ClientProtocol,
        headers: Sequence[tuple[str, str]],
        on_message: Callable[[ClientSocket, bytes], None],
        on_end: Callable[[ClientSocket, str], None],
    ) -> None:
        self._protocol = protocol
        self._request = protocol.connect()
        for name, value in headers:
            self._request.headers[name] = value
        self._on_message = on_message
        self._on_end = on_end
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        self._parts: list[bytes] | None = None
        """A fragmented binary message's frames so far; None between messages."""
        self._in_text = False
        self._timer: asyncio.TimerHandle | None = None
        self._ping: bytes | None = None
        self.pings_answered = 0
        self._close_timer: asyncio.TimerHandle | None = None

    # ---- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._protocol.send_request(self._request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self._protocol.receive_data(data)
        events = self._protocol.events_received()
        self._flush()
        for event in events:
            if isinstance(event, Frame):
                self._frame(event)
            elif isinstance(event, Response) and not self._opened.done():
                failed = self._protocol.handshake_exc
                if failed is None:
                    self._opened.set_result(None)
                    self._schedule_ping()
                else:
                    self._opened.set_exception(failed)

    def eof_received(self) -> bool | None:
        self._protocol.receive_eof()
        self._flush()
        return None  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.receive_eof()  # idempotent; the protocol's state becomes CLOSED
        for timer in (self._timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        was_open = self._opened.done() and not self._opened.cancelled() and self._opened.exception() is None
        if not self._opened.done():
            self._opened.set_exception(InvalidHandshake("the connection closed during the handshake"))
        if not self.ended.done():
            self.ended.set_result(None)
            if was_open:
                self._on_end(self, f"the action socket closed: {self._protocol.close_exc}")

    # ---- sending --------------------------------------------------------------------------

    def send_text(self, text: str) -> bool:
        """Frame and write one text message; False, sending nothing, once the socket is
        past open."""
        if self._protocol.state is not State.OPEN:
            return False
        self._protocol.send_text(text.encode())
        self._flush()
        return True

    async def close(self) -> None:
        """The closing handshake, then the end of the TCP connection."""
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(1000)
            self._flush()
        await asyncio.shield(self.ended)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # ---- inside -------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PONG:
            if self._ping is not None and frame.data == self._ping:
                self.pings_answered += 1
                self._schedule_ping()
        elif frame.opcode is Opcode.BINARY or frame.opcode is Opcode.TEXT:
            self._in_text = frame.opcode is Opcode.TEXT
            if frame.fin:
                self._deliver(bytes(frame.data))
            else:
                self._parts = [bytes(frame.data)]
        elif frame.opcode is Opcode.CONT and self._parts is not None:
            self._parts.append(bytes(frame.data))
            if frame.fin:
                parts, self._parts = self._parts, None
                self._deliver(b"".join(parts))

    def _deliver(self, message: bytes) -> None:
        if not self._in_text:  # the server answers in binary frames only
            self._on_message(self, message)

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return
        for data in self._protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()
        if self._protocol.close_expected() and self._close_timer is None:
            self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.abort)

    def _schedule_ping(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._ping = None
        self._timer = asyncio.get_running_loop().call_later(PING_INTERVAL, self._send_ping)

    def _send_ping(self) -> None:
        if self._protocol.state is not State.OPEN:
            return
        self._ping = os.urandom(4)
        self._protocol.send_ping(self._ping)
        self._flush()
        self._timer = asyncio.get_running_loop().call_later(PING_TIMEOUT, self.abort)


async def open_socket(
    url: str,
    headers: Sequence[tuple[str, str]],
    on_message: Callable[[ClientSocket, bytes], None],
    on_end: Callable[[ClientSocket, str], None],
    *,
    ssl: SSLContext | None,
    timeout: float,
) -> ClientSocket:
    """An open websocket to ``url`` (ws:// or wss://). Raises what websockets' client
    raises: InvalidURI, InvalidStatus when answered without a socket, InvalidHandshake
    when the handshake is cut off; OSError when unreachable; TimeoutError."""
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, max_size=None)  # a screenshot is as large as the screen makes it
    loop = asyncio.get_running_loop()
    socket: ClientSocket | None = None

    def made() -> ClientSocket:
        nonlocal socket
        socket = ClientSocket(protocol, headers, on_message, on_end)
        return socket

    try:
        async with asyncio.timeout(timeout):
            if uri.secure:
                tls = ssl or True
                await loop.create_connection(made, uri.host, uri.port, ssl=tls, server_hostname=uri.host)
            else:
                await loop.create_connection(made, uri.host, uri.port)
            assert socket is not None
            await socket._opened
    except BaseException:
        if socket is not None:
            socket.abort()
        raise
    return socket
