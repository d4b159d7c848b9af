"""The image as eval harnesses and the agents trained on them use it: pyautogui code (as
an action, and OSWorld's own ``python -c`` way), the habits of an Ubuntu desktop (the
Super key, Alt+click for applications) and the tools agents call (wmctrl, xclip,
pyperclip)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.e2e.conftest import Sandbox
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

PAGE = (
    "data:text/html,<title>evalpage</title><body style='margin:0'>"
    "<textarea id=t style='position:fixed;left:0;top:0;width:100%;height:50%;font-size:24px'></textarea>"
    "<div id=pad style='position:fixed;left:0;top:50%;width:100%;height:50%;background:%23228'></div>"
    "<script>window.seen=[];for(const k of ['mousedown','mouseup','click','keydown','keyup'])"
    "addEventListener(k,e=>seen.push({type:e.type,x:e.screenX,y:e.screenY,alt:e.altKey,key:e.key}),true)</script>"
)


@pytest_asyncio.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, headers=sandbox.headers, timeout=60) as client:
        yield client


@pytest_asyncio.fixture
async def page(sandbox: Sandbox, api: httpx.AsyncClient) -> AsyncIterator[Any]:
    """A page in the desktop's Chromium, in front, with the window's place on the screen."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(f"{sandbox.url}/cdp", headers=sandbox.headers)
        tab = browser.contexts[0].pages[0]
        await tab.goto(PAGE)
        await tab.bring_to_front()
        response = await eventually(
            lambda: api.get("/windows"), lambda r: any(w["title"].startswith("evalpage") for w in r.json())
        )
        window = next(w for w in response.json() if w["title"].startswith("evalpage"))
        await api.post(f"/windows/{window['id']}/focus")
        await eventually(
            lambda: api.get("/windows"),
            lambda r: any(w["active"] and w["title"].startswith("evalpage") for w in r.json()),
        )
        tab.window = window
        yield tab
        await browser.close()


async def pad_point(page: Any) -> tuple[int, int]:
    """A screen point in the middle of the page's pad."""
    x, y = await page.evaluate(
        "(() => { const r = document.getElementById('pad').getBoundingClientRect();"
        " const top = window.screenY + window.outerHeight - window.innerHeight;"
        " return [Math.round(window.screenX + r.left + r.width / 2),"
        " Math.round(top + r.top + r.height / 2)]; })()"
    )
    return int(x), int(y)


async def shell(api: httpx.AsyncClient, cmd: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.post("/shell/run", json={"cmd": cmd, "timeout": 60})).json()
    return result


async def test_pyautogui_code_types_exactly_in_the_image(api: httpx.AsyncClient, page: Any) -> None:
    text = "héllo → 日本語 ✓ 🙂 <ok>"
    window = page.window
    code = (
        f"pyautogui.click({window['x'] + 200}, {window['y'] + 150})\n"
        f"pyautogui.write({text!r})\nprint(pyautogui.size())"
    )
    response = await api.post("/actions", json={"type": "pyautogui", "code": code})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["output"] == "Size(width=1280, height=800)\n"
    value = await eventually(lambda: page.eval_on_selector("#t", "e => e.value"), lambda v: v == text)
    assert value == text


async def test_osworld_python_c_way_works_beside_the_server(api: httpx.AsyncClient, page: Any) -> None:
    # OSWorld's guest runs each action as `python -c "import pyautogui; ..."`: the image's
    # python has pyautogui on python-xlib 0.33, and the server still holds its display.
    x, y = await pad_point(page)
    result = await shell(
        api,
        f"python -c 'import Xlib, pyautogui; pyautogui.click({x}, {y}); print(Xlib.__version__)'",
    )
    assert (result["exit_code"], result["stdout"].strip()) == (0, "(0, 33)"), result
    clicks = await eventually(
        lambda: page.evaluate("window.seen.filter(e => e.type === 'click')"), lambda e: len(e) == 1
    )
    assert (clicks[0]["x"], clicks[0]["y"]) == (x, y)
    assert (await api.get("/health")).status_code == 200


