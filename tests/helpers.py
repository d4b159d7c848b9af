"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import os
import signal
import stat
import subprocess
import sys
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from PIL import Image

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], timeout: float = 5.0
) -> T:
    """Poll ``probe`` until ``accept`` holds; the application reads X events on its own time."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.02)


async def settled(probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], timeout: float = 5.0) -> T:
    """Poll ``probe`` until ``accept`` holds and the value stops changing (a smooth scroll
    animates through many values before it reaches its last one)."""
    previous: list[T] = []

    async def steady() -> T:
        value = await probe()
        previous.append(value)
        return value

    def done(value: T) -> bool:
        return accept(value) and len(previous) >= 4 and all(v == value for v in previous[-4:])

    return await eventually(steady, done, timeout)


async def act(client: httpx.AsyncClient, **action: Any) -> dict[str, Any]:
    """POST one action and return the JSON body, asserting success."""
    response = await client.post("/actions", json=action)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def screenshot(client: httpx.AsyncClient, **params: Any) -> Image.Image:
    response = await client.get("/screenshot", params=params)
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


async def events(page: Any, kind: str | None = None) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = await page.evaluate("window.events")
    return [e for e in recorded if kind is None or e["type"] == kind]


async def focus_text_field(client: httpx.AsyncClient, page: Any) -> None:
    """Click the recorder page's textarea and wait until it has the focus."""
    await act(client, type="click", x=300, y=175)
    await eventually(lambda: page.evaluate("document.activeElement.id"), lambda v: v == "text")


def register_scheme_handler(root: Path, scheme: str) -> tuple[dict[str, str], Path]:
    """Register a URL scheme handler the way desktops do (a .desktop file and
    mimeapps.list); it writes the URL it was opened with to the returned file.

    Returns the XDG environment that makes xdg-open find it, and the record file.
    """
    record = root / "opened.txt"
    handler = root / "handler.sh"
    handler.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {record}\n")
    handler.chmod(handler.stat().st_mode | stat.S_IEXEC)
    (root / "data" / "applications").mkdir(parents=True)
    (root / "data" / "applications" / f"{scheme}.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Probe\n"
        f"Exec={handler} %u\nMimeType=x-scheme-handler/{scheme};\n"
    )
    (root / "config").mkdir()
    (root / "config" / "mimeapps.list").write_text(
        f"[Default Applications]\nx-scheme-handler/{scheme}={scheme}.desktop\n"
    )
    return {"XDG_DATA_HOME": str(root / "data"), "XDG_CONFIG_HOME": str(root / "config")}, record


async def file_text(path: Path) -> str:
    """The file's text, or "" while it does not exist (a probe for eventually)."""
    return path.read_text() if path.exists() else ""


ASSETS = Path(__file__).parent / "assets"


@asynccontextmanager
async def recorder_in(sandbox: Any) -> AsyncIterator[Any]:
    """The recorder page in a sandbox's own Chromium, in front and taking input.

    Yields the Playwright page (over the sandbox's /cdp gateway); its ``window.events``
    records every pointer, wheel and key event with screen coordinates.
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(
            f"{sandbox.url}/cdp", headers={"Authorization": f"Bearer {sandbox.info.token}"}
        )
        tab = browser.contexts[0].pages[0]
        await tab.goto((ASSETS / "recorder.html").as_uri())
        await tab.bring_to_front()
        # Chromium names its X window after the page title a moment after the load.
        windows = await eventually(
            sandbox.list_windows, lambda ws: any(w.title.startswith("deskbox recorder") for w in ws)
        )
        await sandbox.focus_window(next(w for w in windows if w.title.startswith("deskbox recorder")).id)
        for attempt in range(100):  # wiggle until the freshly painted page takes input
            await sandbox.move_mouse(500 + attempt % 2, 400)
            if await tab.evaluate("window.path.length > 0"):
                break
            await asyncio.sleep(0.02)
        await tab.evaluate("window.events = []; window.path = []")
        try:
            yield tab
        finally:
            await browser.close()


async def recorded(page: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in await page.evaluate("window.events") if e["type"] == kind]


async def field_center(page: Any, element_id: str) -> tuple[int, int]:
    """Screen coordinates of an element's centre, through the browser window's frame."""
    x, y = await page.evaluate(
        "(id) => { const r = document.getElementById(id).getBoundingClientRect();"
        " const top = window.screenY + window.outerHeight - window.innerHeight;"
        " return [window.screenX + r.left + r.width / 2, top + r.top + r.height / 2]; }",
        element_id,
    )
    return int(x), int(y)


CLICKS = {
    "left_click": (0, 1),
    "right_click": (2, 1),
    "middle_click": (1, 1),
    "double_click": (0, 2),
    "triple_click": (0, 3),
}
"""Claude's click actions, and the DOM ``button`` and ``detail`` each must produce."""

