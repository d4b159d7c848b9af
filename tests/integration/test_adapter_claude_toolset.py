"""Claude's computer toolset (computer_toolset_20260801) on a real sandbox at 1920x1080.

Every member runs on the desktop through the anthropic package's own toolset machinery
(``tool_result`` on a ``BetaToolUseBlock`` with ``toolset_name: "computer"``), and its
effect is checked where it lands: the recorder page's events, the text in a field, the
real pointer, and the pixels of the images Claude gets back at FWXGA.
"""

from __future__ import annotations

import base64
import io
import itertools
from typing import Any

import pytest
from anthropic.types.beta import BetaToolUseBlock
from PIL import Image

from deskbox import AsyncSandbox
from deskbox.adapters import FWXGA, Scaler
from deskbox.adapters.anthropic import ClaudeTools
from deskbox.adapters.anthropic_toolset import ClaudeComputerToolset
from tests.helpers import CLICKS, eventually, field_center, recorded

pytestmark = pytest.mark.integration

SCREEN = (1920, 1080)
SCALER = Scaler.for_screen(*SCREEN)
MEMBERS = [
    "key",
    "hold_key",
    "type",
    "cursor_position",
    "mouse_move",
    "left_mouse_down",
    "left_mouse_up",
    "left_click",
    "left_click_drag",
    "right_click",
    "middle_click",
    "double_click",
    "triple_click",
    "scroll",
    "wait",
    "screenshot",
    "zoom",
]
_ids = itertools.count()


def member(name: str, **fields: Any) -> BetaToolUseBlock:
    """A member call as the API returns it."""
    return BetaToolUseBlock(
        type="tool_use", id=f"toolu_{next(_ids)}", name=name, input=fields, toolset_name="computer"
    )


def model_xy(screen_xy: tuple[int, int]) -> list[int]:
    return list(SCALER.to_model(*screen_xy))


def texts(result: Any) -> str:
    content = result["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content if b["type"] == "text")


def image_of(result: Any) -> Image.Image:
    blocks = [b for b in result["content"] if b["type"] == "image"]
    assert len(blocks) == 1, result
    return Image.open(io.BytesIO(base64.b64decode(blocks[0]["source"]["data"])))


@pytest.fixture
def toolset(sandbox: AsyncSandbox) -> ClaudeComputerToolset:
    return ClaudeComputerToolset(sandbox)


async def ok(toolset: ClaudeComputerToolset, block: BetaToolUseBlock) -> Any:
    result = await toolset.tool_result(block)
    assert not result.get("is_error"), result
    assert result["toolset_name"] == "computer" and result["tool_use_id"] == block.id
    return result


async def test_the_tools_entry_serves_every_member(toolset: ClaudeComputerToolset) -> None:
    entry = toolset.to_dict()
    assert entry["type"] == "computer_toolset_20260801"
    # The anthropic package sends `enabled: false` for any member a subclass leaves out.
    configs = entry.get("configs") or {}
    assert [name for name, config in configs.items() if config.get("enabled") is False] == []
    assert sorted(MEMBERS) == sorted(type(toolset).__dict__.keys() & set(MEMBERS))


async def test_screenshot_is_scaled_and_shows_the_page(toolset: ClaudeComputerToolset, recorder: Any) -> None:
    image = image_of(await ok(toolset, member("screenshot")))
    assert image.size == FWXGA
    red = SCALER.to_model(*await field_center(recorder, "target"))
    assert image.convert("RGB").getpixel(red) == (255, 0, 0)


async def test_zoom_fills_the_image_with_the_region(toolset: ClaudeComputerToolset, recorder: Any) -> None:
    cx, cy = await field_center(recorder, "target")
    region = [*SCALER.to_model(cx - 60, cy - 40), *SCALER.to_model(cx + 60, cy + 40)]
    image = image_of(await ok(toolset, member("zoom", region=region)))
    assert image.width == FWXGA[0] or image.height == FWXGA[1]
    colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is not None and max(colors)[1] == (255, 0, 0)


async def test_mouse_move_and_cursor_position(sandbox: AsyncSandbox, toolset: ClaudeComputerToolset) -> None:
    target = (1501, 733)
    result = await ok(toolset, member("mouse_move", coordinate=model_xy(target)))
    assert texts(result) == "Moved the mouse."  # an action is acknowledged, not pictured
    x, y = await sandbox.get_cursor_position()
    assert abs(x - target[0]) <= 1 and abs(y - target[1]) <= 1
    await sandbox.move_mouse(960, 540)
    assert texts(await ok(toolset, member("cursor_position"))) == "X=683,Y=384"


@pytest.mark.parametrize(("name", "button", "detail"), [(name, *spec) for name, spec in CLICKS.items()])
async def test_clicks_with_a_held_modifier(
    toolset: ClaudeComputerToolset, recorder: Any, name: str, button: int, detail: int
) -> None:
    pad_x, pad_y = await field_center(recorder, "pad")
    target = (pad_x - 150 + 40 * list(CLICKS).index(name), pad_y)
    await ok(toolset, member(name, coordinate=model_xy(target), text="ctrl+shift"))
    downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == detail)
    last = downs[-1]
    assert abs(last["screenX"] - target[0]) <= 1 and abs(last["screenY"] - target[1]) <= 1
    assert (last["button"], last["detail"], last["shift"], last["ctrl"]) == (button, detail, True, True)


