"""The server outlives its X server: 503 while the display is gone, then it heals."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from deskbox.desktop import Desktop
from deskbox.server import Settings, create_app
from harness.desktop_session import start_xvfb

pytestmark = pytest.mark.integration


@dataclass
class Display:
    """An X server of the test's own, that the test kills and starts again."""

    name: str
    server: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.server.kill()
        self.server.wait()

    def restart(self, width: int, height: int) -> None:
        self.server, _ = start_xvfb(width, height, display=self.name)


@pytest_asyncio.fixture(loop_scope="session")
async def served() -> AsyncIterator[tuple[Display, httpx.AsyncClient]]:
    server, name = start_xvfb(640, 480)
    display = Display(name, server)
    desktop = Desktop(name)
    app = create_app(Settings(token="t", display=name), desktop=desktop)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer t"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers) as client:
            yield display, client
    finally:
        display.kill()
        await desktop.close()


async def test_reconnects_after_the_x_server_restarts(served: tuple[Display, httpx.AsyncClient]) -> None:
    display, client = served
    assert (await client.post("/actions", json={"type": "move", "x": 10, "y": 10})).status_code == 200

    display.kill()
    response = await client.post("/actions", json={"type": "move", "x": 20, "y": 20})
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "desktop_unavailable"
    health = await client.get("/health")
    assert health.status_code == 503 and health.json()["components"]["display"] == "unavailable"

    display.restart(800, 600)
    assert (await client.get("/health")).status_code == 200
    assert (await client.post("/actions", json={"type": "move", "x": 30, "y": 40})).status_code == 200
    assert (await client.get("/cursor")).json() == {"x": 30, "y": 40}
    assert (await client.get("/screen")).json() == {"width": 800, "height": 600}
    shot = await client.get("/screenshot", params={"format": "jpeg"})
    assert shot.status_code == 200 and shot.headers["x-image-width"] == "800"


async def test_screenshots_heal_after_the_x_server_dies_under_them(
    served: tuple[Display, httpx.AsyncClient],
) -> None:
    """mss's own connection dies with the server; once it is back, screenshots work again
    without any other call repairing anything."""
    display, client = served
    assert (await client.get("/screenshot")).status_code == 200  # mss connects
    display.kill()
    gone = await client.get("/screenshot")
    assert gone.status_code == 503 and gone.json()["error"]["type"] == "desktop_unavailable"
    display.restart(800, 600)
    for _ in range(3):
        shot = await client.get("/screenshot")
        assert shot.status_code == 200 and shot.headers["x-image-width"] == "800"
