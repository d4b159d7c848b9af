"""OpenAI's computer tool on a real sandbox: both call forms, every action, real effects."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from openai.types.responses import ResponseComputerToolCall
from PIL import Image

from deskbox import AsyncSandbox
from deskbox.adapters.openai import OpenAIComputerTool
from tests.helpers import eventually, field_center, recorded

pytestmark = pytest.mark.integration

SCREEN = (1280, 800)


def preview_call(action: dict[str, Any], **extra: Any) -> ResponseComputerToolCall:
    return ResponseComputerToolCall.model_validate(
        {
            "type": "computer_call",
            "id": "cu_1",
            "call_id": "call_1",
            "status": "completed",
            "pending_safety_checks": [],
            "action": action,
            **extra,
        }
    )


def batch_call(*actions: dict[str, Any]) -> ResponseComputerToolCall:
    return ResponseComputerToolCall.model_validate(
        {
            "type": "computer_call",
            "id": "cu_2",
            "call_id": "call_2",
            "status": "completed",
            "pending_safety_checks": [],
            "actions": list(actions),
        }
    )


def screenshot_of(item: Any) -> Image.Image:
    assert item["type"] == "computer_call_output"
    url = item["output"]["image_url"]
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


async def ok(tool: OpenAIComputerTool, call: Any) -> dict[str, Any]:
    items = await tool.execute(call)
    assert len(items) == 1, items
    item: dict[str, Any] = dict(items[0])
    assert item["call_id"] == (call.call_id if hasattr(call, "call_id") else call["call_id"])
    assert "status" not in item
    return item


@pytest.fixture
def tool(sandbox: AsyncSandbox) -> OpenAIComputerTool:
    return OpenAIComputerTool(sandbox)


async def test_definitions(sandbox: AsyncSandbox) -> None:
    assert await OpenAIComputerTool(sandbox).definition() == {"type": "computer"}
    preview = OpenAIComputerTool(sandbox, tool="computer_use_preview", environment="ubuntu")
    assert await preview.definition() == {
        "type": "computer_use_preview",
        "display_width": 1280,
        "display_height": 800,
        "environment": "ubuntu",
    }


async def test_screenshot_comes_back_as_call_output(tool: OpenAIComputerTool, recorder: Any) -> None:
    image = screenshot_of(await ok(tool, preview_call({"type": "screenshot"})))
    assert image.size == SCREEN
    assert image.convert("RGB").getpixel(await field_center(recorder, "target")) == (255, 0, 0)


@pytest.mark.parametrize(
    ("button", "dom_button"), [("left", 0), ("right", 2), ("wheel", 1), ("back", 3), ("forward", 4)]
)
async def test_click_buttons_with_held_keys(
    tool: OpenAIComputerTool, recorder: Any, button: str, dom_button: int
) -> None:
    x, y = await field_center(recorder, "pad")
    x += 25 * ["left", "right", "wheel", "back", "forward"].index(button)
    await ok(
        tool, preview_call({"type": "click", "button": button, "x": x, "y": y, "keys": ["CTRL", "SHIFT"]})
    )
    downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
    assert (downs[0]["screenX"], downs[0]["screenY"], downs[0]["button"]) == (x, y, dom_button)
    assert downs[0]["ctrl"] and downs[0]["shift"]


async def test_batched_actions_run_in_order(tool: OpenAIComputerTool, recorder: Any) -> None:
    tx, ty = await field_center(recorder, "text")
    item = await ok(
        tool,
        batch_call(
            {"type": "click", "button": "left", "x": tx, "y": ty},
            {"type": "type", "text": "✓ hello wörld"},
            {"type": "keypress", "keys": ["CTRL", "SHIFT", "ARROWLEFT"]},
            {"type": "keypress", "keys": ["BACKSPACE"]},
            {"type": "type", "text": "there"},
            {"type": "keypress", "keys": ["HOME"]},
            {"type": "keypress", "keys": ["SHIFT", "END"]},
            {"type": "keypress", "keys": ["CTRL", "C"]},
            {"type": "keypress", "keys": ["END"]},
            {"type": "keypress", "keys": ["ENTER"]},
            {"type": "keypress", "keys": ["CTRL", "V"]},
            {"type": "screenshot"},
        ),
    )
    assert screenshot_of(item).size == SCREEN
    value = await eventually(
        lambda: recorder.evaluate("document.getElementById('text').value"), lambda v: v.count("there") == 2
    )
    assert value == "✓ hello there\n✓ hello there"


async def test_double_click_move_drag_and_wait(
    sandbox: AsyncSandbox, tool: OpenAIComputerTool, recorder: Any
) -> None:
    px, py = await field_center(recorder, "pad")
    await ok(tool, preview_call({"type": "double_click", "x": px - 100, "y": py}))
    await eventually(lambda: recorded(recorder, "dblclick"), lambda e: len(e) == 1)
    await ok(tool, preview_call({"type": "move", "x": px + 7, "y": py + 9}))
    assert await sandbox.get_cursor_position() == (px + 7, py + 9)
    path = [{"x": px - 50, "y": py - 50}, {"x": px, "y": py + 40}, {"x": px + 90, "y": py + 60}]
    await ok(tool, preview_call({"type": "drag", "path": path}))
    ups = await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 3)
    downs = await recorded(recorder, "mousedown")
    assert (downs[-1]["screenX"], downs[-1]["screenY"]) == (px - 50, py - 50)
    assert (ups[-1]["screenX"], ups[-1]["screenY"]) == (px + 90, py + 60)
    # The pointer went through the middle point (the path is in page coordinates).
    frame_x, frame_y = downs[-1]["screenX"] - downs[-1]["x"], downs[-1]["screenY"] - downs[-1]["y"]
    visited = await recorder.evaluate("window.path")
    assert [px - frame_x, py + 40 - frame_y] in visited
    await ok(tool, preview_call({"type": "wait"}))


@pytest.mark.parametrize(
    ("scroll_x", "scroll_y", "wheels"), [(0, 360, 3), (0, -120, 1), (240, 0, 2), (0, 10, 1)]
)
async def test_scroll_pixels_become_notches(
    tool: OpenAIComputerTool, recorder: Any, scroll_x: int, scroll_y: int, wheels: int
) -> None:
    px, py = await field_center(recorder, "pad")
    await ok(
        tool, preview_call({"type": "scroll", "x": px, "y": py, "scroll_x": scroll_x, "scroll_y": scroll_y})
    )
    # Chromium reports 120 per notch, and may merge notches into one event.
    expected = (120 * wheels * (scroll_x > 0), 120 * wheels * ((scroll_y > 0) - (scroll_y < 0)))

    async def totals() -> tuple[float, float]:
        events = await recorded(recorder, "wheel")
        return sum(e["dx"] for e in events), sum(e["dy"] for e in events)

    assert await eventually(totals, lambda t: t == expected) == expected


async def test_safety_checks_need_approval(sandbox: AsyncSandbox, recorder: Any) -> None:
    x, y = await field_center(recorder, "pad")
    checks = [{"id": "sc_1", "code": "malicious_instructions", "message": "the page asks for secrets"}]
    action = {"type": "click", "button": "left", "x": x, "y": y}

    refused = await OpenAIComputerTool(sandbox).execute(preview_call(action, pending_safety_checks=checks))
    assert [i["type"] for i in refused] == ["computer_call_output", "message"]
    assert "the page asks for secrets" in refused[1]["content"][0]["text"]  # type: ignore[index, typeddict-item]
    assert await recorded(recorder, "mousedown") == []  # refused calls are not run

    seen: list[Any] = []
    approving = OpenAIComputerTool(sandbox, on_safety_check=lambda c: seen.append(c) or True)
    items = await approving.execute(preview_call(action, pending_safety_checks=checks))
    assert items[0]["acknowledged_safety_checks"][0]["id"] == "sc_1"  # type: ignore[typeddict-item]
    assert seen and seen[0][0]["code"] == "malicious_instructions"
    await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "click", "x": 5000, "y": 5}},
            "x=5000 is outside",
        ),
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "click", "x": 5}},
            "y must be a number",
        ),
        (
            {
                "type": "computer_call",
                "call_id": "c",
                "action": {"type": "click", "x": 1, "y": 1, "button": "thumb"},
            },
            "button",
        ),
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "teleport"}},
            "'teleport' is not a computer action",
        ),
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "keypress", "keys": []}},
            "keys must be",
        ),
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "keypress", "keys": ["NOPE"]}},
            "unknown key name",
        ),
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "drag", "path": [{"x": 1, "y": 1}]}},
            "at least two",
        ),
        (
            {
                "type": "computer_call",
                "call_id": "c",
                "action": {"type": "scroll", "x": 1, "y": 1, "scroll_y": "a"},
            },
            "scroll_y",
        ),
        (
            {"type": "computer_call", "call_id": "c", "action": {"type": "type", "text": 5}},
            "text must be a string",
        ),
        ({"type": "computer_call", "call_id": "c"}, "neither an 'action'"),
        (
            {"type": "computer_call", "call_id": "c", "actions": [{"type": "move", "x": 1, "y": 1}, 7]},
            "actions[1]",
        ),
        ({"type": "computer_call", "action": {"type": "screenshot"}}, "call_id"),
    ],
)
async def test_malformed_calls_come_back_as_tool_errors(
    tool: OpenAIComputerTool, call: dict[str, Any], reason: str
) -> None:
    items = await tool.execute(call)
    message = items[-1]
    assert message["type"] == "message" and message["role"] == "user"  # type: ignore[typeddict-item]
    assert reason in message["content"][0]["text"]  # type: ignore[index, typeddict-item]
    if call.get("call_id"):  # the call still gets its output, so the conversation stays valid
        assert items[0]["status"] == "incomplete"  # type: ignore[typeddict-item]
        assert screenshot_of(items[0]).size == SCREEN
    # And the sandbox keeps serving.
    assert screenshot_of(await ok(tool, preview_call({"type": "screenshot"}))).size == SCREEN


async def test_a_failing_batch_stops_at_the_bad_action(tool: OpenAIComputerTool, recorder: Any) -> None:
    x, y = await field_center(recorder, "pad")
    items = await tool.execute(
        batch_call(
            {"type": "click", "button": "left", "x": x, "y": y},
            {"type": "click", "button": "left", "x": 99999, "y": 0},
        )
    )
    assert "actions[1]" in items[-1]["content"][0]["text"]  # type: ignore[index, typeddict-item]
    assert await recorded(recorder, "mousedown") == []  # checked before anything ran


async def test_a_long_scroll_moves_its_full_distance(tool: OpenAIComputerTool, recorder: Any) -> None:
    # A burst of notches used to be folded into one smooth-scroll animation that lost
    # most of them; spaced notches each move the page their 120 px.
    await recorder.set_content("<body style='margin:0;height:20000px'>tall</body>")
    await recorder.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    x, y = 640, 500
    await ok(tool, preview_call({"type": "scroll", "x": x, "y": y, "scroll_x": 0, "scroll_y": 1800}))
    top = await eventually(lambda: recorder.evaluate("window.scrollY"), lambda v: v >= 1800)
    assert top == 1800


async def test_typing_right_after_a_click_goes_to_the_clicked_field(
    tool: OpenAIComputerTool, recorder: Any
) -> None:
    # Chromium hit-tests clicks asynchronously but sends keys straight to the focused
    # field, so keys sent right behind a click used to land in the field before.
    text_x, text_y = await field_center(recorder, "text")
    line_x, line_y = await field_center(recorder, "line")
    for round_ in range(5):
        await ok(
            tool,
            batch_call(
                {"type": "click", "button": "left", "x": text_x, "y": text_y},
                {"type": "type", "text": f"a{round_}"},
                {"type": "click", "button": "left", "x": line_x, "y": line_y},
                {"type": "type", "text": f"b{round_}"},
            ),
        )
    values = await recorder.evaluate(
        "[document.getElementById('text').value, document.getElementById('line').value]"
    )
    assert values == ["a0a1a2a3a4", "b0b1b2b3b4"]
