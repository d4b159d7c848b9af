"""Claude's computer and bash tools on a real sandbox at 1920x1080, shown to Claude at FWXGA.

Every action of every tool version runs on the desktop, and its effect is checked where it
lands: the recorder page's events (screen coordinates, buttons, modifiers), the text in a
field, the real pointer, and the pixels of the images Claude gets back.
"""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import pytest
from anthropic.types.beta import BetaToolUseBlock
from PIL import Image

from deskbox import AsyncSandbox
from deskbox.adapters import FWXGA, Scaler
from deskbox.adapters.anthropic import ClaudeBashTool, ClaudeComputerTool, ClaudeTools
from tests.helpers import CLICKS, eventually, field_center, recorded

pytestmark = pytest.mark.integration

SCREEN = (1920, 1080)
SCALER = Scaler.for_screen(*SCREEN)
VERSIONS = ["computer_20241022", "computer_20250124", "computer_20251124"]


def call(action: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": f"toolu_{action}",
        "name": "computer",
        "input": {"action": action, **fields},
    }


def image_of(result: Any) -> Image.Image:
    blocks = [b for b in result["content"] if b["type"] == "image"]
    assert len(blocks) == 1, result
    return Image.open(io.BytesIO(base64.b64decode(blocks[0]["source"]["data"])))


def text_of(result: Any) -> str:
    content = result["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content if b["type"] == "text")


def model_xy(screen_xy: tuple[int, int]) -> list[int]:
    return list(SCALER.to_model(*screen_xy))


async def ok(tool: ClaudeComputerTool, block: dict[str, Any]) -> Any:
    result = await tool.execute(block)
    assert not result.get("is_error"), result
    return result


@pytest.fixture
def tools(sandbox: AsyncSandbox) -> dict[str, ClaudeComputerTool]:
    return {version: ClaudeComputerTool(sandbox, version=version) for version in VERSIONS}  # type: ignore[arg-type]


async def test_definitions_are_sized_to_what_claude_sees(tools: dict[str, ClaudeComputerTool]) -> None:
    for version, tool in tools.items():
        definition = await tool.definition()
        assert definition["type"] == version and definition["name"] == "computer"
        assert (definition["display_width_px"], definition["display_height_px"]) == FWXGA
    assert (await tools["computer_20251124"].definition())["enable_zoom"] is True  # type: ignore[typeddict-item]
    assert tools["computer_20251124"].beta == "computer-use-2025-11-24"


async def test_screenshot_is_scaled_to_fwxga(tools: dict[str, ClaudeComputerTool], recorder: Any) -> None:
    image = image_of(await ok(tools["computer_20241022"], call("screenshot")))
    assert image.size == FWXGA
    # The red target on the page shows at its scaled place in what Claude sees.
    red = SCALER.to_model(*await field_center(recorder, "target"))
    assert image.convert("RGB").getpixel(red) == (255, 0, 0)


@pytest.mark.parametrize("version", VERSIONS)
async def test_mouse_move_lands_on_the_mapped_pixel(
    sandbox: AsyncSandbox, tools: dict[str, ClaudeComputerTool], version: str
) -> None:
    target = (1501, 733)
    result = await ok(tools[version], call("mouse_move", coordinate=model_xy(target)))
    assert image_of(result).size == FWXGA  # every action answers with the screen after it
    x, y = await sandbox.get_cursor_position()
    assert abs(x - target[0]) <= 1 and abs(y - target[1]) <= 1


@pytest.mark.parametrize(("action", "button", "detail"), [(name, *spec) for name, spec in CLICKS.items()])
@pytest.mark.parametrize("modifier_field", ["text", "key"])
async def test_clicks_with_held_modifiers(
    tools: dict[str, ClaudeComputerTool],
    recorder: Any,
    action: str,
    button: int,
    detail: int,
    modifier_field: str,
) -> None:
    # Each case clicks elsewhere: presses at one spot within 500 ms would rightly
    # continue the last case's click count.
    pad_x, pad_y = await field_center(recorder, "pad")
    offset = 30 * list(CLICKS).index(action) + (15 if modifier_field == "key" else 0)
    target = (pad_x - 150 + offset, pad_y)
    await ok(
        tools["computer_20250124"],
        call(action, coordinate=model_xy(target), **{modifier_field: "shift+ctrl"}),
    )
    downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == detail)
    last = downs[-1]
    assert abs(last["screenX"] - target[0]) <= 1 and abs(last["screenY"] - target[1]) <= 1
    assert (last["button"], last["detail"], last["shift"], last["ctrl"], last["alt"]) == (
        button,
        detail,
        True,
        True,
        False,
    )


