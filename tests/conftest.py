"""Fixtures: a real Xvfb desktop, the driver on it, the app in-process, and Chromium.

Nothing here fakes X. The session starts one Xvfb with Openbox, one Desktop driver and
one Chromium in kiosk mode covering the screen, so page coordinates are screen
coordinates. Each test that uses ``page`` gets the recorder page loaded afresh.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from deskbox.actions import Move
from deskbox.desktop import Desktop
from deskbox.dispatch import run_actions
from deskbox.server import Settings, create_app
from harness.desktop_session import DesktopSession

ASSETS = Path(__file__).parent / "assets"
TOKEN = "test-token-" + os.urandom(8).hex()
CHROMIUM = os.environ.get("DESKBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--kiosk",
    "--window-position=0,0",
    "--disable-gpu",
    "--password-store=basic",
    "--disable-features=Translate",
    "--disable-smooth-scrolling",
]
WIDTH, HEIGHT = 1280, 800


def _require(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.fail(f"{binary} is not installed; run .ci/run or install the Debian packages in README")


@pytest.fixture(scope="session")
def session() -> Iterator[DesktopSession]:
    """A real Xvfb with a window manager, for the whole test session."""
    _require("Xvfb")
    with DesktopSession(width=WIDTH, height=HEIGHT, window_manager="openbox") as running:
        yield running


@pytest.fixture(scope="session")
def display(session: DesktopSession) -> str:
    return session.display


@pytest_asyncio.fixture(scope="session")
async def desktop(display: str) -> AsyncIterator[Desktop]:
    driver = Desktop(display)
    yield driver
    await driver.close()


@pytest_asyncio.fixture(scope="session")
async def client(desktop: Desktop) -> AsyncIterator[httpx.AsyncClient]:
    """The control server in-process, through httpx's ASGI transport."""
    app = create_app(Settings(token=TOKEN, display=desktop.display), desktop=desktop)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://deskbox.test", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        yield http


@pytest_asyncio.fixture(scope="session")
async def socket_client(desktop: Desktop) -> AsyncIterator[httpx.AsyncClient]:
    """The control server under uvicorn on 127.0.0.1, reached as the SDK reaches it: the
    action routes over its websocket (/actions/ws), everything else over HTTP."""
    import uvicorn

    from deskbox._ports import free_port
    from deskbox.client._action_socket import ActionSocketTransport

    app = create_app(Settings(token=TOKEN, display=desktop.display), desktop=desktop)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    transport = ActionSocketTransport()
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        await http.post("/actions", json={"type": "cursor_position"})
        assert transport.socket_open, "the action socket did not open"
        yield http
    server.should_exit = True
    await serving


@pytest_asyncio.fixture(scope="session")
async def browser_page(display: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """Chromium on the test display, in kiosk mode: its one page covers the whole screen."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package")
    async with async_playwright() as playwright:
        # Only the persistent context's own window honours --kiosk; new contexts get a
        # normal window with borders and a toolbar.
        context = await playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=CHROMIUM,
            headless=False,
            no_viewport=True,
            args=[*CHROMIUM_FLAGS, f"--window-size={WIDTH},{HEIGHT}"],
            env={**os.environ, "DISPLAY": display},
        )
        page = context.pages[0] if context.pages else await context.new_page()
        yield page
        await context.close()


@pytest_asyncio.fixture
async def page(browser_page: Any, desktop: Desktop) -> Any:
    """The recorder page, freshly loaded and focused, covering the whole screen."""
    await browser_page.goto((ASSETS / "recorder.html").as_uri())
    await browser_page.bring_to_front()
    size = await browser_page.evaluate(
        "[window.innerWidth, window.innerHeight, window.screenX, window.screenY]"
    )
    assert size == [WIDTH, HEIGHT, 0, 0], f"Chromium is not covering the screen: {size}"
    # Chromium drops input that arrives before a new document is painted and hit-test
    # ready. Wiggle the pointer until the page sees it, then start from a clean record.
    for attempt in range(100):
        await run_actions(desktop, Move(x=20 + attempt % 2, y=20))
        if await browser_page.evaluate("window.path.length > 0"):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the recorder page never received pointer input")
    await browser_page.evaluate("window.events = []; window.path = []")
    return browser_page
