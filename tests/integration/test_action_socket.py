"""/actions/ws on a real uvicorn server: auth at the handshake, the HTTP error shapes,
requests in flight together, cancelling, binary screenshots, and falling back to HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from deskbox.client._action_socket import ActionSocketTransport
from tests.conftest import TOKEN

pytestmark = pytest.mark.integration


def socket_url(http: httpx.AsyncClient) -> str:
    return str(http.base_url).replace("http://", "ws://").rstrip("/") + "/actions/ws"


@pytest_asyncio.fixture
async def raw(socket_client: httpx.AsyncClient) -> AsyncIterator[ClientConnection]:
    async with connect(
        socket_url(socket_client), additional_headers={"Authorization": f"Bearer {TOKEN}"}, compression=None
    ) as socket:
        yield socket


def unpack(frame: bytes | str) -> tuple[dict[str, Any], bytes]:
    assert isinstance(frame, bytes), "every answer is a binary frame"
    (length,) = struct.unpack_from(">I", frame)
    return json.loads(frame[4 : 4 + length]), frame[4 + length :]


async def answer(socket: ClientConnection) -> tuple[dict[str, Any], Any]:
    header, body = unpack(await socket.recv())
    return header, json.loads(body) if header["headers"]["content-type"] == "application/json" else body


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}"])
async def test_the_socket_opens_only_with_the_token(
    socket_client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(socket_url(socket_client), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"type": "click", "x": 5000, "y": 10},
        {"type": "clik", "x": 1, "y": 1},
        {"type": "type"},
        {"type": "batch", "actions": [{"type": "move", "x": 1, "y": 1}, {"type": "key", "keys": ""}]},
    ],
)
async def test_errors_have_the_http_status_and_body(
    client: httpx.AsyncClient, socket_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    over_http = await client.post("/actions", json=body)
    over_socket = await socket_client.post("/actions", json=body)
    assert over_http.status_code == 422
    assert over_socket.status_code == over_http.status_code
    assert over_socket.json() == over_http.json()


async def test_bad_query_and_unknown_routes_are_refused_by_name(raw: ClientConnection) -> None:
    await raw.send(
        json.dumps({"id": 1, "path": "/actions", "query": {"settle": "99"}, "body": {"type": "wait"}})
    )
    header, body = await answer(raw)
    assert (header["id"], header["status"]) == (1, 422)
    assert body["error"]["details"][0]["loc"] == ["query", "settle"]
    await raw.send(json.dumps({"id": 2, "method": "POST", "path": "/shell/run", "body": {"cmd": "id"}}))
    header, body = await answer(raw)
    assert (header["id"], header["status"], body["error"]["type"]) == (2, 404, "not_found")
    await raw.send("not json at all")
    header, body = await answer(raw)
    assert (header["id"], header["status"]) == (None, 422)
    await raw.send(b"\x00binary")
    header, body = await answer(raw)
    assert (header["id"], header["status"], body["error"]["details"][0]["loc"]) == (None, 422, ["frame"])
    await raw.send(json.dumps({"id": 3, "body": {"type": "cursor_position"}}))
    header, body = await answer(raw)
    assert (header["id"], header["status"], body["ok"]) == (3, 200, True), "the socket keeps serving"


async def test_requests_in_flight_answer_as_they_finish(raw: ClientConnection) -> None:
    await raw.send(json.dumps({"id": "slow", "body": {"type": "wait", "duration": 1.0}}))
    await raw.send(json.dumps({"id": "quick", "body": {"type": "cursor_position"}}))
    first, _ = await answer(raw)
    second, _ = await answer(raw)
    assert [first["id"], second["id"]] == ["quick", "slow"]
    assert first["status"] == second["status"] == 200


async def test_a_cancelled_request_stops_and_gets_no_answer(raw: ClientConnection) -> None:
    await raw.send(json.dumps({"id": 1, "body": {"type": "wait", "duration": 30}}))
    await raw.send(json.dumps({"id": 1, "cancel": True}))
    await raw.send(json.dumps({"id": 2, "body": {"type": "cursor_position"}}))
    header, _ = await asyncio.wait_for(answer(raw), 10)
    assert header["id"] == 2
    # Id 1 is free again once its task is gone: a new request with it runs.
    for _ in range(100):
        await raw.send(json.dumps({"id": 1, "body": {"type": "cursor_position"}}))
        header, body = await answer(raw)
        if header["status"] == 200:
            break
        assert "still running" in body["error"]["message"]
        await asyncio.sleep(0.02)
    assert header == {"id": 1, "status": 200, "headers": {"content-type": "application/json"}}


async def test_screenshots_travel_as_image_bytes(raw: ClientConnection) -> None:
    await raw.send(json.dumps({"id": 9, "method": "GET", "path": "/screenshot", "query": {"format": "jpeg"}}))
    header, body = await answer(raw)
    assert header["headers"]["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(body))
    assert image.format == "JPEG"
    assert image.size == (int(header["headers"]["x-image-width"]), int(header["headers"]["x-image-height"]))


async def test_a_refused_socket_falls_back_to_http(socket_client: httpx.AsyncClient) -> None:
    transport = ActionSocketTransport()
    async with httpx.AsyncClient(
        transport=transport, base_url=socket_client.base_url, headers={"Authorization": "Bearer wrong"}
    ) as wrong:
        answered = await wrong.post("/actions", json={"type": "cursor_position"})
    assert answered.status_code == 401, "HTTP's own answer to a wrong token"
    assert answered.json()["error"]["type"] == "authentication_error"
    assert not transport.socket_open


async def test_a_socket_closed_by_the_server_is_opened_again(socket_client: httpx.AsyncClient) -> None:
    transport = ActionSocketTransport()
    async with httpx.AsyncClient(
        transport=transport, base_url=socket_client.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        assert (await http.post("/actions", json={"type": "cursor_position"})).status_code == 200
        await transport._socket.close()  # as a restarted server would leave it
        answered = await http.post("/actions", json={"type": "cursor_position"})
        assert answered.status_code == 200
        assert transport.socket_open


async def test_a_request_in_flight_when_the_socket_drops_fails_and_is_not_sent_again(
    socket_client: httpx.AsyncClient,
) -> None:
    transport = ActionSocketTransport()
    async with httpx.AsyncClient(
        transport=transport, base_url=socket_client.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        await http.post("/actions", json={"type": "move", "x": 300, "y": 300})
        waiting = asyncio.create_task(http.post("/actions", json={"type": "wait", "duration": 5}))
        while not transport._pending:
            await asyncio.sleep(0.01)
        await transport._socket.close()
        with pytest.raises(httpx.ReadError):
            await waiting
        # The next request opens a new socket and runs.
        await http.post("/actions", json={"type": "move", "x": 301, "y": 301})
        assert (await http.get("/cursor")).json() == {"x": 301, "y": 301}


async def test_the_sdk_takes_the_socket_straight_and_http_for_what_is_too_large(
    socket_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deskbox import AsyncSandbox, InvalidActionError

    sandbox = await AsyncSandbox.connect(url=str(socket_client.base_url), token=TOKEN)
    try:
        transport = sandbox._connection._socket
        assert transport is not None
        await sandbox.move_mouse(40, 50)  # opens the socket (the first request goes by HTTP's road)
        assert transport.socket_open
        over_http: list[str] = []
        inner = transport._inner.handle_async_request

        async def counted(request: httpx.Request) -> httpx.Response:
            over_http.append(request.url.path)
            return await inner(request)

        monkeypatch.setattr(transport._inner, "handle_async_request", counted)
        assert await sandbox.get_cursor_position() == (40, 50)
        await sandbox.left_click(41, 51)
        assert over_http == []
        with pytest.raises(InvalidActionError):  # a body past the socket's limit: over HTTP
            await sandbox._connection.request(
                "POST", "/actions", json_body={"type": "wait", "duration": 0, "pad": "x" * 1_100_000}
            )
        assert over_http == ["/actions"]
        await transport._socket.close()  # as a restarted server would leave it
        assert await sandbox.get_cursor_position() == (41, 51)
        assert transport.socket_open
    finally:
        await sandbox.close()
