"""A token written after the server starts (a sandbox restored from a snapshot)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from deskbox.desktop import Desktop
from deskbox.server import Settings, create_app

pytestmark = pytest.mark.integration


async def test_the_token_file_is_the_only_key_and_is_reread(desktop: Desktop, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    app = create_app(Settings(token_file=token_file, display=desktop.display), desktop=desktop)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://deskbox.test"
    ) as http:

        async def status(token: str) -> int:
            return (await http.get("/screen", headers={"Authorization": f"Bearer {token}"})).status_code

        # No file yet: no token works, not even an empty or a guessed one.
        assert await status("anything") == 401
        assert (await http.get("/screen")).status_code == 401
        token_file.write_text("first-token\n")
        assert await status("first-token") == 200
        token_file.write_text("second-token-longer")
        os.utime(token_file, ns=(1, 1))  # a rewrite within one mtime tick still shows by size
        assert await status("first-token") == 401
        assert await status("second-token-longer") == 200
        # The viewer's tickets and cookies follow the same token.
        ticket = await http.post(
            "/viewer/tickets", json={}, headers={"Authorization": "Bearer second-token-longer"}
        )
        assert ticket.status_code == 200
