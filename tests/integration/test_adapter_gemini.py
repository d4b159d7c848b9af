"""Gemini's computer-use functions on a real sandbox: the 0-999 grid, browser functions,
every predefined function with its effect, and errors as function responses."""

from __future__ import annotations

import io
from typing import Any

import pytest
from google.genai import types
from PIL import Image

from deskbox import AsyncSandbox
from deskbox.adapters.gemini import FUNCTIONS, GeminiComputerTool
from tests.helpers import ASSETS, eventually, field_center, recorded

pytestmark = pytest.mark.integration

SCREEN = (1280, 800)
RECORDER = (ASSETS / "recorder.html").as_uri()


def grid(x: int, y: int) -> dict[str, int]:
    """The 0-999 grid point that lands on screen pixel (x, y)."""
    return {"x": -(-x * 1000 // SCREEN[0]), "y": -(-y * 1000 // SCREEN[1])}


def on_screen(point: dict[str, int]) -> tuple[int, int]:
    return point["x"] * SCREEN[0] // 1000, point["y"] * SCREEN[1] // 1000


async def ok(tool: GeminiComputerTool, name: str, **args: Any) -> types.FunctionResponse:
    response = await tool.execute(types.FunctionCall(name=name, args=args))
    assert response.name == name
    assert response.response is not None and "error" not in response.response, response.response
    assert response.parts is not None and response.parts[0].inline_data is not None
    blob = response.parts[0].inline_data
    assert blob.mime_type == "image/png" and blob.data is not None
    assert Image.open(io.BytesIO(blob.data)).size == SCREEN
    return response


@pytest.fixture
def tool(sandbox: AsyncSandbox) -> GeminiComputerTool:
    return GeminiComputerTool(sandbox, search_url=RECORDER + "?searched")


def test_definition_is_the_computer_use_tool(sandbox: AsyncSandbox) -> None:
    tool = GeminiComputerTool(sandbox, environment="desktop", excluded_functions=["search"])
    definition = tool.definition()
    assert definition.computer_use is not None
    assert definition.computer_use.environment == types.Environment.ENVIRONMENT_DESKTOP
    assert definition.computer_use.excluded_predefined_functions == ["search"]
    assert "click_at" in FUNCTIONS and "drag_and_drop" in FUNCTIONS


async def test_click_and_hover_map_the_grid(
    sandbox: AsyncSandbox, tool: GeminiComputerTool, recorder: Any
) -> None:
    point = grid(*await field_center(recorder, "pad"))
    response = await ok(tool, "click_at", **point)
    assert response.response is not None and response.response["url"] == RECORDER
    downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
    assert (downs[0]["screenX"], downs[0]["screenY"]) == on_screen(point)
    await ok(tool, "hover_at", x=999, y=0)
    assert await sandbox.get_cursor_position() == (1278, 0)


async def test_type_text_at_clears_and_presses_enter(tool: GeminiComputerTool, recorder: Any) -> None:
    point = grid(*await field_center(recorder, "text"))
    await ok(tool, "type_text_at", **point, text="old text", press_enter=False, clear_before_typing=False)
    await ok(tool, "type_text_at", **point, text="Grüße 🙂", press_enter=True)
    value = await eventually(
        lambda: recorder.evaluate("document.getElementById('text').value"), lambda v: v.endswith("\n")
    )
    assert value == "Grüße 🙂\n"
    await ok(tool, "key_combination", keys="control+a")
    await ok(tool, "key_combination", keys="Delete")
    assert await recorder.evaluate("document.getElementById('text').value") == ""


async def test_scrolls(tool: GeminiComputerTool, recorder: Any) -> None:
    point = grid(*await field_center(recorder, "pad"))

    async def total_dy() -> float:
        return sum(e["dy"] for e in await recorded(recorder, "wheel"))

    # 300 on the grid is 240 px of an 800 px screen: two notches of 120 px.
    await ok(tool, "scroll_at", **point, direction="down", magnitude=300)
    assert await eventually(total_dy, lambda total: total == 240) == 240
    await ok(tool, "scroll_document", direction="up")
    assert await eventually(total_dy, lambda total: total < 0) < 0


async def test_drag_and_drop(tool: GeminiComputerTool, recorder: Any) -> None:
    px, py = await field_center(recorder, "pad")
    start, end = grid(px - 100, py - 50), grid(px + 100, py + 50)
    await ok(tool, "drag_and_drop", **start, destination_x=end["x"], destination_y=end["y"])
    ups = await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 1)
    assert (ups[0]["screenX"], ups[0]["screenY"]) == on_screen(end)


async def test_browser_functions_drive_the_real_browser(tool: GeminiComputerTool, recorder: Any) -> None:
    await ok(tool, "open_web_browser")
    second = RECORDER + "?second"
    response = await ok(tool, "navigate", url=second)
    assert response.response is not None and response.response["url"] == second
    assert await recorder.evaluate("location.href") == second
    assert (await ok(tool, "search")).response == {"url": RECORDER + "?searched"}
    await ok(tool, "go_back")
    await eventually(lambda: recorder.evaluate("location.href"), lambda href: href == second)
    await ok(tool, "go_forward")
    await eventually(lambda: recorder.evaluate("location.href"), lambda href: href.endswith("?searched"))


async def test_wait_5_seconds_and_safety_acknowledgement(tool: GeminiComputerTool) -> None:
    response = await ok(tool, "wait_5_seconds", safety_decision={"decision": "require_confirmation"})
    assert response.response is not None and response.response["safety_acknowledgement"] == "true"


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("click_at", {"x": 1000, "y": 5}, "x must be a number from 0 to 999"),
        ("click_at", {"x": 5}, "y must be a number"),
        ("type_text_at", {"x": 5, "y": 5}, "text must be a string"),
        ("scroll_at", {"x": 5, "y": 5, "direction": "sideways"}, "direction"),
        ("scroll_at", {"x": 5, "y": 5, "direction": "down", "magnitude": 0}, "magnitude"),
        ("key_combination", {"keys": "control+warp"}, "unknown key name 'warp'"),
        ("key_combination", {}, "keys must be"),
        ("navigate", {"url": ""}, "url must be"),
        ("navigate", {"url": "http://"}, "url: cannot open 'http://'"),
        ("drag_and_drop", {"x": 1, "y": 1, "destination_x": 1}, "destination_y"),
        ("teleport", {}, "'teleport' is not a computer-use function"),
    ],
)
async def test_malformed_calls_come_back_as_error_responses(
    tool: GeminiComputerTool, name: str, args: dict[str, Any], reason: str
) -> None:
    response = await tool.execute(types.FunctionCall(name=name, args=args))
    assert response.name == name and response.response is not None
    assert reason in response.response["error"]
    assert response.parts  # the model still sees the screen as it is
    await ok(tool, "hover_at", x=10, y=10)  # and the sandbox keeps serving
