"""The routing rule for many sandboxes behind one hostname (Fly Machines), on its own: a
server that knows its machine answers a request naming another with ``fly-replay``, before
anything else runs, over HTTP and at a websocket's opening; the viewer's link and cookie
name the machine that issued them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from deskbox._ports import free_port
from deskbox.desktop import Desktop
from deskbox.server import Settings, create_app

pytestmark = pytest.mark.integration
TOKEN = "routing-token"
HERE, OTHER = "3d8d9e1ab42e98", "91857d7c1e2d38"


@pytest_asyncio.fixture(loop_scope="session")
async def served(desktop: Desktop) -> AsyncIterator[str]:
    settings = Settings(token=TOKEN, display=desktop.display, fly_machine_id=HERE)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, desktop=desktop), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


async def test_a_request_for_another_machine_is_replayed_there(served: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=served, headers=headers) as client:
        moved = await client.post(f"/actions?fly_instance={OTHER}", json={"type": "move", "x": 5, "y": 5})
        assert moved.status_code == 409 and moved.headers["fly-replay"] == f"instance={OTHER}"
        assert OTHER in moved.json()["error"]["message"]
        assert (await client.get("/cursor")).json() != {"x": 5, "y": 5}  # nothing ran here
        ours = await client.post(f"/actions?fly_instance={HERE}", json={"type": "move", "x": 7, "y": 7})
        assert ours.status_code == 200 and "fly-replay" not in ours.headers
        assert (await client.get("/cursor")).json() == {"x": 7, "y": 7}
    async with httpx.AsyncClient(base_url=served, cookies={"deskbox_instance": OTHER}) as browser:
        page = await browser.get("/viewer/vnc.html")  # no token, no viewer cookie: replayed all the same
        assert page.status_code == 409 and page.headers["fly-replay"] == f"instance={OTHER}"
    async with httpx.AsyncClient(base_url=served, cookies={"deskbox_instance": "not a machine!"}) as odd:
        assert (await odd.get("/health")).status_code in (200, 503)  # not a machine id: ignored


async def test_a_websocket_for_another_machine_is_replayed_at_its_opening(served: str) -> None:
    socket_url = "ws" + served.removeprefix("http")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"{socket_url}/actions/ws?fly_instance={OTHER}",
            additional_headers={"Authorization": f"Bearer {TOKEN}"},
            proxy=None,
        ):
            pass
    assert refused.value.response.status_code == 409
    assert refused.value.response.headers["fly-replay"] == f"instance={OTHER}"
    async with connect(
        f"{socket_url}/actions/ws",
        additional_headers={"Authorization": f"Bearer {TOKEN}", "Cookie": f"deskbox_instance={HERE}"},
        proxy=None,
    ) as ours:
        await ours.send('{"id": 1, "method": "GET", "path": "/screen"}')
        assert b'"status": 200' in await asyncio.wait_for(ours.recv(), 10)


async def test_the_viewer_link_and_cookie_name_the_machine(served: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=served, headers=headers) as client:
        ticket = (await client.post("/viewer/tickets", json={})).json()
    assert f"fly_instance={HERE}" in ticket["url"]
    async with httpx.AsyncClient() as browser:
        opened = await browser.get(ticket["url"])
    assert opened.status_code == 303
    assert opened.cookies.get("deskbox_instance") == HERE and opened.cookies.get("deskbox_viewer")


async def test_nothing_changes_where_the_server_knows_no_machine(client: httpx.AsyncClient) -> None:
    moved = await client.post(f"/actions?fly_instance={OTHER}", json={"type": "move", "x": 9, "y": 9})
    assert moved.status_code == 200 and "fly-replay" not in moved.headers
    ticket = (await client.post("/viewer/tickets", json={})).json()
    assert "fly_instance" not in ticket["url"]
