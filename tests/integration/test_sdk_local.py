"""The SDK against a real sandbox from the local backend: every method, a real effect."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from deskbox import (
    ActionFailedError,
    AsyncSandbox,
    AuthenticationError,
    CapabilityError,
    CommandExitError,
    InvalidActionError,
    Sandbox,
    SandboxNotFoundError,
    TimeoutError,
)
from deskbox.actions import Batch, CursorPosition, Move
from deskbox.client._action_socket import ActionSocketTransport
from deskbox.client._connection import CHANNEL_VARIABLE
from tests.helpers import eventually, file_text, recorded, recorder_in, register_scheme_handler

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handler_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """XDG settings that make a scheme handler record what `open` hands it."""
    root = tmp_path_factory.mktemp("xdg")
    env, record = register_scheme_handler(root, "sdkprobe")
    return {**env, "SDK_PROBE": "on", "DESKBOX_TEST_RECORD": str(record)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sbx(handler_env: dict[str, str]) -> AsyncIterator[AsyncSandbox]:
    sandbox = await AsyncSandbox.create(
        backend="local", resolution=(1024, 768), envs=handler_env, metadata={"suite": "sdk"}, timeout=600
    )
    yield sandbox
    await sandbox.kill()


@pytest_asyncio.fixture(loop_scope="session")
async def page(sbx: AsyncSandbox) -> AsyncIterator[Any]:
    """The recorder page in the sandbox's own Chromium, brought to the front."""
    async with recorder_in(sbx) as tab:
        yield tab


async def test_screen_and_screenshot(sbx: AsyncSandbox) -> None:
    assert await sbx.get_screen_size() == (1024, 768)
    image = Image.open(io.BytesIO(await sbx.screenshot()))
    assert image.format == "PNG" and image.size == (1024, 768)
    assert Image.open(io.BytesIO(await sbx.screenshot("jpeg", width=512))).size == (512, 384)
    assert Image.open(io.BytesIO(await sbx.screenshot("bytes"))).format == "PNG"
    assert Image.open(io.BytesIO(await sbx.screenshot("jpeg", width=256, settle=1))).size == (256, 192)
    with pytest.raises(InvalidActionError, match=r"query\.settle"):
        await sbx.screenshot(settle=-1)


@pytest.mark.parametrize(
    ("method", "button", "detail"),
    [
        ("left_click", 0, 1),
        ("right_click", 2, 1),
        ("middle_click", 1, 1),
        ("double_click", 0, 2),
        ("triple_click", 0, 3),
    ],
)
async def test_clicks(sbx: AsyncSandbox, page: Any, method: str, button: int, detail: int) -> None:
    # Each case clicks somewhere else: presses at one spot within 500 ms of the last
    # case's would rightly continue its click count.
    x = 560 + 40 * ["left_click", "right_click", "middle_click", "double_click", "triple_click"].index(method)
    await getattr(sbx, method)(x, 500)
    downs = await eventually(lambda: recorded(page, "mousedown"), lambda e: len(e) == detail)
    assert (downs[-1]["screenX"], downs[-1]["screenY"], downs[-1]["button"]) == (x, 500, button)
    assert downs[-1]["detail"] == detail
    assert await sbx.get_cursor_position() == (x, 500)


async def test_press_release_and_drag(sbx: AsyncSandbox, page: Any) -> None:
    await sbx.move_mouse(610, 510)
    await sbx.mouse_press()
    await sbx.mouse_release()
    await eventually(lambda: recorded(page, "mouseup"), lambda e: len(e) == 1)
    await sbx.drag((620, 520), (700, 560))
    ups = await eventually(lambda: recorded(page, "mouseup"), lambda e: len(e) == 2)
    downs = await recorded(page, "mousedown")
    assert (downs[-1]["screenX"], downs[-1]["screenY"]) == (620, 520)
    assert (ups[-1]["screenX"], ups[-1]["screenY"]) == (700, 560)