async def test_a_click_without_a_coordinate_lands_at_the_pointer(
    toolset: ClaudeComputerToolset, recorder: Any
) -> None:
    target = await field_center(recorder, "pad")
    await ok(toolset, member("mouse_move", coordinate=model_xy(target)))
    await ok(toolset, member("left_click"))
    downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
    assert abs(downs[0]["screenX"] - target[0]) <= 1 and not downs[0]["shift"]


async def test_drag_and_mouse_down_up(toolset: ClaudeComputerToolset, recorder: Any) -> None:
    pad_x, pad_y = await field_center(recorder, "pad")
    start, end = (pad_x - 100, pad_y - 50), (pad_x + 120, pad_y + 60)
    await ok(toolset, member("left_click_drag", start_coordinate=model_xy(start), coordinate=model_xy(end)))
    ups = await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 1)
    downs = await recorded(recorder, "mousedown")
    assert abs(downs[0]["screenX"] - start[0]) <= 1 and abs(ups[0]["screenX"] - end[0]) <= 1

    await ok(toolset, member("mouse_move", coordinate=model_xy(start)))
    await ok(toolset, member("left_mouse_down"))
    await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 2)
    assert len(await recorded(recorder, "mouseup")) == 1
    await ok(toolset, member("left_mouse_up"))
    await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 2)


@pytest.mark.parametrize(("direction", "axis", "sign"), [("down", "dy", 1), ("left", "dx", -1)])
async def test_scroll(
    toolset: ClaudeComputerToolset, recorder: Any, direction: str, axis: str, sign: int
) -> None:
    target = await field_center(recorder, "pad")
    result = await ok(
        toolset,
        member(
            "scroll", coordinate=model_xy(target), scroll_direction=direction, scroll_amount=2, text="shift"
        ),
    )
    assert texts(result) == f"Scrolled {direction}."
    wheels = await eventually(lambda: recorded(recorder, "wheel"), lambda e: len(e) >= 2)
    assert all(w["shift"] for w in wheels) and abs(wheels[0]["screenX"] - target[0]) <= 1
    # Shift turns a vertical wheel sideways in Chromium, so only the sign is checked on either axis.
    assert all((w["dx"] + w["dy"]) * sign > 0 for w in wheels), (axis, wheels)


async def test_type_key_hold_key_and_wait(toolset: ClaudeComputerToolset, recorder: Any) -> None:
    await ok(toolset, member("left_click", coordinate=model_xy(await field_center(recorder, "text"))))
    await eventually(lambda: recorder.evaluate("document.activeElement.id"), lambda v: v == "text")
    assert texts(await ok(toolset, member("type", text="Grüße, 世界 🙂"))) == "Typed."
    value = await eventually(
        lambda: recorder.evaluate("document.getElementById('text').value"), lambda v: v == "Grüße, 世界 🙂"
    )
    assert value == "Grüße, 世界 🙂"
    await ok(toolset, member("key", text="ctrl+a BackSpace"))
    await ok(toolset, member("type", text="abc"))
    await ok(toolset, member("key", text="Left", repeat=2))
    assert texts(await ok(toolset, member("hold_key", text="shift", duration=1))) == "Held shift for 1s."
    await ok(toolset, member("type", text="X"))
    assert texts(await ok(toolset, member("wait", duration=0))) == "Waited 0s."
    field_value = "document.getElementById('text').value"
    await eventually(lambda: recorder.evaluate(field_value), lambda v: v == "aXbc")
    assert [e["key"] for e in await recorded(recorder, "keydown")].count("Shift") > 1


@pytest.mark.parametrize(
    ("name", "tool_input", "reason"),
    [
        ("left_click", {"coordinate": [1366, 10]}, "x=1366 is outside the 1366x768 screen"),
        ("mouse_move", {"coordinate": [5]}, "coordinate"),
        ("mouse_move", {}, "coordinate"),
        ("key", {"text": "ctrl+nosuchkey"}, "nosuchkey"),
        ("scroll", {"scroll_direction": "down", "scroll_amount": 0}, "scroll_amount"),
        ("scroll", {"scroll_direction": "diagonal", "scroll_amount": 1}, "scroll_direction"),
        ("zoom", {"region": [10, 10, 5, 5]}, "x1 > x0"),
        ("type", {"text": 5}, "text"),
        ("teleport", {}, "teleport"),
    ],
)
async def test_bad_member_calls_are_error_results(
    sandbox: AsyncSandbox, toolset: ClaudeComputerToolset, name: str, tool_input: dict[str, Any], reason: str
) -> None:
    result = await toolset.tool_result(member(name, **tool_input))
    assert result["is_error"] is True and result["toolset_name"] == "computer"
    assert reason in texts(result), texts(result)
    assert await sandbox.get_screen_size() == SCREEN  # still serving