async def test_alt_click_and_alt_drag_reach_applications(api: httpx.AsyncClient, page: Any) -> None:
    x, y = await pad_point(page)
    before = page.window
    clicked = await api.post("/actions", json={"type": "click", "x": x, "y": y, "modifiers": ["alt"]})
    assert clicked.status_code == 200
    clicks = await eventually(
        lambda: page.evaluate("window.seen.filter(e => e.type === 'click')"), lambda e: len(e) == 1
    )
    assert clicks[0]["alt"] is True
    path = [{"x": x, "y": y}, {"x": x + 150, "y": y + 40}]
    dragged = await api.post("/actions", json={"type": "drag", "path": path, "modifiers": ["alt"]})
    assert dragged.status_code == 200
    ups = await eventually(
        lambda: page.evaluate("window.seen.filter(e => e.type === 'mouseup')"), lambda e: len(e) == 2
    )
    assert (ups[1]["x"], ups[1]["y"], ups[1]["alt"]) == (x + 150, y + 40, True)
    after = next(w for w in (await api.get("/windows")).json() if w["id"] == before["id"])
    assert (after["x"], after["y"]) == (before["x"], before["y"]), "xfwm4 moved the window"


async def test_the_super_key_opens_the_application_finder(api: httpx.AsyncClient, page: Any) -> None:
    def finder(response: httpx.Response) -> list[dict[str, Any]]:
        return [w for w in response.json() if "Application Finder" in w["title"]]

    assert not finder(await api.get("/windows"))
    assert (await api.post("/actions", json={"type": "key", "keys": "super"})).status_code == 200
    response = await eventually(lambda: api.get("/windows"), lambda r: bool(finder(r)), timeout=20)
    await shell(api, "pkill -f xfce4-appfinder")
    await eventually(lambda: api.get("/windows"), lambda r: not finder(r), timeout=20)
    assert finder(response)


async def test_the_tools_agents_call_are_there(api: httpx.AsyncClient, page: Any) -> None:
    listed = await shell(api, "wmctrl -l")
    assert listed["exit_code"] == 0 and "evalpage" in listed["stdout"], listed
    copied = await shell(
        api, "python -c \"import pyperclip; pyperclip.copy('from pyperclip ✓'); print(pyperclip.paste())\""
    )
    assert (copied["exit_code"], copied["stdout"].strip()) == (0, "from pyperclip ✓"), copied
    assert (await api.get("/clipboard")).json()["text"] == "from pyperclip ✓"


async def test_the_accessibility_tree_covers_the_whole_desktop(api: httpx.AsyncClient, page: Any) -> None:
    response = await api.get("/accessibility", params={"max_depth": 1})
    assert response.status_code == 200, response.text
    tree = response.json()
    names = {app["name"] for app in tree["applications"]}
    assert {"Chromium", "xfce4-panel", "xfdesktop"} <= names, names
    assert tree["errors"] == []
    windows = [
        w["name"] for app in tree["applications"] if app["name"] == "Chromium" for w in app["children"]
    ]
    assert any(name.startswith("evalpage") for name in windows), windows


async def test_osworld_terminal_reads_the_terminal_in_front(api: httpx.AsyncClient) -> None:
    launched = await api.post("/launch", json={"command": ["xfce4-terminal", "--disable-server"]})
    assert launched.status_code == 200, launched.text
    try:

        async def terminals() -> list[dict[str, Any]]:
            found = await api.get("/accessibility/find", params={"role": "terminal"})
            return list(found.json()["elements"])

        await eventually(terminals, lambda found: len(found) == 1, timeout=30)
        # xfwm4 may keep the focus where the user (a test before) was working: ask for it.
        windows = await api.get("/windows/search", params={"application": "xfce4-terminal"})
        assert (await api.post(f"/windows/{windows.json()[0]}/focus")).status_code == 204
        ready = await eventually(terminals, lambda found: "focused" in found[0]["states"])
        assert ready[0]["application"] == "xfce4-terminal"
        assert (
            await api.post("/actions", json={"type": "type", "text": "echo deskbox-$((6*7))\n"})
        ).status_code == 200

        async def output() -> str:
            answer = await api.get("/osworld/terminal")
            assert answer.status_code == 200, answer.text
            return str(answer.json()["output"] or "")

        shown = await eventually(output, lambda text: "\ndeskbox-42\n" in text, timeout=15)
        assert "echo deskbox-$((6*7))" in shown
    finally:
        await shell(api, f"kill {launched.json()['pid']}")