@pytest.mark.parametrize(
    ("direction", "axis", "sign"),
    [("down", "dy", 1), ("up", "dy", -1), ("right", "dx", 1), ("left", "dx", -1)],
)
async def test_scroll(sbx: AsyncSandbox, page: Any, direction: str, axis: str, sign: int) -> None:
    await sbx.scroll(direction, 2, x=600, y=500)  # type: ignore[arg-type]
    wheels = await eventually(lambda: recorded(page, "wheel"), lambda e: len(e) >= 1)
    assert wheels[0][axis] * sign > 0


async def test_write_press_and_hold(sbx: AsyncSandbox, page: Any) -> None:
    field = await page.evaluate(
        "(() => { const r = document.getElementById('text').getBoundingClientRect();"
        " const top = window.screenY + window.outerHeight - window.innerHeight;"
        " return [window.screenX + r.left + 20, top + r.top + 20]; })()"
    )
    await sbx.left_click(int(field[0]), int(field[1]))
    await eventually(lambda: page.evaluate("document.activeElement.id"), lambda v: v == "text")
    await sbx.write("héllo → 日本語 ✓ 🙂", chunk_size=25, delay_in_ms=75)
    value = lambda: page.eval_on_selector("#text", "e => e.value")  # noqa: E731
    assert await eventually(value, lambda v: v == "héllo → 日本語 ✓ 🙂")
    await sbx.press("ctrl+a")
    await sbx.press(["BackSpace"])
    assert await eventually(value, lambda v: v == "") == ""
    started = time.monotonic()
    await sbx.hold_key("shift", 0.2)
    assert time.monotonic() - started >= 0.2
    shifts = await eventually(lambda: recorded(page, "keyup"), lambda e: any(k["key"] == "Shift" for k in e))
    assert shifts


async def test_pyautogui_code(sbx: AsyncSandbox, page: Any) -> None:
    field = await page.evaluate(
        "(() => { const r = document.getElementById('line').getBoundingClientRect();"
        " const top = window.screenY + window.outerHeight - window.innerHeight;"
        " return [window.screenX + r.left + 20, top + r.top + 20]; })()"
    )
    result = await sbx.pyautogui(
        f"pyautogui.click({int(field[0])}, {int(field[1])})\npyautogui.write('pyautogui → ✓')\n"
        "print(pyautogui.size())"
    )
    assert result.output == "Size(width=1024, height=768)\n"
    value = lambda: page.eval_on_selector("#line", "e => e.value")  # noqa: E731
    assert await eventually(value, lambda v: v == "pyautogui → ✓")
    assert (await sbx.pyautogui("DONE")).signal == "DONE"
    with pytest.raises(ActionFailedError, match="ZeroDivisionError") as failed:
        await sbx.pyautogui("1 / 0")
    assert failed.value.details[0]["loc"] == ["body", "code"]
    with pytest.raises(InvalidActionError, match="timeout"):
        await sbx.pyautogui("pass", timeout=-1)


async def test_wait(sbx: AsyncSandbox) -> None:
    started = time.monotonic()
    await sbx.wait(300)
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("capability", ["pause", "snapshot", "fork", "reset"])
async def test_what_the_backend_cannot_do_is_a_capability_error(sbx: AsyncSandbox, capability: str) -> None:
    with pytest.raises(CapabilityError) as raised:
        await getattr(sbx, capability)()
    assert raised.value.capability == capability and "local" in str(raised.value)
    assert await sbx.get_screen_size() == (1024, 768)  # untouched, still connected


async def test_a_snapshot_where_the_backend_keeps_none_is_refused_before_anything_starts() -> None:
    with pytest.raises(CapabilityError, match="snapshot"):
        await AsyncSandbox.create(backend="local", snapshot="anything")
    with pytest.raises(CapabilityError, match="snapshot"):
        await AsyncSandbox.list_snapshots(backend="local")


