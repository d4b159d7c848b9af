"""End to end: the compose sandbox, driven from the host through the API, the viewer and CDP."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from deskbox._ports import free_port
from deskbox.backends.docker import IMAGE
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.e2e.conftest import REPO, Sandbox, compose, docker_labels, inspect
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, headers=sandbox.headers, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def playwright() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as running:
        yield running


@pytest_asyncio.fixture
async def host_browser(playwright: Any) -> AsyncIterator[Any]:
    # Headless, so conftest's kiosk and window flags do not apply.
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[:4])
    yield browser
    await browser.close()


async def healthy(api: httpx.AsyncClient) -> bool:
    try:
        return (await api.get("/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def open_red_window(api: httpx.AsyncClient) -> dict[str, Any]:
    """An xmessage window with a red background, opened through the API."""
    title = f"red-{secrets.token_hex(3)}"
    argv = [
        "xmessage",
        "-title",
        title,
        "-bg",
        "#ff0000",
        "-fg",
        "#ff0000",
        "-geometry",
        "420x260+400+250",
        "-buttons",
        "",
        "x" * 40,
    ]
    assert (await api.post("/launch", json={"command": argv})).status_code == 200
    response = await eventually(
        lambda: api.get("/windows"), lambda r: any(w["title"] == title for w in r.json())
    )
    window: dict[str, Any] = next(w for w in response.json() if w["title"] == title)
    await api.post(f"/windows/{window['id']}/focus")
    return window


async def window_titled(api: httpx.AsyncClient, prefix: str) -> dict[str, Any]:
    """The window whose title starts with ``prefix``, once the browser has renamed it."""
    response = await eventually(
        lambda: api.get("/windows"), lambda r: any(w["title"].startswith(prefix) for w in r.json())
    )
    window: dict[str, Any] = next(w for w in response.json() if w["title"].startswith(prefix))
    return window


# ---- 1. the API drives the desktop in the container ----------------------------------------


async def test_the_container_is_locked_down(sandbox: Sandbox) -> None:
    assert sandbox.exec("id", "-un").stdout.strip() == "user"
    assert sandbox.exec("id", "-u").stdout.strip() != "0"
    details = inspect(sandbox.container_id())
    host_config: dict[str, Any] = details["HostConfig"]  # type: ignore[assignment]
    assert host_config["Privileged"] is False
    assert host_config["CapDrop"] == ["ALL"] or host_config["CapDrop"] == ["CAP_ALL"]
    bindings = host_config["PortBindings"]
    assert list(bindings) == ["8000/tcp"], "only the server's port is published"
    assert all(b["HostIp"] == "127.0.0.1" for b in bindings["8000/tcp"])
    assert host_config["PidsLimit"] and host_config["Memory"] and host_config["NanoCpus"]


async def test_api_clicks_types_and_sees_it(
    sandbox: Sandbox, api: httpx.AsyncClient, playwright: Any
) -> None:
    # A text field in the desktop's own Chromium, placed via CDP; typed into via the API.
    browser = await playwright.chromium.connect_over_cdp(f"{sandbox.url}/cdp", headers=sandbox.headers)
    page = browser.contexts[0].pages[0]
    await page.goto(
        "data:text/html,<title>form</title><textarea id=t style='position:fixed;left:0;top:0;"
        "width:100%;height:100%;font-size:30px'></textarea>"
    )
    await page.bring_to_front()
    chromium = await window_titled(api, "form")
    await api.post(f"/windows/{chromium['id']}/focus")
    center = {"x": chromium["x"] + chromium["width"] // 2, "y": chromium["y"] + chromium["height"] // 2}
    await eventually(
        lambda: api.get("/windows"),
        lambda r: any(w["active"] and w["title"].startswith("form") for w in r.json()),
    )
    assert (await api.post("/actions", json={"type": "click", **center})).status_code == 200
    await eventually(lambda: page.evaluate("document.activeElement.id"), lambda v: v == "t")
    text = "héllo → 日本語 ✓ 🙂"
    assert (await api.post("/actions", json={"type": "type", "text": text})).status_code == 200
    assert await eventually(lambda: page.eval_on_selector("#t", "e => e.value"), lambda v: v == text) == text
    await browser.close()

    shot = Image.open(io.BytesIO((await api.get("/screenshot")).content))
    assert shot.size == (1280, 800)


async def test_shell_and_files_inside_the_container(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    result = (await api.post("/shell/run", json={"cmd": "whoami; echo $HOME; echo $DISPLAY"})).json()
    assert result["stdout"] == "user\n/home/user\n:0\n"
    written = await api.post("/files/write", json={"path": "notes/today.txt", "content": "from the host ✓"})
    assert written.json()["path"] == "/home/user/notes/today.txt"
    assert sandbox.exec("cat", "/home/user/notes/today.txt").stdout == "from the host ✓"


# ---- 2, 3. the viewer ----------------------------------------------------------------------


async def open_viewer(api: httpx.AsyncClient, browser: Any, view_only: bool = False) -> Any:
    ticket = (await api.post("/viewer/tickets", json={"view_only": view_only})).json()
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    response = await page.goto(ticket["url"])
    assert response.status == 200
    assert "ticket" not in page.url, "the ticket must not stay in the address bar"
    # noVNC adds a canvas once the VNC handshake is done.
    await page.wait_for_function("document.querySelector('canvas')?.width > 0", timeout=15000)
    # The "connected" banner covers the top of the screen for a few seconds.
    await page.wait_for_function("!document.querySelector('#noVNC_status.noVNC_open')", timeout=15000)
    return page


async def canvas_image(page: Any) -> tuple[Image.Image, dict[str, float]]:
    canvas = page.locator("canvas")
    box = await canvas.bounding_box()
    return Image.open(io.BytesIO(await canvas.screenshot())), box


async def test_viewer_shows_the_desktop(api: httpx.AsyncClient, host_browser: Any) -> None:
    window = await open_red_window(api)
    page = await open_viewer(api, host_browser)
    cx, cy = window["x"] + window["width"] // 2, window["y"] + window["height"] // 2

    async def red_at_window() -> bool:
        image, _ = await canvas_image(page)
        sx, sy = image.width / 1280, image.height / 800
        pixel = image.getpixel((int(cx * sx), int(cy * sy)))[:3]
        return pixel[0] > 200 and pixel[1] < 50 and pixel[2] < 50

    assert await eventually(red_at_window, lambda ok: ok, timeout=10)


async def test_a_click_in_the_viewer_reaches_the_desktop(api: httpx.AsyncClient, host_browser: Any) -> None:
    await api.post("/actions", json={"type": "move", "x": 5, "y": 5})
    page = await open_viewer(api, host_browser)
    _, box = await canvas_image(page)
    target = (640, 400)
    await page.mouse.click(
        box["x"] + target[0] * box["width"] / 1280, box["y"] + target[1] * box["height"] / 800
    )
    await eventually(
        lambda: api.get("/cursor"),
        lambda r: abs(r.json()["x"] - target[0]) <= 2 and abs(r.json()["y"] - target[1]) <= 2,
    )


async def test_view_only_viewer_sends_no_input(api: httpx.AsyncClient, host_browser: Any) -> None:
    await api.post("/actions", json={"type": "move", "x": 5, "y": 5})
    page = await open_viewer(api, host_browser, view_only=True)
    _, box = await canvas_image(page)
    for x, y in ((300, 300), (900, 600)):
        await page.mouse.click(box["x"] + x * box["width"] / 1280, box["y"] + y * box["height"] / 800)
    await asyncio.sleep(1)  # give input that should not exist time to show up
    assert (await api.get("/cursor")).json() == {"x": 5, "y": 5}


async def canvas_ready(frame: Any) -> None:
    await frame.wait_for_function("document.querySelector('canvas')?.width > 0", timeout=15000)


async def test_a_link_opens_the_viewer_many_times_in_a_page_of_its_own_until_revoked(
    api: httpx.AsyncClient, host_browser: Any, tmp_path: Any
) -> None:
    link = (await api.post("/viewer/links", json={"expires_in": 600, "view_only": True})).json()
    assert link["url"] and "token" not in link["url"] and link["view_only"] is True
    assert [known["id"] for known in (await api.get("/viewer/links")).json()] == [link["id"]]
    assert (await api.get("/viewer/links")).json()[0]["url"] is None  # the secret is shown once

    # An app's own page embeds the live view (here on another port of the same host).
    (tmp_path / "app.html").write_text(
        f'<h1>my app</h1><iframe src="{link["url"]}" width=1024 height=700></iframe>'
    )
    port = free_port()
    app = subprocess.Popen(
        ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    contexts = [await host_browser.new_context() for _ in range(2)]
    try:
        await eventually(lambda: _reachable(f"http://127.0.0.1:{port}/app.html"), lambda ok: ok, timeout=15)
        embedded = await contexts[0].new_page()
        await embedded.goto(f"http://127.0.0.1:{port}/app.html")
        frame = embedded.frame_locator("iframe")
        await frame.locator("canvas").wait_for(timeout=15000)
        viewer_frame = embedded.frames[1]
        await canvas_ready(viewer_frame)
        # The same link again, in another browser, and the embedding page reloaded.
        direct = await contexts[1].new_page()
        assert (await direct.goto(link["url"])).status == 200
        await canvas_ready(direct)
        await embedded.reload()
        await canvas_ready(embedded.frames[1])

        assert (await api.delete(f"/viewer/links/{link['id']}")).status_code == 204
        connected = "document.documentElement.classList.contains('noVNC_connected')"
        await direct.wait_for_function(f"!{connected}", timeout=15000)  # the open viewer was closed
        async with httpx.AsyncClient() as browserless:
            assert (await browserless.get(link["url"])).status_code == 401
        assert (await direct.reload()).status == 401  # its cookie died with the link
        assert (await api.delete(f"/viewer/links/{link['id']}")).status_code == 404
    finally:
        for context in contexts:
            await context.close()
        app.kill()
        app.wait()


async def _reachable(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


# ---- 4. CDP from the host ------------------------------------------------------------------


async def test_connect_over_cdp_drives_the_desktop_browser(
    sandbox: Sandbox, api: httpx.AsyncClient, playwright: Any
) -> None:
    browser = await playwright.chromium.connect_over_cdp(f"{sandbox.url}/cdp", headers=sandbox.headers)
    page = browser.contexts[0].pages[0]
    await page.goto("data:text/html,<title>green</title><body style='margin:0;background:rgb(0,200,0)'>")
    await page.bring_to_front()
    chromium = await window_titled(api, "green")
    await api.post(f"/windows/{chromium['id']}/focus")
    point = (chromium["x"] + chromium["width"] // 2, chromium["y"] + chromium["height"] - 40)

    async def pixel() -> tuple[int, ...]:
        image = Image.open(io.BytesIO((await api.get("/screenshot")).content))
        value: tuple[int, ...] = image.getpixel(point)[:3]
        return value

    assert await eventually(pixel, lambda p: p == (0, 200, 0))
    await browser.close()


# ---- 5. nothing without the token ----------------------------------------------------------


async def test_nothing_opens_without_the_token(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        assert (await anonymous.get("/info")).status_code == 401
        assert (await anonymous.get("/screenshot")).status_code == 401
        assert (await anonymous.post("/viewer/tickets")).status_code == 401
        assert (await anonymous.get("/viewer/vnc.html")).status_code == 401
        assert (await anonymous.get("/viewer", params={"ticket": "forged"})).status_code == 401
        assert (await anonymous.get("/cdp/json/version")).status_code == 401
        forged = {"Cookie": "deskbox_viewer=full.9999999999.0000"}
        assert (await anonymous.get("/viewer/vnc.html", headers=forged)).status_code == 401
    ws_url = sandbox.url.replace("http://", "ws://")
    for path, headers in (
        ("/viewer/websockify", {}),
        ("/viewer/websockify", {"Cookie": "deskbox_viewer=full.9999999999.0000"}),
        ("/cdp/devtools/browser/x", {}),
        ("/cdp/devtools/browser/x", {"Authorization": "Bearer wrong"}),
    ):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url + path, additional_headers=headers, proxy=None):
                pass
        assert refused.value.response.status_code == 403


async def test_a_ticket_works_once(api: httpx.AsyncClient) -> None:
    url = (await api.post("/viewer/tickets")).json()["url"]
    async with httpx.AsyncClient() as browserless:
        first = await browserless.get(url)
        assert first.status_code == 303 and "deskbox_viewer" in first.headers["set-cookie"]
        assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=strict" in first.headers["set-cookie"]
        assert (await browserless.get(url)).status_code == 401


async def test_the_token_is_not_in_the_logs_unless_generated(sandbox: Sandbox) -> None:
    logs = sandbox.compose("logs", "--no-color").stdout
    assert "ready: API" in logs
    assert sandbox.token not in logs


# ---- 6. healing ----------------------------------------------------------------------------


@pytest.mark.parametrize("process", ["Xvfb", "x11vnc", "chromium", "websockify", "xfwm4", "xfce4-panel"])
async def test_a_killed_component_comes_back(sandbox: Sandbox, api: httpx.AsyncClient, process: str) -> None:
    pattern = {"websockify": "python3 -m websockify"}.get(process, process)
    flag = "-f" if process == "websockify" else "-x"
    sandbox.exec("pkill", "-KILL", flag, "--", pattern)
    await eventually(lambda: healthy(api), lambda ok: not ok, timeout=5)
    await eventually(lambda: healthy(api), lambda ok: ok, timeout=30)
    shot = await api.get("/screenshot", params={"format": "jpeg"})
    assert shot.status_code == 200
    assert (await api.post("/actions", json={"type": "move", "x": 11, "y": 12})).status_code == 200
    assert (await api.get("/cursor")).json() == {"x": 11, "y": 12}
    components = (await api.get("/health")).json()["components"]
    assert set(components.values()) == {"ready"}


async def test_the_server_itself_comes_back(sandbox: Sandbox, api: httpx.AsyncClient) -> None:
    sandbox.exec("pkill", "-KILL", "-f", "deskbox serve")
    await eventually(lambda: healthy(api), lambda ok: ok, timeout=30)
    assert (await api.get("/info")).status_code == 200


# ---- 7. compose down -----------------------------------------------------------------------


def test_resolution_setting_and_compose_down_leaves_nothing_behind(sandbox: Sandbox) -> None:
    project = f"deskbox-down-{secrets.token_hex(3)}"
    token, port = secrets.token_urlsafe(16), free_port()
    env = {**os.environ, "DESKBOX_TOKEN": token, "DESKBOX_PORT": str(port), "DESKBOX_RESOLUTION": "1024x768"}
    started = time.monotonic()
    up = compose(project, env, "up", "-d", "--wait", "--no-build", check=False)
    try:
        assert up.returncode == 0, up.stderr
        assert time.monotonic() - started < 60
        assert docker_labels("container", project)
        screen = httpx.get(f"http://127.0.0.1:{port}/screen", headers={"Authorization": f"Bearer {token}"})
        assert screen.json() == {"width": 1024, "height": 768}
    finally:
        down = compose(project, env, "down", check=False)
    assert down.returncode == 0, down.stderr
    for kind in ("container", "network", "volume"):
        assert docker_labels(kind, project) == [], f"{kind} left behind"
    assert REPO.exists()


def test_the_image_carries_the_real_package(sandbox: Sandbox) -> None:
    """The SDK imports inside a sandbox, and it is this checkout's deskbox."""
    import deskbox

    code = "import deskbox; from deskbox import Sandbox, UnsupportedInModeError; print(deskbox.__version__)"
    shown = sandbox.exec("python3", "-c", code)
    assert shown.stdout.strip() == deskbox.__version__