async def test_first_version_clicks_where_the_pointer_is(
    tools: dict[str, ClaudeComputerTool], recorder: Any
) -> None:
    target = await field_center(recorder, "pad")
    tool = tools["computer_20241022"]
    await ok(tool, call("mouse_move", coordinate=model_xy(target)))
    await ok(tool, call("left_click"))
    downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
    assert abs(downs[0]["screenX"] - target[0]) <= 1 and not downs[0]["shift"]


async def test_drags_in_both_forms(tools: dict[str, ClaudeComputerTool], recorder: Any) -> None:
    pad_x, pad_y = await field_center(recorder, "pad")
    start, end = (pad_x - 100, pad_y - 50), (pad_x + 120, pad_y + 60)
    await ok(tools["computer_20241022"], call("mouse_move", coordinate=model_xy(start)))
    await ok(tools["computer_20241022"], call("left_click_drag", coordinate=model_xy(end)))
    await ok(
        tools["computer_20251124"],
        call("left_click_drag", start_coordinate=model_xy(end), coordinate=model_xy(start), text="shift"),
    )
    ups = await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 2)
    downs = await recorded(recorder, "mousedown")
    for down, up, (sx, sy), (ex, ey) in ((downs[0], ups[0], start, end), (downs[1], ups[1], end, start)):
        assert abs(down["screenX"] - sx) <= 1 and abs(down["screenY"] - sy) <= 1
        assert abs(up["screenX"] - ex) <= 1 and abs(up["screenY"] - ey) <= 1
    # Shift, not alt: the window manager takes alt+drag to move windows, as desktops do.
    assert downs[1]["shift"] and not downs[0]["shift"]


async def test_mouse_down_and_up(tools: dict[str, ClaudeComputerTool], recorder: Any) -> None:
    target = await field_center(recorder, "pad")
    tool = tools["computer_20250124"]
    await ok(tool, call("mouse_move", coordinate=model_xy(target)))
    await ok(tool, call("left_mouse_down"))
    await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
    assert await recorded(recorder, "mouseup") == []
    await ok(tool, call("left_mouse_up"))
    await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 1)


@pytest.mark.parametrize(
    ("direction", "axis", "sign"), [("down", "dy", 1), ("up", "dy", -1), ("right", "dx", 1)]
)
async def test_scroll_with_a_held_modifier(
    tools: dict[str, ClaudeComputerTool], recorder: Any, direction: str, axis: str, sign: int
) -> None:
    target = await field_center(recorder, "pad")
    block = call(
        "scroll", coordinate=model_xy(target), scroll_direction=direction, scroll_amount=2, text="ctrl"
    )
    await ok(tools["computer_20250124"], block)
    wheels = await eventually(lambda: recorded(recorder, "wheel"), lambda e: len(e) >= 2)
    assert all(w[axis] * sign > 0 and w["ctrl"] for w in wheels)
    assert abs(wheels[0]["screenX"] - target[0]) <= 1


async def test_type_key_and_hold_key(tools: dict[str, ClaudeComputerTool], recorder: Any) -> None:
    tool = tools["computer_20250124"]
    await ok(tool, call("left_click", coordinate=model_xy(await field_center(recorder, "text"))))
    await eventually(lambda: recorder.evaluate("document.activeElement.id"), lambda v: v == "text")
    await ok(tool, call("type", text="Grüße, 世界 🙂\nzweite"))
    await ok(tool, call("key", text="ctrl+a BackSpace"))
    await ok(tool, call("type", text="abc"))
    await ok(tool, call("key", text="Left", repeat=2))
    await ok(tool, call("hold_key", text="shift", duration=1))
    await ok(tool, call("type", text="X"))
    value = await eventually(
        lambda: recorder.evaluate("document.getElementById('text').value"), lambda v: v == "aXbc"
    )
    assert value == "aXbc"
    downs = [e["key"] for e in await recorded(recorder, "keydown")]
    assert downs.count("Shift") > 1  # held: the key repeats while down


