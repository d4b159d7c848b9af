"""The accessibility tree on a real desktop (`deskbox desktop`: Xvfb, the session bus,
AT-SPI, Chromium), checked against the page's own pixels and events."""

from __future__ import annotations

import asyncio
import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from PIL import Image

from deskbox import errors
from deskbox.client import AsyncSandbox
from deskbox.integrations.osworld import GuestForwarder
from deskbox.models import AccessibleNode
from tests.helpers import eventually

pytestmark = pytest.mark.integration

MAGENTA = (255, 0, 255)
PAGE = """<!doctype html><html><head><title>a11y test page</title><style>
body { margin: 0; background: #fff; font: 16px sans-serif; }
#press { position: absolute; left: 300px; top: 120px; width: 160px; height: 60px;
         background: #f0f; border: 0; color: #000; }
#field { position: absolute; left: 300px; top: 260px; width: 240px; height: 30px; }
#agree { position: absolute; left: 300px; top: 330px; }
#level { position: absolute; left: 300px; top: 380px; width: 200px; }
</style></head><body>
<h1 id="heading">waiting</h1>
<button id="press" onclick="status.textContent = 'pressed ' + (++window.n)">Press me</button>
<input id="field" aria-label="Your name" value="">
<label id="agree"><input type="checkbox" checked> I agree</label>
<input id="level" type="range" min="0" max="10" value="7" aria-label="Level">
<script>window.n = 0; const status = document.getElementById("heading");</script>
</body></html>"""
OSWORLD_NS = {
    "st": "https://accessibility.ubuntu.example.org/ns/state",
    "cp": "https://accessibility.ubuntu.example.org/ns/component",
    "val": "https://accessibility.ubuntu.example.org/ns/value",
}


@pytest.fixture(scope="module")
async def test_page(sandbox: AsyncSandbox, tmp_path_factory: pytest.TempPathFactory) -> AsyncSandbox:
    path = tmp_path_factory.mktemp("a11y") / "page.html"
    path.write_text(PAGE)
    await sandbox.navigate(f"file://{path}")
    await _button(sandbox)
    return sandbox


async def _button(sandbox: AsyncSandbox) -> AccessibleNode:
    """The page's button, once Chromium has published the page."""

    async def probe() -> list[AccessibleNode]:
        return (await sandbox.accessibility.find("push button", "Press me")).elements

    found = await eventually(probe, lambda elements: len(elements) == 1, timeout=20)
    return found[0]


async def _element(sandbox: AsyncSandbox, role: str, name: str) -> AccessibleNode:
    found = (await sandbox.accessibility.find(role, name)).elements
    assert len(found) == 1, f"{role} {name!r}: {found}"
    return found[0]


async def test_the_tree_lists_the_page_with_its_roles_states_and_values(test_page: AsyncSandbox) -> None:
    tree = await test_page.accessibility.tree("chromium")  # any case
    assert [app.name for app in tree.applications] == ["Chromium"]
    assert tree.applications[0].pid is not None and not tree.errors and not tree.truncated
    elements = tree.applications[0].walk()
    assert tree.node_count == len(elements)
    by_name = {(e.role, e.name): e for e in elements}
    button = by_name[("push button", "Press me")]
    assert {"enabled", "focusable", "showing", "visible"} <= set(button.states)
    assert "press" in button.actions and button.attributes.get("id") == "press"
    assert by_name[("heading", "waiting")].text == "waiting"
    assert "checked" in by_name[("check box", "I agree")].states
    assert by_name[("slider", "Level")].value == 7
    assert by_name[("entry", "Your name")].bounds is not None
    assert any(e.role == "frame" and e.name.startswith("a11y test page") for e in elements)


async def test_bounds_match_the_pixels_and_a_click_at_the_centre_reaches_the_button(
    test_page: AsyncSandbox,
) -> None:
    button = await _button(test_page)
    bounds = button.bounds
    assert bounds is not None and (bounds.width, bounds.height) == (160, 60)
    shot = Image.open(io.BytesIO(await test_page.screenshot())).convert("RGB")
    # The corners, not the centre, where the label's text is drawn.
    inside = [(bounds.x, bounds.y), (bounds.x + 159, bounds.y + 59), (bounds.x + 2, bounds.center[1])]
    outside = [(bounds.x - 1, bounds.y), (bounds.x, bounds.y - 1), (bounds.x + 160, bounds.y + 59)]
    assert [shot.getpixel(p) for p in inside] == [MAGENTA] * 3
    assert all(shot.getpixel(p) != MAGENTA for p in outside)
    await test_page.left_click(*bounds.center)

    async def status() -> list[AccessibleNode]:
        return (await test_page.accessibility.find("heading", name_contains="pressed")).elements

    pressed = await eventually(status, lambda found: len(found) == 1)
    assert pressed[0].name == "pressed 1"