async def test_confirm_can_refuse_a_call(sandbox: AsyncSandbox) -> None:
    asked: list[str] = []

    def refuse_typing(context: Any) -> bool:
        asked.append(context.member)
        return context.member != "type"

    toolset = ClaudeComputerToolset(sandbox, confirm=refuse_typing)
    refused = await toolset.tool_result(member("type", text="nope"))
    assert refused["is_error"] is True
    await ok(toolset, member("cursor_position"))
    assert asked == ["type", "cursor_position"]


async def test_claude_tools_dispatches_toolset_members_and_bash(sandbox: AsyncSandbox) -> None:
    tools = ClaudeTools(sandbox, version="computer_toolset_20260801")
    try:
        definitions = await tools.definitions()
        assert [d["type"] for d in definitions] == ["computer_toolset_20260801", "bash_20250124"]
        assert tools.betas == []
        await sandbox.move_mouse(960, 540)
        content = [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_a", "name": "cursor_position", "toolset_name": "computer"},
            member("mouse_move", coordinate=[10, 10]),
            {"type": "tool_use", "id": "toolu_b", "name": "bash", "input": {"command": "echo hi"}},
            {"type": "tool_use", "id": "toolu_c", "name": "zoom", "input": {}, "toolset_name": "browser"},
        ]
        results = await tools.run(content)
        assert [r["tool_use_id"] for r in results][0::2] == ["toolu_a", "toolu_b"]
        assert texts(results[0]) == "X=683,Y=384" and texts(results[1]) == "Moved the mouse."
        assert texts(results[2]).strip() == "hi"
        assert results[3]["is_error"] is True and "no toolset named 'browser'" in texts(results[3])
        # The toolset is GA, so the non-beta client's blocks come too.
        from anthropic.types import ToolUseBlock

        await sandbox.move_mouse(960, 540)
        plain = ToolUseBlock(
            type="tool_use", id="toolu_d", name="cursor_position", input={}, toolset_name="computer"
        )
        assert texts(await tools.execute(plain)) == "X=683,Y=384"
    finally:
        await tools.close()


async def test_the_anthropic_tool_runner_drives_the_toolset(sandbox: AsyncSandbox) -> None:
    """The anthropic package's own tool runner, against a local stand-in for the Messages
    API (the real one needs a key and a network): the runner sends the toolset's entry,
    routes each member block to the toolset, and sends its results back."""
    import json

    import anthropic
    import httpx2  # the HTTP client the anthropic package is built on

    target = (1200, 700)
    turns = [
        [
            {"type": "text", "text": "Moving, then looking."},
            {
                "type": "tool_use",
                "id": "toolu_run_1",
                "name": "mouse_move",
                "input": {"coordinate": model_xy(target)},
                "toolset_name": "computer",
            },
            {
                "type": "tool_use",
                "id": "toolu_run_2",
                "name": "screenshot",
                "input": {},
                "toolset_name": "computer",
            },
        ],
        [{"type": "text", "text": "Done."}],
    ]
    requests: list[dict[str, Any]] = []

    def messages_api(request: httpx2.Request) -> httpx2.Response:
        requests.append(json.loads(request.content))
        content = turns[len(requests) - 1]
        message = {
            "id": f"msg_{len(requests)}",
            "type": "message",
            "role": "assistant",
            "model": "claude-stand-in",
            "content": content,
            "stop_reason": "tool_use" if len(content) > 1 else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
        return httpx2.Response(200, json=message)

    client = anthropic.AsyncAnthropic(
        api_key="stand-in", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(messages_api))
    )
    toolset = ClaudeComputerToolset(sandbox)
    runner = client.beta.messages.tool_runner(
        model="claude-stand-in",
        max_tokens=1024,
        messages=[{"role": "user", "content": "Move the pointer and look."}],
        tools=[toolset],
    )
    final = await runner.until_done()
    assert final.content[0].type == "text" and final.content[0].text == "Done."
    x, y = await sandbox.get_cursor_position()
    assert abs(x - target[0]) <= 1 and abs(y - target[1]) <= 1
    assert requests[0]["tools"] == [{"type": "computer_toolset_20260801"}]
    results = requests[1]["messages"][-1]["content"]
    assert [(r["tool_use_id"], r["toolset_name"]) for r in results] == [
        ("toolu_run_1", "computer"),
        ("toolu_run_2", "computer"),
    ]
    assert results[0]["content"][0]["text"] == "Moved the mouse."
    image = results[1]["content"][0]
    assert image["type"] == "image"
    shot = Image.open(io.BytesIO(base64.b64decode(image["source"]["data"])))
    assert shot.size == FWXGA
