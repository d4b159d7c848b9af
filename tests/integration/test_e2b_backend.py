"""The e2b backend against local stand-ins for E2B's SDKs (see harness/e2b_cloud.py and
harness/e2b_desktop.py): the template mode's lifecycle and errors, and stock mode's
mapping onto e2b_desktop, each checked on a real local desktop."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from deskbox import (
    AsyncSandbox,
    AuthenticationError,
    BackendError,
    CommandExitError,
    SandboxNotFoundError,
    TimeoutError,
    UnsupportedInModeError,
)
from deskbox.actions import Batch, Click, CursorPosition, Move, Screenshot
from deskbox.actions import Region as ScreenRegion
from deskbox.backends.e2b import TOKEN_FILE, E2BBackend
from harness import e2b_cloud, e2b_desktop
from tests.helpers import ASSETS, eventually, field_center, recorded

pytestmark = pytest.mark.integration


def template_backend(**options: Any) -> E2BBackend:
    return E2BBackend(sdk=e2b_cloud, api_key=options.pop("api_key", e2b_cloud.API_KEY), **options)  # type: ignore[arg-type]


async def test_a_fresh_snapshot_accepts_no_token_until_one_is_written() -> None:
    raw = await e2b_cloud.AsyncSandbox.create(
        template="deskbox-desktop", timeout=120, api_key=e2b_cloud.API_KEY
    )
    try:
        url = f"http://{raw.get_host(8000)}"
        async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
            for guess in ("x", "deskbox", "None"):
                assert (
                    await http.get("/screen", headers={"Authorization": f"Bearer {guess}"})
                ).status_code == 401
            await raw.files.write(TOKEN_FILE, "now-it-has-one")
            ok = await http.get("/screen", headers={"Authorization": "Bearer now-it-has-one"})
            assert ok.status_code == 200
    finally:
        await e2b_cloud.AsyncSandbox.kill(raw.sandbox_id, api_key=e2b_cloud.API_KEY)


async def test_pause_and_resume_keep_the_desktop() -> None:
    backend = template_backend()
    sandbox = await AsyncSandbox.create(backend=backend, timeout=300)
    try:
        await sandbox.move_mouse(123, 45)
        await sandbox.pause()
        # Paused: the desktop's processes are stopped, so it does not answer.
        async with httpx.AsyncClient(timeout=0.5, trust_env=False) as http:
            with pytest.raises(httpx.TimeoutException):
                await http.get(
                    f"{sandbox.url}/screen", headers={"Authorization": f"Bearer {sandbox.info.token}"}
                )
        resumed = await AsyncSandbox.connect(sandbox.sandbox_id, backend=backend)
        assert await resumed.get_cursor_position() == (123, 45)  # the same desktop, where it was
        await resumed.kill()
    finally:
        if sandbox.sandbox_id in e2b_cloud.forget_all():
            await backend.kill(sandbox.sandbox_id)


async def test_e2b_errors_become_deskbox_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="E2B_API_KEY"):
        E2BBackend(sdk=e2b_cloud)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match="refused the API key") as refused:
        await AsyncSandbox.create(backend=template_backend(api_key="e2b_wrong"))
    assert refused.value.__cause__ is not None  # E2B's own exception is kept as the cause
    with pytest.raises(BackendError, match="no-such-template"):
        await AsyncSandbox.create(backend=template_backend(template="no-such-template"))
    with pytest.raises(SandboxNotFoundError):
        await template_backend().kill("inosuchsandbox")
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect("inosuchsandbox", backend=template_backend())
    assert e2b_cloud.forget_all() == []


# ---- stock mode ------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stock() -> AsyncIterator[Any]:
    backend = e2b_desktop.stock_backend()
    sandbox = await AsyncSandbox.create(backend=backend, resolution=(1024, 768), timeout=600)
    yield sandbox
    await sandbox.kill()


@contextlib.asynccontextmanager
async def stock_tab(stock: Any) -> AsyncIterator[Any]:
    """The stock stand-in's Chromium tab, in front, its window focused and taking input."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await eventually(
            lambda: _connect(playwright, e2b_desktop.running(stock.sandbox_id).cdp_port),
            lambda b: b is not None,
            timeout=20,
        )
        tab = browser.contexts[0].pages[0]
        await tab.bring_to_front()

        async def focused_window() -> str:
            result = await stock.commands.run("xdotool getwindowfocus getwindowname", check=False)
            return str(result.stdout)

        # Chromium maps its window a moment after DevTools answers; keys before that are lost.
        await eventually(focused_window, lambda name: "Chromium" in name, timeout=20)
        try:
            yield tab
        finally:
            await browser.close()