async def test_act_runs_schema_actions(sbx: AsyncSandbox) -> None:
    response = await sbx.act([Move(x=5, y=6), CursorPosition()])
    assert response.results[1].cursor is not None and (
        response.results[1].cursor.x,
        response.results[1].cursor.y,
    ) == (5, 6)
    response = await sbx.act(Batch(actions=[Move(x=7, y=8)]), screenshot_after=True, format="jpeg")
    assert response.screenshot is not None and response.screenshot.format == "jpeg"
    settled = await sbx.act(Move(x=9, y=9), screenshot_after=True, settle=1, width=100)
    assert settled.screenshot is not None and settled.screenshot.width == 100


async def test_windows_launch_focus(sbx: AsyncSandbox) -> None:
    pid = await sbx.launch(["xmessage", "-title", "SDK Probe", "hello"])
    try:
        await eventually(sbx.list_windows, lambda ws: any(w.title == "SDK Probe" for w in ws))
        ids = await sbx.get_application_windows("xmessage")
        assert ids and await sbx.get_window_title(ids[0]) == "SDK Probe"
        await sbx.focus_window(ids[0])
        await eventually(sbx.get_current_window_id, lambda current: current == ids[0])
    finally:
        os.kill(pid, 15)


async def test_open_uses_the_desktop_handler(sbx: AsyncSandbox, handler_env: dict[str, str]) -> None:
    await sbx.open("sdkprobe://hello")
    record = Path(handler_env["DESKBOX_TEST_RECORD"])
    assert await eventually(lambda: file_text(record), lambda v: v != "") == "sdkprobe://hello"


async def test_clipboard(sbx: AsyncSandbox) -> None:
    await sbx.set_clipboard("copy ✓")
    assert await sbx.get_clipboard() == "copy ✓"


async def test_commands(sbx: AsyncSandbox) -> None:
    result = await sbx.commands.run("echo $SDK_PROBE; echo err >&2")
    assert (result.stdout, result.stderr, result.exit_code) == ("on\n", "err\n", 0)
    with pytest.raises(CommandExitError) as failed:
        await sbx.commands.run("exit 3")
    assert failed.value.result.exit_code == 3
    assert (await sbx.commands.run("exit 4", check=False)).exit_code == 4
    assert (await sbx.commands.run(["printf", "%s", "a b"], cwd="/", envs={"X": "1"})).stdout == "a b"
    with pytest.raises(TimeoutError):
        await sbx.commands.run("sleep 10", timeout=0.3)


async def test_command_callbacks_and_background(sbx: AsyncSandbox) -> None:
    lines: list[str] = []
    result = await sbx.commands.run("echo one; sleep 0.1; echo two", on_stdout=lines.append)
    assert "".join(lines) == "one\ntwo\n" == result.stdout

    handle = await sbx.commands.run("echo started; sleep 30", background=True, timeout=None)
    await eventually(handle.output, lambda out: out[0] == "started\n")
    assert await handle.is_running()
    assert await handle.kill() is True
    finished = await handle.wait(check=False)
    assert finished.exit_code == 137

    streamed: list[str] = []
    handle = await sbx.commands.run("echo a; echo b", background=True, on_stdout=streamed.append)
    assert (await handle.wait()).stdout == "a\nb\n"
    assert "".join(streamed) == "a\nb\n"

    # stream(): every chunk from the first byte, whichever stream, until the command ends.
    handle = await sbx.commands.run("echo out; echo err >&2; sleep 0.2; echo late", background=True)
    chunks = [chunk async for chunk in handle.stream()]
    assert "".join(text for kind, text in chunks if kind == "stdout") == "out\nlate\n"
    assert "".join(text for kind, text in chunks if kind == "stderr") == "err\n"
    assert not await handle.is_running()


async def test_files(sbx: AsyncSandbox, tmp_path: Path) -> None:
    path = str(tmp_path / "sdk" / "note.txt")
    info = await sbx.files.write(path, "héllo")
    assert info.size == len("héllo".encode())
    assert await sbx.files.read(path) == "héllo"
    await sbx.files.write(path + ".bin", bytes(range(256)))
    assert await sbx.files.read(path + ".bin", format="bytes") == bytes(range(256))
    assert sorted(e.name for e in await sbx.files.list(str(tmp_path / "sdk"))) == ["note.txt", "note.txt.bin"]
    assert await sbx.files.exists(path)
    await sbx.files.remove(str(tmp_path / "sdk"))
    assert not (tmp_path / "sdk").exists()