async def test_wait_and_cursor_position(sandbox: AsyncSandbox, tools: dict[str, ClaudeComputerTool]) -> None:
    tool = tools["computer_20250124"]
    await sandbox.move_mouse(960, 540)
    result = await ok(tool, call("cursor_position"))
    assert text_of(result) == "X=683,Y=384"  # 960,540 on the screen is 683,384 at FWXGA
    await ok(tool, call("wait", duration=0.2))


async def test_zoom_shows_the_region_at_full_size(
    tools: dict[str, ClaudeComputerTool], recorder: Any
) -> None:
    cx, cy = await field_center(recorder, "target")
    left, top = SCALER.to_model(cx - 60, cy - 40)
    right, bottom = SCALER.to_model(cx + 60, cy + 40)
    image = image_of(await ok(tools["computer_20251124"], call("zoom", region=[left, top, right, bottom])))
    assert image.width == FWXGA[0] or image.height == FWXGA[1]  # scaled up to fill the budget
    colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is not None and max(colors)[1] == (255, 0, 0)  # the region is inside the red target


async def test_zoom_is_off_when_disabled(sandbox: AsyncSandbox) -> None:
    tool = ClaudeComputerTool(sandbox, version="computer_20251124", enable_zoom=False)
    result = await tool.execute(call("zoom", region=[0, 0, 10, 10]))
    assert result["is_error"] is True and "unknown action 'zoom'" in text_of(result)
    assert (await tool.definition())["enable_zoom"] is False  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("version", "tool_input", "reason"),
    [
        ("computer_20241022", {"action": "scroll", "scroll_direction": "down"}, "unknown action 'scroll'"),
        ("computer_20241022", {"action": "triple_click"}, "unknown action 'triple_click'"),
        ("computer_20250124", {"action": "zoom", "region": [0, 0, 5, 5]}, "unknown action 'zoom'"),
        ("computer_20250124", {"action": "fly"}, "unknown action 'fly'"),
        ("computer_20250124", {}, "unknown action None"),
        ("computer_20250124", "screenshot", "must be an object"),
        ("computer_20250124", {"action": "left_click", "coordinate": [1366, 10]}, "x=1366 is outside"),
        ("computer_20250124", {"action": "left_click", "coordinate": [-1, 10]}, "x=-1 is outside"),
        ("computer_20250124", {"action": "left_click", "coordinate": [10]}, "coordinate must be [x, y]"),
        ("computer_20250124", {"action": "left_click", "coordinate": ["a", 1]}, "x must be a number"),
        ("computer_20250124", {"action": "mouse_move"}, "coordinate must be [x, y]"),
        (
            "computer_20250124",
            {"action": "left_click_drag", "coordinate": [5, 5], "start_coordinate": 3},
            "start_coordinate",
        ),
        ("computer_20250124", {"action": "type"}, "text must be a non-empty string"),
        ("computer_20250124", {"action": "key", "text": "ctrl+nosuchkey"}, "unknown key name 'nosuchkey'"),
        ("computer_20250124", {"action": "left_click", "text": "hyperdrive"}, "hyperdrive"),
        (
            "computer_20250124",
            {"action": "scroll", "scroll_direction": "sideways", "scroll_amount": 1},
            "scroll_direction",
        ),
        (
            "computer_20250124",
            {"action": "scroll", "scroll_direction": "down", "scroll_amount": 0},
            "scroll_amount",
        ),
        ("computer_20250124", {"action": "hold_key", "text": "shift", "duration": 3600}, "duration"),
        ("computer_20250124", {"action": "wait", "duration": -1}, "duration"),
        ("computer_20251124", {"action": "zoom", "region": [10, 10, 5, 5]}, "x1 > x0"),
        ("computer_20251124", {"action": "zoom", "region": [0, 0]}, "region must be [x0, y0, x1, y1]"),
    ],
)
async def test_malformed_calls_come_back_as_error_results(
    sandbox: AsyncSandbox, version: str, tool_input: Any, reason: str
) -> None:
    tool = ClaudeComputerTool(sandbox, version=version)  # type: ignore[arg-type]
    result = await tool.execute(
        {"type": "tool_use", "id": "toolu_bad", "name": "computer", "input": tool_input}
    )
    assert result["is_error"] is True and result["tool_use_id"] == "toolu_bad"
    assert reason in text_of(result)
    # The sandbox keeps serving after every refused call.
    assert (await tool.execute(call("screenshot"))).get("is_error") is None