async def test_stock_typing_is_one_fast_command_and_lands_exactly(stock: Any) -> None:
    desktop = e2b_desktop.running(stock.sandbox_id)
    async with stock_tab(stock) as tab:
        await tab.set_content("<textarea id=t autofocus></textarea>")
        await tab.click("#t")
        await eventually(lambda: tab.evaluate("document.hasFocus()"), lambda has: has is True)
        desktop.ran.clear()
        text = "Grüße, the quick brown fox jumps over the lazy dog ✓"
        await stock.write(text)
        typed = [c for c in desktop.ran if c.startswith("xdotool type")]
        # A command per run: ASCII at 4 ms a key, the rest (with the short ASCII run
        # "Gr" beside it) at 12 ms, instead of three 25-character chunks at 75 ms a key.
        assert [c.split(" -- ")[0] for c in typed] == [
            "xdotool type --delay 12",
            "xdotool type --delay 4",
            "xdotool type --delay 12",
        ]
        assert typed[0].endswith("'Grüß'") and typed[2].endswith("'✓'")
        value = await eventually(
            lambda: tab.evaluate("document.getElementById('t').value"), lambda v: v == text
        )
        assert value == text


async def test_stock_clicks_at_coordinate_zero_move_the_pointer(stock: Any) -> None:
    await stock.move_mouse(500, 500)
    await stock.left_click(0, 300)  # e2b_desktop alone would click at (500, 500)
    assert await stock.get_cursor_position() == (0, 300)
    await stock.left_click(400, 0)
    assert await stock.get_cursor_position() == (400, 0)
    await stock.double_click(0, 700)
    assert await stock.get_cursor_position() == (0, 700)
    response = await stock.act(Batch(actions=[Move(x=10, y=20), Click(x=0, y=0), CursorPosition()]))
    assert response.results[-1].cursor is not None
    assert (response.results[-1].cursor.x, response.results[-1].cursor.y) == (0, 0)


async def _connect(playwright: Any, port: int) -> Any:
    try:
        return await playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
    except Exception:
        await asyncio.sleep(0.2)
        return None


async def test_stock_screen_commands_and_files(stock: Any, tmp_path: Any) -> None:
    assert await stock.get_screen_size() == (1024, 768)
    png = Image.open(io.BytesIO(await stock.screenshot()))
    assert png.format == "PNG" and png.size == (1024, 768)
    jpeg = Image.open(io.BytesIO(await stock.screenshot("jpeg", width=512)))
    assert jpeg.format == "JPEG" and jpeg.size == (512, 384)
    assert Image.open(io.BytesIO(await stock.screenshot(settle=2))).size == (1024, 768)
    result = await stock.commands.run("echo out; echo err >&2; exit 4", check=False)
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 4)
    with pytest.raises(CommandExitError):
        await stock.commands.run("exit 1")
    target = str(tmp_path / "stock.txt")
    info = await stock.files.write(target, "héllo")
    assert info.size == len("héllo".encode())
    assert await stock.files.read(target) == "héllo"
    await stock.press(["ctrl", "a"])
    assert any(
        re.fullmatch(r"xdotool key Control_L\+a", c) for c in e2b_desktop.running(stock.sandbox_id).ran
    )


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda s: s.get_clipboard(), "GET /clipboard"),
        (lambda s: s.navigate("https://example.com"), "POST /browser/navigate"),
        (lambda s: s.list_windows(), "GET /windows"),
        (lambda s: s.commands.run("sleep 1", background=True), "POST /processes"),
        (lambda s: s.commands.run("cat", stdin="x"), "stdin for a command"),
        (lambda s: s.pause(), "pause"),
    ],
)
async def test_stock_mode_names_what_it_cannot_do(stock: Any, call: Any, named: str) -> None:
    with pytest.raises(UnsupportedInModeError) as refused:
        await call(stock)
    assert refused.value.what == named and refused.value.mode == "e2b stock mode"
    assert named in str(refused.value) and "e2b stock mode" in str(refused.value)
    assert await stock.get_screen_size() == (1024, 768)  # and it keeps serving


@pytest.mark.skipif(
    not os.environ.get("E2B_API_KEY"), reason="E2B_API_KEY is not set: the live E2B run is skipped"
)
async def test_live_stock_mode_on_the_real_desktop_template() -> None:
    sandbox = await AsyncSandbox.create(backend=E2BBackend(mode="stock"), resolution=(1024, 768), timeout=300)
    try:
        assert await sandbox.get_screen_size() == (1024, 768)
        await sandbox.left_click(0, 100)
        assert await sandbox.get_cursor_position() == (0, 100)
        assert (await sandbox.commands.run("echo hi")).stdout == "hi\n"
        assert Image.open(io.BytesIO(await sandbox.screenshot())).size == (1024, 768)
    finally:
        await sandbox.kill()