EXAMPLES = Path(__file__).parents[1] / "agent_examples"
KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


def run_example(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in KEYS}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def deskbox_serve(
    display: str, token: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The real command, `deskbox serve`, on ``display`` at a free port on 127.0.0.1:
    its URL and process, once /health answers 200; stopped with SIGINT at the end."""
    from deskbox._ports import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskbox", "serve", "--display", display, "--port", str(port)],
        env={**os.environ, "DESKBOX_TOKEN": token, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"deskbox serve did not become healthy:\n{output}")
            time.sleep(0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def over_both_channels() -> Any:
    """A module's own ``client`` fixture, parametrised by how actions travel: as HTTP
    requests (the in-process app), or over the server's websocket (/actions/ws)."""

    @pytest.fixture(params=["http", "websocket"])
    def client(
        request: pytest.FixtureRequest, client: httpx.AsyncClient, socket_client: httpx.AsyncClient
    ) -> httpx.AsyncClient:
        return client if request.param == "http" else socket_client

    return client


# OSWorld's SetupController and DesktopEnv modules import Google Drive's client and
# OSWorld's evaluators, which the calls tested here never use; empty stand-ins keep their
# requirements (torch, formulas, oauth2client, ...) out of the test environment.
OSWORLD_UNUSED_IMPORTS: dict[str, dict[str, Any]] = {
    "pydrive": {},
    "pydrive.auth": {"GoogleAuth": object},
    "pydrive.drive": {"GoogleDrive": object, "GoogleDriveFile": object, "GoogleDriveFileList": object},
    "desktop_env.evaluators": {},
    # A task names its metric, which DesktopEnv looks up at reset; scoring is not tested.
    "desktop_env.evaluators.metrics": {"infeasible": lambda *args, **kwargs: _not_installed()},
    "desktop_env.evaluators.metrics.utils": {"compare_urls": lambda a, b: a == b},
    # A package without its __init__ (which imports every getter's requirements), so that
    # one getter module, such as the Chrome getters, can be imported and run on its own.
    "desktop_env.evaluators.getters": {},
}


def _not_installed() -> None:
    raise AssertionError("OSWorld's evaluators are not installed here: nothing may score a task")


@contextmanager
def osworld_stand_ins() -> Iterator[None]:
    """Stand-ins for the modules above while OSWorld's controllers are imported and used."""
    added = []
    package = importlib.util.find_spec("desktop_env")
    assert package is not None and package.submodule_search_locations
    getters = Path(package.submodule_search_locations[0], "evaluators", "getters")
    for name, members in OSWORLD_UNUSED_IMPORTS.items():
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__dict__.update(members)
            if name.endswith(".getters"):
                module.__path__ = [str(getters)]
            sys.modules[name] = module
            added.append(name)
    evaluators = sys.modules["desktop_env.evaluators"]
    for child in ("metrics", "getters"):
        if not hasattr(evaluators, child):
            setattr(evaluators, child, sys.modules[f"desktop_env.evaluators.{child}"])
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)