async def test_bash_keeps_state_merges_stderr_and_restarts(sandbox: AsyncSandbox) -> None:
    bash = ClaudeBashTool(sandbox, timeout=3)
    try:
        block = {"id": "toolu_bash", "name": "bash", "input": {"command": "cd /tmp && export GREETING=héllo"}}
        assert (await bash.execute(block))["content"] == "(no output)"
        result = await bash.execute(
            {**block, "input": {"command": "pwd; echo $GREETING; echo oops >&2; false"}}
        )
        assert result["content"] == "/tmp\nhéllo\noops\n[exit code 1]"
        printf = await bash.execute({**block, "input": {"command": "printf no-newline"}})
        assert printf["content"] == "no-newline"
        slow = await bash.execute({**block, "input": {"command": "sleep 30"}})
        assert slow["is_error"] and "timed out" in text_of(slow)
        broken = await bash.execute({**block, "input": {"command": "echo after"}})
        assert broken["is_error"] and "restart" in text_of(broken)
        assert "restarted" in (await bash.execute({**block, "input": {"restart": True}}))["content"]
        fresh = await bash.execute({**block, "input": {"command": "pwd; echo ${GREETING:-unset}"}})
        assert fresh["content"] != "/tmp\nhéllo\n" and fresh["content"].endswith("unset\n")
        bad = await bash.execute({**block, "input": {"cmd": "ls"}})
        assert bad["is_error"] and "command must be a non-empty string" in text_of(bad)
    finally:
        await bash.close()


async def test_toolset_answers_every_tool_use_block(sandbox: AsyncSandbox) -> None:
    tools = ClaudeTools(sandbox, version="computer_20251124")
    try:
        assert [t["name"] for t in await tools.definitions()] == ["computer", "bash"]
        assert tools.betas == ["computer-use-2025-11-24"]
        content = [
            BetaToolUseBlock(
                type="tool_use", id="toolu_1", name="bash", input={"command": "echo $((6 * 7))"}
            ),
            BetaToolUseBlock(
                type="tool_use", id="toolu_2", name="computer", input={"action": "cursor_position"}
            ),
            BetaToolUseBlock(type="tool_use", id="toolu_3", name="str_replace_editor", input={}),
        ]
        results = await tools.run(content)
        assert [r["tool_use_id"] for r in results] == ["toolu_1", "toolu_2", "toolu_3"]
        assert results[0]["content"] == "42\n"
        assert text_of(results[1]).startswith("X=")
        assert results[2]["is_error"] and "no tool named 'str_replace_editor'" in text_of(results[2])
    finally:
        await tools.close()


def every_action() -> list[tuple[str, str]]:
    from deskbox.adapters.anthropic import ACTIONS

    return [(version, action) for version in VERSIONS for action in sorted(ACTIONS[version])]