async def test_the_claude_adapter_drives_a_stock_sandbox(stock: Any) -> None:
    """Schema actions with held keys, zoom and screenshot_after run in stock mode, so an
    agent adapter works there unchanged: a shift+click lands with shift held, and Claude
    is answered with the screen and can zoom."""
    from deskbox.adapters.anthropic import ClaudeComputerTool

    async with stock_tab(stock) as tab:
        await tab.goto((ASSETS / "recorder.html").as_uri())
        # Earlier tests click the window's edges, and the window manager may have moved it:
        # put it back over the whole screen, so every target below is on the screen.
        await eventually(
            lambda: stock.commands.run(
                "xdotool search --onlyvisible --name 'deskbox recorder' windowmove 0 0 windowsize 1024 768",
                check=False,
            ),
            lambda result: result.exit_code == 0,
        )
        # Chromium reports the new place and size a moment after the move: wait for both,
        # since the targets' screen points below are read through them.
        await eventually(
            lambda: tab.evaluate("[window.screenX, window.screenY, window.outerWidth, window.outerHeight]"),
            lambda at: at[:2] == [0, 0] and at[2] <= 1024 and at[3] <= 768,
        )
        for attempt in range(100):  # wiggle until the freshly painted page takes input
            await stock.move_mouse(500 + attempt % 2, 400)
            if await tab.evaluate("window.path.length > 0"):
                break
            await asyncio.sleep(0.05)
        # The page is laid out for a bigger screen: bring the targets onto this one.
        await tab.evaluate(
            "for (const [id, top] of [['target', 20], ['pad', 240]]) {"
            " const box = document.getElementById(id).style; box.left = '20px'; box.top = top + 'px'; }"
        )
        await tab.evaluate("window.events = []; window.path = []")
        tool = ClaudeComputerTool(stock, version="computer_20251124", settle=1)
        target = await field_center(tab, "pad")

        def call(action: str, **fields: Any) -> dict[str, Any]:
            tool_input = fields | {"action": action}
            return {"type": "tool_use", "id": f"toolu_{action}", "name": "computer", "input": tool_input}

        clicked = await tool.execute(call("left_click", coordinate=list(target), text="shift"))
        assert not clicked.get("is_error"), clicked
        downs = await eventually(lambda: recorded(tab, "mousedown"), lambda e: len(e) == 1)
        assert downs[0]["shift"] and abs(downs[0]["screenX"] - target[0]) <= 1
        image_block = next(b for b in clicked["content"] if b["type"] == "image")
        shot = Image.open(io.BytesIO(base64.b64decode(image_block["source"]["data"])))
        assert shot.size == (1024, 768)  # XGA: Claude sees the stock screen as it is

        red_x, red_y = await field_center(tab, "target")
        zoomed = await tool.execute(call("zoom", region=[red_x - 20, red_y - 20, red_x + 20, red_y + 20]))
        assert not zoomed.get("is_error"), zoomed
        zoom_block = next(b for b in zoomed["content"] if b["type"] == "image")
        zoom_image = Image.open(io.BytesIO(base64.b64decode(zoom_block["source"]["data"]))).convert("RGB")
        assert zoom_image.size == (768, 768)  # a square region, scaled up to fit the screen
        colors = zoom_image.getcolors(maxcolors=1 << 16)
        assert colors is not None and max(colors)[1] == (255, 0, 0)

    response = await stock.act([Move(x=5, y=5)], screenshot_after=True, format="jpeg", width=512)
    after = response.screenshot
    assert after is not None and (after.format, after.width, after.height) == ("jpeg", 512, 384)
    region = await stock.act(Screenshot(region=ScreenRegion(x=10, y=10, width=30, height=20)))
    cropped = region.results[0].image
    assert cropped is not None and (cropped.width, cropped.height) == (30, 20)


async def test_stock_screenshots_draw_the_pointer_only_when_asked(stock: Any) -> None:
    await stock.move_mouse(600, 500)
    box = (590, 490, 640, 540)
    plain = Image.open(io.BytesIO(await stock.screenshot())).convert("RGB").crop(box)
    again = Image.open(io.BytesIO(await stock.screenshot())).convert("RGB").crop(box)
    pointer = Image.open(io.BytesIO(await stock.screenshot(cursor=True))).convert("RGB").crop(box)
    assert plain.tobytes() == again.tobytes()  # a still screen, so any difference is the pointer
    assert pointer.tobytes() != plain.tobytes()


async def test_stock_command_output_streams_through_the_transport(stock: Any) -> None:
    out: list[str] = []
    err: list[str] = []
    result = await stock.commands.run(
        "echo one; echo two >&2; exit 3", on_stdout=out.append, on_stderr=err.append, check=False
    )
    assert (result.exit_code, "".join(out), "".join(err)) == (3, "one\n", "two\n")
    assert (result.stdout, result.stderr) == ("one\n", "two\n")
    with pytest.raises(TimeoutError):
        await stock.commands.run("sleep 5", timeout=0.5)