async def test_a_field_shows_its_text_and_focus(test_page: AsyncSandbox) -> None:
    field = await _element(test_page, "entry", "Your name")
    assert field.bounds is not None and not field.text
    await test_page.left_click(*field.bounds.center)
    await test_page.write("héllo → 日本語")

    async def probe() -> AccessibleNode:
        return await _element(test_page, "entry", "Your name")

    typed = await eventually(probe, lambda f: f.text == "héllo → 日本語" and "focused" in f.states)
    assert typed.bounds == field.bounds


async def test_element_at_a_point_is_what_the_application_hit_tests(test_page: AsyncSandbox) -> None:
    button = await _button(test_page)
    assert button.bounds is not None
    found = await test_page.accessibility.element_at(*button.bounds.center)
    chain = [found.element, *found.ancestors]
    assert any((e.role, e.name) == ("push button", "Press me") for e in chain), chain
    assert chain[-1].role == "frame" and found.element.bounds is not None
    assert found.element.bounds.contains(*button.bounds.center)
    page_corner = await test_page.accessibility.element_at(button.bounds.x - 100, button.bounds.y + 300)
    assert all(e.name != "Press me" for e in [page_corner.element, *page_corner.ancestors])


async def test_filters(test_page: AsyncSandbox) -> None:
    shallow = await test_page.accessibility.tree(max_depth=1)
    windows = [window for app in shallow.applications for window in app.children]
    assert windows and all(not window.children for window in windows)
    assert any(window.child_count > 0 for window in windows)  # counted, not read
    assert shallow.node_count < (await test_page.accessibility.tree()).node_count
    everything = await test_page.accessibility.tree("Chromium")
    visible = await test_page.accessibility.tree("Chromium", visible_only=True)
    assert 0 < visible.node_count < everything.node_count
    assert all("showing" in e.states for app in visible.applications for e in app.walk()[1:])
    cut = await test_page.accessibility.tree(max_nodes=5)
    assert cut.truncated and cut.node_count == 5


async def test_bad_queries_are_clear_errors(test_page: AsyncSandbox) -> None:
    with pytest.raises(errors.NotFoundError, match=r"no application named 'gimp'.*Chromium"):
        await test_page.accessibility.tree("gimp")
    with pytest.raises(errors.InvalidActionError, match="role"):
        await test_page.accessibility.find()
    with pytest.raises(errors.InvalidActionError, match="off the"):
        await test_page.accessibility.element_at(5000, 10)
    with pytest.raises(errors.InvalidActionError, match="max_nodes"):
        await test_page.accessibility.tree(max_nodes=0)
    assert (await _button(test_page)).name == "Press me"  # still serving


async def test_osworld_xml_through_osworld_own_client(test_page: AsyncSandbox) -> None:
    controller_module: Any = pytest.importorskip("desktop_env.controllers.python")
    with GuestForwarder(test_page.url, test_page.info.token) as guest:
        controller = controller_module.PythonController(vm_ip=guest.host, server_port=guest.port)
        controller.retry_interval = 0
        xml = await asyncio.to_thread(controller.get_accessibility_tree)
    root = ET.fromstring(xml)
    assert root.tag == "desktop-frame"
    # Chromium goes by the name OSWorld's Chrome checks select it by; the native XML keeps its own.
    browser = root.find("application[@name='Google Chrome']")
    assert browser is not None
    buttons = browser.findall(".//push-button[@name='Press me']")
    assert len(buttons) == 1
    assert '<application name="Chromium"' in await test_page.accessibility.xml()
    button = buttons[0]
    assert button.get(f"{{{OSWORLD_NS['st']}}}showing") == "true"
    screencoord = button.get(f"{{{OSWORLD_NS['cp']}}}screencoord")
    size = button.get(f"{{{OSWORLD_NS['cp']}}}size")
    assert size == "(160, 60)", size
    found = await _button(test_page)
    assert found.bounds is not None and screencoord == str((found.bounds.x, found.bounds.y))
    slider = root.find(".//slider[@name='Level']")
    assert slider is not None and slider.get(f"{{{OSWORLD_NS['val']}}}value") == "7.0"