async def test_viewer_url_works_once(sbx: AsyncSandbox) -> None:
    url = await sbx.stream.get_url(view_only=True)
    assert sbx.info.token not in url
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(url)).status_code == 303
        assert (await client.get(url)).status_code == 401


async def test_errors_come_out_as_deskbox_errors(sbx: AsyncSandbox) -> None:
    with pytest.raises(InvalidActionError) as invalid:
        await sbx.left_click(5000, 10)
    assert invalid.value.details[0]["loc"] == ["body", "x"]
    intruder = await AsyncSandbox.connect(url=sbx.url, token="wrong")
    with pytest.raises(AuthenticationError):
        await intruder.get_screen_size()
    await intruder.close()
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect("local-00000000", backend="local")


async def test_connect_list_and_metadata(sbx: AsyncSandbox) -> None:
    listed = {info.sandbox_id: info for info in await AsyncSandbox.list(backend="local")}
    assert listed[sbx.sandbox_id].metadata == {"suite": "sdk"}
    again = await AsyncSandbox.connect(sbx.sandbox_id, backend="local")
    assert await again.get_screen_size() == (1024, 768)
    await again.close()


async def test_set_timeout_ends_the_sandbox() -> None:
    short = await AsyncSandbox.create(backend="local", timeout=600)
    await short.set_timeout(1)
    await eventually(
        lambda: AsyncSandbox.list(backend="local"),
        lambda infos: short.sandbox_id not in [i.sandbox_id for i in infos],
        timeout=20,
    )
    await short.close()


async def test_sync_twin_works_even_inside_a_running_loop(sbx: AsyncSandbox) -> None:
    # This test body runs inside an event loop; the sync client must still work here.
    twin = Sandbox.connect(url=sbx.url, token=sbx.info.token)
    twin.move_mouse(31, 32)
    assert twin.get_cursor_position() == (31, 32)
    assert twin.commands.run("echo sync").stdout == "sync\n"
    handle = twin.commands.run("echo one; sleep 0.1; echo two >&2", background=True)
    assert "".join(text for _, text in handle.stream()) == "one\ntwo\n"
    endless = twin.commands.run("while :; do echo tick; sleep 0.05; done", background=True, timeout=None)
    for _, text in endless.stream():  # leaving early closes the stream
        assert text.startswith("tick")
        break
    assert endless.kill() is True
    results: list[tuple[int, int]] = []
    worker = threading.Thread(target=lambda: results.append(twin.get_screen_size()))
    worker.start()
    worker.join()
    assert results == [(1024, 768)]
    twin.close()


@pytest.mark.parametrize("channel", ["websocket", "http"])
async def test_actions_travel_the_way_asked_for(
    sbx: AsyncSandbox, monkeypatch: pytest.MonkeyPatch, channel: str
) -> None:
    monkeypatch.setenv(CHANNEL_VARIABLE, channel)
    again = await AsyncSandbox.connect(url=sbx.url, token=sbx.info.token)
    try:
        await again.move_mouse(41, 42)
        assert await again.get_cursor_position() == (41, 42)
        assert (await again.commands.run("echo plain http")).stdout == "plain http\n"
        transport = again._connection._client._transport
        over_socket = isinstance(transport, ActionSocketTransport) and transport.socket_open
        assert over_socket == (channel == "websocket")
    finally:
        await again.close()


async def test_an_unknown_channel_is_refused_by_name(
    sbx: AsyncSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CHANNEL_VARIABLE, "carrier-pigeon")
    with pytest.raises(InvalidActionError, match=CHANNEL_VARIABLE):
        await AsyncSandbox.connect(url=sbx.url, token=sbx.info.token)
