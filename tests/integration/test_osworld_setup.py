"""OSWorld's task setup (``desktop_env``'s SetupController from PyPI, unmodified) on a real
desktop through the guest forwarder, checked by what happened: files, windows, output."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deskbox.client import AsyncSandbox
from deskbox.integrations.osworld import GuestForwarder
from tests.helpers import eventually, osworld_stand_ins

pytestmark = pytest.mark.integration
pytest.importorskip("desktop_env")
pytest.importorskip("requests_toolbelt")


@pytest.fixture(scope="module")
def setup_controller_class() -> Iterator[Any]:
    with osworld_stand_ins():
        from desktop_env.controllers.setup import SetupController

        yield SetupController


@pytest.fixture
def setup(sandbox: AsyncSandbox, setup_controller_class: Any, tmp_path: Path) -> Iterator[Any]:
    with GuestForwarder(sandbox.url, sandbox.info.token) as guest:
        controller = setup_controller_class(vm_ip=guest.host, server_port=guest.port, cache_dir=str(tmp_path))
        controller.address = guest.address
        yield controller


async def run_setup(controller: Any, *steps: dict[str, Any]) -> bool:
    """SetupController blocks (requests); the sandbox answers on its own."""
    return bool(await asyncio.to_thread(controller.setup, list(steps)))


async def test_upload_execute_and_verify(setup: Any, tmp_path: Path) -> None:
    local = tmp_path / "local.bin"
    local.write_bytes(os.urandom(300_000))
    target = tmp_path / "in the sandbox" / "task data.bin"
    assert await run_setup(
        setup,
        {"type": "upload_file", "parameters": {"files": [{"local_path": str(local), "path": str(target)}]}},
        {
            "type": "execute",
            "parameters": {"command": ["sh", "-c", f"wc -c < '{target}'"], "stdout": "size.txt"},
        },
        {
            "type": "execute_with_verification",
            "parameters": {
                "command": ["sh", "-c", f"touch '{tmp_path}/made'"],
                "verification": {"command_success": f"test -e '{tmp_path}/made'"},
                "max_wait_time": 5,
            },
        },
    )
    assert target.read_bytes() == local.read_bytes()
    assert (tmp_path / "size.txt").read_text().strip() == "300000"
    assert (tmp_path / "made").exists()


async def test_launch_activate_and_close_a_window(setup: Any, sandbox: AsyncSandbox) -> None:
    title = f"deskbox-setup-{os.urandom(3).hex()}"
    await run_setup(setup, {"type": "launch", "parameters": {"command": ["xmessage", "-title", title, "hi"]}})
    windows = await eventually(sandbox.list_windows, lambda ws: any(w.title == title for w in ws), timeout=20)
    window = next(w for w in windows if w.title == title)
    await sandbox.left_click(5, 5)  # somewhere else has the focus first
    await run_setup(setup, {"type": "activate_window", "parameters": {"window_name": title, "strict": True}})
    await eventually(sandbox.list_windows, lambda ws: any(w.id == window.id and w.active for w in ws))
    await run_setup(setup, {"type": "close_window", "parameters": {"window_name": title.upper()}})  # any case
    assert all(w.id != window.id for w in await sandbox.list_windows())


async def test_failures_are_errors_not_200s(setup: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any], int, str]] = [
        ("/launch", {"command": ["no-such-program-here"]}, 422, "no such program"),
        ("/launch", {"command": "sh -c 'exit 3'"}, 422, "exited at once with status 3"),
        ("/launch", {"command": [str(tmp_path)]}, 422, "Permission denied"),
        ("/activate_window", {"window_name": "no window is called this"}, 404, "no window whose title"),
        ("/close_window", {"window_name": "x", "by_class": True, "strict": True}, 404, "class is 'x'"),
        ("/open_file", {"path": str(tmp_path / "missing.docx")}, 404, "does not exist"),
        (
            "/execute_with_verification",
            {"command": ["true"], "verification": {"command_success": ""}},
            422,
            "command_success",
        ),
        ("/change_wallpaper", {"path": "/tmp/w.png"}, 501, "wallpaper"),
        (
            "/execute_with_verification",
            {
                "command": ["true"],
                "verification": {"command_success": "false"},
                "max_wait_time": 0.5,
                "check_interval": 0.1,
            },
            504,
            "did not pass",
        ),
    ]
    async with httpx.AsyncClient(base_url=f"{setup.address}/setup", timeout=30) as plain:
        for path, body, status, reason in calls:
            response = await plain.post(path, json=body)
            assert (response.status_code, path) == (status, path), response.text
            assert reason in response.json()["error"]["message"], (path, response.text)
        form = await plain.post("/upload", data={"file_path": ""}, files={"file_data": ("x", b"1")})
        assert form.status_code == 422 and form.json()["error"]["details"][0]["loc"][-1] == "file_path"
        assert (await plain.post("/execute", json={"command": ["true"]})).json()["returncode"] == 0
