"""OSWorld's own client, unmodified (``desktop_env``'s PythonController from PyPI), driving
a real deskbox server through the guest forwarder, checked by what the desktop did."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from deskbox.integrations.osworld import GuestForwarder
from tests.conftest import TOKEN
from tests.helpers import eventually, focus_text_field

pytestmark = pytest.mark.integration
python_controller = pytest.importorskip("desktop_env.controllers.python")

TARGET = (700, 200)  # the recorder page's red square


@pytest.fixture
def controller(socket_client: httpx.AsyncClient) -> Iterator[Any]:
    with GuestForwarder(str(socket_client.base_url), TOKEN) as guest:
        client = python_controller.PythonController(vm_ip=guest.host, server_port=guest.port)
        client.retry_interval = 0  # its retries wait 5 s each; a failure here is a failure
        yield client


async def call(method: Any, *args: Any) -> Any:
    """The client blocks (requests); the server shares this test's event loop."""
    return await asyncio.to_thread(method, *args)


async def test_screenshot_and_screen_size(controller: Any) -> None:
    png = await call(controller.get_screenshot)
    assert Image.open(io.BytesIO(png)).size == (1280, 800)
    assert await call(controller.get_vm_screen_size) == {"width": 1280, "height": 800}
    assert await call(controller.get_vm_platform) == "Linux"


async def test_pyautogui_actions_as_osworld_sends_them(
    controller: Any, page: Any, socket_client: httpx.AsyncClient
) -> None:
    result = await call(controller.execute_python_command, f"pyautogui.click({TARGET[0]}, {TARGET[1]})")
    assert (result["status"], result["returncode"]) == ("success", 0)
    clicks = await eventually(lambda: page.evaluate("window.events.filter(e => e.type === 'click')"), len)
    assert (clicks[0]["x"], clicks[0]["y"]) == TARGET
    await focus_text_field(socket_client, page)
    text = "héllo → 日本語 ✓ 🙂 <ok>"
    await call(controller.execute_python_command, f"pyautogui.write({text!r})")
    value = await eventually(
        lambda: page.evaluate("document.getElementById('text').value"), lambda v: v == text
    )
    assert value == text


async def test_pyautogui_code_runs_in_the_warm_worker_not_a_new_python(controller: Any) -> None:
    first = await call(controller.execute_python_command, "import os; print(os.getpid())")
    second = await call(controller.execute_python_command, "import os; print(os.getpid())")
    assert first["output"] == second["output"] and first["output"].strip().isdigit()


async def test_failing_code_reports_its_traceback(controller: Any) -> None:
    result = await call(controller.execute_python_command, "print('before'); undefined_name")
    assert (result["status"], result["returncode"], result["output"]) == ("error", 1, "before\n")
    assert "NameError: name 'undefined_name' is not defined" in result["error"]


async def test_other_commands_run_as_processes(controller: Any, tmp_path: Path) -> None:
    python = await call(controller.run_python_script, "import sys; print(6 * 7); print('e', file=sys.stderr)")
    assert (python["status"], python["output"], python["error"]) == ("success", "42\n", "e\n")
    failed = await call(controller.run_python_script, "raise SystemExit(4)")
    assert (failed["status"], failed["returncode"]) == ("error", 4)
    bash = await call(controller.run_bash_script, "pwd; echo $((6 * 7)); exit 3", 10, str(tmp_path))
    assert (bash["returncode"], bash["output"]) == (3, f"{tmp_path}\n42\n")
    slow = await call(controller.run_bash_script, "sleep 30", 1)
    assert (slow["status"], slow["returncode"]) == ("error", -1)


async def test_files_and_directories(controller: Any, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "report.txt").write_text("résultat ✓")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 1000)
    assert await call(controller.get_file, str(tmp_path / "data.bin")) == bytes(range(256)) * 1000
    assert (await call(controller.get_file, str(tmp_path / "sub" / "report.txt"))).decode() == "résultat ✓"
    assert await call(controller.get_file, str(tmp_path / "missing")) is None
    tree = await call(controller.get_vm_directory_tree, str(tmp_path))
    assert tree == {
        "name": tmp_path.name,
        "type": "directory",
        "children": [
            {"name": "data.bin", "type": "file"},
            {"name": "sub", "type": "directory", "children": [{"name": "report.txt", "type": "file"}]},
        ],
    }
    assert (await call(controller.get_vm_desktop_path)).endswith("/Desktop")


async def test_what_is_not_built_yet_is_refused_by_name(socket_client: httpx.AsyncClient) -> None:
    with GuestForwarder(str(socket_client.base_url), TOKEN) as guest:
        async with httpx.AsyncClient(base_url=guest.address) as plain:
            response = await plain.post("/wallpaper")
    assert response.status_code == 501
    assert "wallpaper" in response.json()["error"]["message"]


async def test_recording_through_osworld_own_client(
    controller: Any, socket_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await call(controller.start_recording)

    async def recorded() -> int:
        return int((await socket_client.get("/recording")).json()["bytes"])

    await eventually(recorded, lambda size: size > 0, timeout=10)  # ffmpeg is grabbing
    await asyncio.sleep(1.5)  # a recording of a second and a half
    video = tmp_path / "osworld.mp4"
    await call(controller.end_recording, str(video))
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=width,height",
         "-of", "json", str(video)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = json.loads(probed.stdout)
    assert (found["streams"][0]["width"], found["streams"][0]["height"]) == (1280, 800)
    assert 1.0 <= float(found["format"]["duration"]) <= 3.0, found


async def test_the_sandbox_itself_needs_the_token(socket_client: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=socket_client.base_url) as anonymous:
        assert (await anonymous.get("/osworld/screenshot")).status_code == 401
        assert (await anonymous.post("/osworld/execute", json={"command": "true"})).status_code == 401


async def test_the_forwarder_listens_on_loopback_only(socket_client: httpx.AsyncClient) -> None:
    with GuestForwarder(str(socket_client.base_url), TOKEN) as guest:
        assert guest.host == "127.0.0.1"
        assert guest.address.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("path", "kwargs", "field"),
    [
        ("/osworld/execute", {"json": {"command": []}}, "command"),
        ("/osworld/run_python", {"json": {"code": "print(1)\x00"}}, "code"),
        ("/osworld/run_bash_script", {"json": {"script": "true", "working_dir": "/tmp\x00"}}, "working_dir"),
        ("/osworld/list_directory", {"json": {"path": "/\x00"}}, "path"),
        ("/osworld/file", {"data": {"file_path": "/etc/hostname\x00"}}, "file_path"),
        ("/osworld/window_size", {"data": {"app_class_name": ""}}, "app_class_name"),
    ],
)
async def test_bad_guest_requests_are_422_naming_the_field(
    socket_client: httpx.AsyncClient, path: str, kwargs: dict[str, Any], field: str
) -> None:
    response = await socket_client.post(path, **kwargs)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert [detail["loc"][-1] for detail in error["details"]] == [field]
    assert (await socket_client.post("/osworld/screen_size")).status_code == 200
