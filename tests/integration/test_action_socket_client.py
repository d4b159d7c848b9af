"""The SDK's end of /actions/ws (deskbox.client._websocket) on real sockets: through TLS
as a cloud sandbox's wss:// address is reached, pings that keep a quiet socket open,
and a server that stops answering dropped instead of waited for."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from deskbox.client import _action_socket, _websocket
from deskbox.client._action_socket import ActionSocketTransport
from tests.conftest import TOKEN

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class TlsFront:
    """TLS in front of a plain server, as a cloud's edge terminates it; counts the
    connections it carried."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self, certificate: tuple[Path, Path]) -> int:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        self.server = await asyncio.start_server(self._carry, "127.0.0.1", 0, ssl=context)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _carry(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        self.connections += 1
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(client_in, server_out), pipe(server_in, client_out))

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
def trusting(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A client context that trusts the test's certificate, given to the socket's opening."""
    context = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(_action_socket, "tls_for", lambda url: context)
    return context


async def test_the_socket_runs_over_tls(
    socket_client: httpx.AsyncClient, certificate: tuple[Path, Path], trusting: ssl.SSLContext
) -> None:
    front = TlsFront(socket_client.base_url.port or 80)
    port = await front.start(certificate)
    transport = ActionSocketTransport(httpx.AsyncHTTPTransport(verify=trusting))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=f"https://localhost:{port}", headers=AUTH
        ) as http:
            moved = await http.post("/actions", json={"type": "move", "x": 123, "y": 45})
            assert moved.status_code == 200, moved.text
            assert transport.socket_open, "the socket did not open through TLS"
            assert (await http.get("/cursor")).json() == {"x": 123, "y": 45}
            shot = await http.get("/screenshot", params={"format": "png"})  # many TLS records
            screen = (await http.get("/screen")).json()
            assert Image.open(io.BytesIO(shot.content)).size == (screen["width"], screen["height"])
        assert front.connections == 1, "every request went over the one socket"
    finally:
        await front.stop()


async def test_pings_keep_a_quiet_socket_open(
    socket_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_websocket, "PING_INTERVAL", 0.05)
    transport = ActionSocketTransport()
    async with httpx.AsyncClient(transport=transport, base_url=socket_client.base_url, headers=AUTH) as http:
        await http.post("/actions", json={"type": "move", "x": 60, "y": 70})
        socket = transport._socket
        assert socket is not None
        async with asyncio.timeout(30):
            while socket.pings_answered < 3:
                await asyncio.sleep(0.01)
        assert (await http.get("/cursor")).json() == {"x": 60, "y": 70}
        assert transport._socket is socket, "the same socket carried the request after the pings"


class ScriptedServer:
    """A websocket server that completes the handshake and then answers each text frame
    with ``reply`` (nothing when it is None), sending no pong, as a sandbox frozen behind
    a proxy would; it records the frames it gets."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = reply
        self.frames: list[Frame] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        protocol = ServerProtocol()
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                protocol.receive_data(data)
                for event in protocol.events_received():
                    if isinstance(event, Request):
                        protocol.send_response(protocol.accept(event))
                        writer.write(b"".join(protocol.data_to_send()))
                    elif isinstance(event, Frame):
                        self.frames.append(event)
                        if event.opcode is Opcode.TEXT and self.reply is not None:
                            protocol.data_to_send()  # not the pongs
                            protocol.send_binary(self.reply)
                            writer.write(b"".join(protocol.data_to_send()))
                protocol.data_to_send()  # the pongs it would answer with are never sent

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


@pytest_asyncio.fixture
async def silent() -> AsyncIterator[tuple[ScriptedServer, int]]:
    server = ScriptedServer()
    port = await server.start()
    yield server, port
    await server.stop()


async def test_a_server_that_stops_answering_is_dropped_after_an_unanswered_ping(
    silent: tuple[ScriptedServer, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, port = silent
    monkeypatch.setattr(_websocket, "PING_INTERVAL", 0.1)
    monkeypatch.setattr(_websocket, "PING_TIMEOUT", 0.3)
    transport = ActionSocketTransport()
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as http:
        # Without pings this would wait out the whole 60 s read timeout (a ReadTimeout).
        with pytest.raises(httpx.ReadError, match="the action socket closed"):
            await http.post("/actions", json={"type": "cursor_position"}, timeout=60)
    kinds = [frame.opcode for frame in server.frames]
    assert Opcode.TEXT in kinds, "the request went over the socket"
    assert Opcode.PING in kinds, "the socket pinged before giving up"
    assert not transport.socket_open


@pytest.mark.parametrize(
    "reply",
    [
        b"\x00\x00",  # shorter than the header's length
        b"\x00\x00\x00\x03abc",  # a header that is not JSON
        b"\x00\x00\x00\x05[1,2]",  # JSON, not an object
        b'\x00\x00\x00\x0b{"id": [1]}',  # an id no request can have
    ],
)
async def test_an_answer_that_is_not_a_frame_fails_the_request_and_ends_the_socket(reply: bytes) -> None:
    server = ScriptedServer(reply)
    port = await server.start()
    transport = ActionSocketTransport()
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as http:
            with pytest.raises(httpx.ReadError, match="a frame that is not one"):
                await http.post("/actions", json={"type": "cursor_position"}, timeout=60)
            assert not transport.socket_open
    finally:
        await server.stop()


def test_pings_are_as_often_as_websockets_own_client_sends_them() -> None:
    from websockets.asyncio.client import connect

    parameters = inspect.signature(connect).parameters
    assert parameters["ping_interval"].default == _websocket.PING_INTERVAL
    assert parameters["ping_timeout"].default == _websocket.PING_TIMEOUT
