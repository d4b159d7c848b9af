"""The server outlives its X server: 503 while the display is gone, then it heals."""

from __future__ import annotations

import httpx
import pytest

from deskbox.desktop import Desktop
from deskbox.server import Settings, create_app
from harness.desktop_session import start_xvfb

pytestmark = pytest.mark.integration


async def test_reconnects_after_the_x_server_restarts() -> None:
    xvfb, display = start_xvfb(640, 480)
    desktop = Desktop(display)
    app = create_app(Settings(token="t", display=display), desktop=desktop)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://x", headers={"Authorization": "Bearer t"}
    ) as client:
        try:
            assert (await client.post("/actions", json={"type": "move", "x": 10, "y": 10})).status_code == 200

            xvfb.kill()
            xvfb.wait()
            response = await client.post("/actions", json={"type": "move", "x": 20, "y": 20})
            assert response.status_code == 503
            assert response.json()["error"]["type"] == "desktop_unavailable"
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["components"]["display"] == "unavailable"

            xvfb, _ = start_xvfb(800, 600, display=display)
            assert (await client.get("/health")).status_code == 200
            assert (await client.post("/actions", json={"type": "move", "x": 30, "y": 40})).status_code == 200
            assert (await client.get("/cursor")).json() == {"x": 30, "y": 40}
            assert (await client.get("/screen")).json() == {"width": 800, "height": 600}
            shot = await client.get("/screenshot", params={"format": "jpeg"})
            assert shot.status_code == 200 and shot.headers["x-image-width"] == "800"
        finally:
            xvfb.kill()
            xvfb.wait()
            await desktop.close()


async def test_screenshots_heal_after_the_x_server_dies_under_them() -> None:
    """mss's own connection dies with the server; once it is back, screenshots work again
    without any other call repairing anything."""
    xvfb, display = start_xvfb(640, 480)
    desktop = Desktop(display)
    app = create_app(Settings(token="t", display=display), desktop=desktop)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://x", headers={"Authorization": "Bearer t"}
    ) as client:
        try:
            assert (await client.get("/screenshot")).status_code == 200  # mss connects
            xvfb.kill()
            xvfb.wait()
            gone = await client.get("/screenshot")
            assert gone.status_code == 503 and gone.json()["error"]["type"] == "desktop_unavailable"
            xvfb, _ = start_xvfb(800, 600, display=display)
            for _ in range(3):
                shot = await client.get("/screenshot")
                assert shot.status_code == 200 and shot.headers["x-image-width"] == "800"
        finally:
            xvfb.kill()
            xvfb.wait()
            await desktop.close()
