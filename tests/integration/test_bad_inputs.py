"""Inputs that once answered 500 (or hung): each is now a 4xx naming what is wrong, and
the next request on the same connection works."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from deskbox.server.viewer_auth import COOKIE
from tests.integration.test_errors import error_of, locations

pytestmark = pytest.mark.integration

NUL = "a\x00b"
SURROGATE = "a\ud800b"

BAD_BODIES = [
    # (route, body, status, a location that must be named)
    ("/shell/run", {"cmd": f"echo {NUL}"}, 422, ["body", "cmd"]),
    ("/shell/run", {"cmd": ["echo", NUL]}, 422, ["body", "cmd"]),
    ("/shell/run", {"cmd": "true", "env": {"A": NUL}}, 422, ["body", "env", "A"]),
    ("/shell/run", {"cmd": "true", "env": {NUL: "x"}}, 422, ["body", "env"]),
    ("/shell/run", {"cmd": "true", "user": NUL}, 422, ["body", "user"]),
    ("/shell/run", {"cmd": "true", "cwd": NUL}, 422, ["body", "cwd"]),
    ("/shell/run", {"cmd": f"echo {SURROGATE}"}, 422, ["body", "cmd"]),
    ("/open", {"target": NUL}, 422, ["body", "target"]),
    ("/launch", {"command": ""}, 422, ["body", "command"]),
    ("/launch", {"command": "'unclosed"}, 422, ["body", "command"]),
    ("/launch", {"command": [NUL]}, 422, ["body", "command"]),
    ("/files/write", {"path": "/tmp/x", "content": SURROGATE}, 422, ["body", "content"]),
    ("/files/write", {"path": NUL, "content": "x"}, 422, ["body", "path"]),
    ("/actions", {"type": "type", "text": SURROGATE}, 422, ["body", "type", "text"]),
    ("/browser/navigate", {"url": NUL}, 422, ["body", "url"]),
]


def raw_json(body: Any) -> bytes:
    # json.dumps would refuse a lone surrogate; a client sending one is the point here.
    import json

    return json.dumps(body, ensure_ascii=True).encode()


@pytest.mark.parametrize(
    ("route", "body", "status", "loc"), BAD_BODIES, ids=[str(b[1])[:40] for b in BAD_BODIES]
)
async def test_a_bad_body_is_a_4xx_naming_the_field(
    client: httpx.AsyncClient, route: str, body: dict[str, Any], status: int, loc: list[Any]
) -> None:
    response = await client.post(route, content=raw_json(body), headers={"content-type": "application/json"})
    error = error_of(response, status)
    assert any(found[: len(loc)] == loc for found in locations(error)), locations(error)
    assert (await client.get("/screen")).status_code == 200


async def test_the_clipboard_refuses_a_lone_surrogate(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/clipboard", content=raw_json({"text": SURROGATE}), headers={"content-type": "application/json"}
    )
    assert ["body", "text"] in locations(error_of(response, 422))


@pytest.mark.parametrize("window", [2**32, 2**40, -1])
async def test_a_window_id_past_32_bits_is_refused(client: httpx.AsyncClient, window: int) -> None:
    error = error_of(await client.post(f"/windows/{window}/focus"), 422)
    assert ["path", "window_id"] in locations(error)


async def test_a_devtools_endpoint_with_control_characters_is_refused(client: httpx.AsyncClient) -> None:
    error = error_of(await client.get("/cdp/json/%09"), 422)
    assert ["path", "endpoint"] in locations(error)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
async def test_devices_are_not_read(client: httpx.AsyncClient, path: str) -> None:
    for route in ("/files/read", "/files/download"):
        started = time.monotonic()
        response = await client.get(route, params={"path": path})
        assert response.status_code == 409, response.text[:200]
        assert "not a regular file" in response.json()["error"]["message"]
        assert time.monotonic() - started < 5


async def test_a_pipe_with_no_writer_does_not_block_the_file_routes(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for _ in range(45):  # more than the thread pool has threads
        assert (await client.get("/files/read", params={"path": str(fifo)})).status_code == 409
    assert (await client.get("/files/exists", params={"path": str(fifo)})).json() is True


async def test_proc_files_are_read_or_refused_not_a_500(client: httpx.AsyncClient) -> None:
    status = await client.get("/files/read", params={"path": "/proc/self/status"})
    assert status.status_code == 200 and "Pid:" in status.json()["content"]  # /proc says its size is 0
    memory = await client.get("/files/read", params={"path": "/proc/self/mem"})
    assert memory.status_code == 409


@pytest.mark.parametrize(
    ("params", "field"),
    [({"height": 8192}, "height"), ({"width": 8192, "height": 8192}, None), ({"scale": 4}, None)],
)
async def test_a_screenshot_bigger_than_the_limit_is_refused(
    client: httpx.AsyncClient, params: dict[str, Any], field: str | None
) -> None:
    response = await client.get("/screenshot", params=params)
    if field is None:  # within 8192 on both sides: allowed
        assert response.status_code == 200
        return
    error = error_of(response, 422)
    assert "8192" in error["message"] and [field] in locations(error)


@pytest.mark.parametrize(
    "cookie",
    [
        "full.99999999999.é" + "x" * 10,  # a non-ASCII signature
        "full." + "9" * 5000 + ".abc",  # an expiry past any integer limit
        "x" * 10000,
    ],
)
async def test_forged_viewer_cookies_are_refused_not_a_500(client: httpx.AsyncClient, cookie: str) -> None:
    async with httpx.AsyncClient(transport=client._transport, base_url="http://deskbox.test") as anonymous:
        raw = f"{COOKIE}={cookie}".encode()  # as sent: bytes, not necessarily ASCII
        response = await anonymous.get("/viewer/vnc.html", headers={"cookie": raw})
    assert response.status_code in (401, 404), response.text[:200]


async def test_a_batch_cannot_hold_the_desktop_for_long(client: httpx.AsyncClient) -> None:
    waits = [{"type": "wait", "duration": 40}, {"type": "hold_key", "keys": "shift", "duration": 30}]
    error = error_of(await client.post("/actions", json={"type": "batch", "actions": waits}), 422)
    assert "at most 60 s" in error["message"]
    texts = [{"type": "type", "text": "a" * 60000}] * 2
    error = error_of(await client.post("/actions", json={"type": "batch", "actions": texts}), 422)
    assert "characters in all" in error["message"]