@pytest.mark.parametrize(("version", "action"), every_action())
async def test_every_action_of_every_version(
    sandbox: AsyncSandbox, recorder: Any, version: str, action: str
) -> None:
    """Each action each version has, run on the desktop, and its effect seen where it lands."""
    tool = ClaudeComputerTool(sandbox, version=version)  # type: ignore[arg-type]
    pad = await field_center(recorder, "pad")
    at = model_xy(pad)
    clicks = {"left_click": (0, 1), "right_click": (2, 1), "middle_click": (1, 1), "double_click": (0, 2)}
    clicks["triple_click"] = (0, 3)
    if action in clicks:
        button, detail = clicks[action]
        fields = {"coordinate": at} if version != "computer_20241022" else {}
        await sandbox.move_mouse(*pad)
        await ok(tool, call(action, **fields))
        downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == detail)
        assert (downs[-1]["button"], downs[-1]["detail"]) == (button, detail)
        assert abs(downs[-1]["screenX"] - pad[0]) <= 1
    elif action == "mouse_move":
        await ok(tool, call(action, coordinate=at))
        x, y = await sandbox.get_cursor_position()
        assert abs(x - pad[0]) <= 1 and abs(y - pad[1]) <= 1
    elif action == "left_click_drag":
        end = (pad[0] + 60, pad[1] + 40)
        await sandbox.move_mouse(*pad)
        fields = {"start_coordinate": at} if version != "computer_20241022" else {}
        await ok(tool, call(action, coordinate=model_xy(end), **fields))
        ups = await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 1)
        assert abs(ups[0]["screenX"] - end[0]) <= 1 and abs(ups[0]["screenY"] - end[1]) <= 1
    elif action in ("left_mouse_down", "left_mouse_up"):
        await sandbox.move_mouse(*pad)
        await ok(tool, call("left_mouse_down"))
        await ok(tool, call("left_mouse_up"))
        await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 1)
        assert len(await recorded(recorder, "mousedown")) == 1
    elif action == "scroll":
        await ok(tool, call(action, coordinate=at, scroll_direction="down", scroll_amount=1))
        await eventually(lambda: recorded(recorder, "wheel"), lambda e: len(e) >= 1)
    elif action in ("key", "type", "hold_key"):
        await sandbox.left_click(*await field_center(recorder, "text"))
        await eventually(lambda: recorder.evaluate("document.activeElement.id"), lambda v: v == "text")
        fields = {
            "key": {"text": "ctrl+b"},
            "type": {"text": "é✓"},
            "hold_key": {"text": "x", "duration": 0.6},
        }
        await ok(tool, call(action, **fields[action]))
        if action == "type":
            value = await eventually(lambda: recorder.evaluate("document.getElementById('text').value"), bool)
            assert value == "é✓"
        else:
            wanted = "b" if action == "key" else "x"
            keys = await eventually(
                lambda: recorded(recorder, "keydown"), lambda e: any(k["key"] == wanted for k in e)
            )
            assert next(k for k in keys if k["key"] == wanted)["ctrl"] is (action == "key")
    elif action == "wait":
        started = asyncio.get_running_loop().time()
        await ok(tool, call(action, duration=0.3))
        assert asyncio.get_running_loop().time() - started >= 0.3
    elif action == "screenshot":
        assert image_of(await ok(tool, call(action))).size == FWXGA
    elif action == "cursor_position":
        await sandbox.move_mouse(*pad)
        assert text_of(await ok(tool, call(action))) == "X={},Y={}".format(*SCALER.to_model(*pad))
    elif action == "zoom":
        image = image_of(
            await ok(tool, call(action, region=[at[0] - 20, at[1] - 20, at[0] + 20, at[1] + 20]))
        )
        assert image.convert("RGB").getpixel((image.width // 2, image.height // 2)) == (0, 0, 255)  # the pad
    else:
        pytest.fail(f"no effect check for {action}")


CLICK_STARTS_ANIMATION = """() => {
    const target = document.getElementById('target');
    target.onclick = () => {
        let frame = 0;
        const timer = setInterval(() => {
            frame += 1;
            target.style.background = frame >= 60 ? 'rgb(0, 255, 0)' : `rgb(${(frame * 53) % 200}, 0, 90)`;
            if (frame >= 60) clearInterval(timer);
        }, 20);
    };
}"""


@pytest.mark.parametrize("settle", [0.0, 5.0])
async def test_the_screenshot_after_an_action_waits_for_the_screen_to_settle(
    sandbox: AsyncSandbox, recorder: Any, settle: float
) -> None:
    await recorder.evaluate(CLICK_STARTS_ANIMATION)
    tool = ClaudeComputerTool(sandbox, version="computer_20250124", settle=settle)
    target = model_xy(await field_center(recorder, "target"))
    image = image_of(await ok(tool, call("left_click", coordinate=target))).convert("RGB")
    finished = image.getpixel(tuple(target)) == (0, 255, 0)
    # At once, Claude would see the 1.2 s animation mid-way; settled, its end.
    assert finished is (settle > 0)