def test_the_image_has_started_once_and_kept_nothing_of_that_run(sandbox: Sandbox) -> None:
    """The build's warm-up: XFCE's stored defaults and Chromium's profile are in the image,
    and nothing that belongs to one run (logs, sockets, the X lock, the profile's lock)."""
    script = (
        "grep -c '<property' ~/.config/xfce4/xfconf/xfce-perchannel-xml/xfwm4.xml;"
        " test -f ~/.config/deskbox-chromium/'Local State' && echo profile;"
        " ls -A /var/lib/deskbox /tmp ~/.config/deskbox-chromium | grep -E '^Singleton|\\.log$|^\\.X' ;"
        " ls -A /var/lib/deskbox | wc -l"
    )
    shown = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", IMAGE, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    stored, profile, *leftovers = shown.stdout.split()
    assert int(stored) > 20, shown.stdout  # the 3 seeded settings, plus xfwm4's defaults
    assert profile == "profile"
    assert leftovers == ["0"], f"left by the build's run: {leftovers}"


async def test_the_api_docs_render_with_no_network(api: httpx.AsyncClient, host_browser: Any) -> None:
    """The docs page draws every operation in a browser that reaches nothing but the
    sandbox (this machine has no internet: a CDN-hosted Swagger UI would stay blank)."""
    page = await open_viewer(api, host_browser)  # the viewer's cookie opens the docs too
    await page.goto(page.url.split("/viewer")[0] + "/docs")
    operations = await eventually(
        lambda: page.locator(".opblock").count(), lambda count: count > 20, timeout=30
    )
    assert operations > 20
    assert "/actions" in await page.locator(".opblock-summary-path").all_inner_texts()
