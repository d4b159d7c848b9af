"""OpenAI's computer-use tool, executed on a deskbox sandbox.

Both forms are handled: ``computer_use_preview`` (one ``action`` per call) and the newer
``computer`` tool (a batch of ``actions`` per call, run here in one round trip).

    tool = OpenAIComputerTool(sandbox)
    response = client.responses.create(..., tools=[await tool.definition()])
    for call in (item for item in response.output if item.type == "computer_call"):
        next_input += await tool.execute(call)

``execute`` returns the input items for the next request: a ``computer_call_output``
with a screenshot, always (the API needs one per call). A call that is malformed or
cannot run is not executed; its output carries the current screen, marked incomplete,
and is followed by a message that gives the reason. Scrolls arrive as pixel deltas and
are turned into wheel notches; key names are OpenAI's ("CTRL", "ARROWLEFT", "ENTER").

Pending safety checks are refused unless ``on_safety_check`` approves them.

Needs the ``openai`` extra for the input item types.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, cast

from openai.types.responses import ComputerToolParam, ComputerUsePreviewToolParam, ResponseInputItemParam
from openai.types.responses.response_input_item_param import ComputerCallOutput

from ..actions import Action, Click, Drag, Image, ImageFormat, Key, Move, Scroll, Type, Wait, media_type
from ..client import AsyncSandbox
from ._computer import DEFAULT_SETTLE, Computer, ScalingTarget, ToolCallError, notches, note_call

ToolType = Literal["computer", "computer_use_preview"]
Environment = Literal["windows", "mac", "linux", "ubuntu", "browser"]
SafetyCallback = Callable[[list[dict[str, Any]]], bool | Awaitable[bool]]

WAIT_SECONDS = 1.0
"""OpenAI's ``wait`` carries no duration; this is how long it waits."""
_BUTTONS: dict[str, Literal["left", "right", "middle", "back", "forward"]] = {
    "left": "left",
    "right": "right",
    "wheel": "middle",
    "middle": "middle",
    "back": "back",
    "forward": "forward",
}


def _plain(value: Any) -> Any:
    """An SDK model as plain data (dicts and lists), so both forms are read one way."""
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    return value


class OpenAIComputerTool:
    """OpenAI's computer tool on one sandbox."""

    def __init__(
        self,
        sandbox: AsyncSandbox,
        *,
        tool: ToolType = "computer",
        environment: Environment = "linux",
        scaling: ScalingTarget = False,
        image_format: ImageFormat = "png",
        quality: int = 80,
        on_safety_check: SafetyCallback | None = None,
        settle: float = DEFAULT_SETTLE,
    ) -> None:
        self.tool = tool
        self.environment: Environment = environment
        self.computer = Computer(
            sandbox, scaling=scaling, image_format=image_format, quality=quality, settle=settle
        )
        self.on_safety_check = on_safety_check

    async def definition(self) -> ComputerToolParam | ComputerUsePreviewToolParam:
        if self.tool == "computer":
            return {"type": "computer"}
        width, height = (await self.computer.scaler()).model
        return {
            "type": "computer_use_preview",
            "display_width": width,
            "display_height": height,
            "environment": self.environment,
        }

    async def execute(self, call: Any, *, text: str | None = None) -> list[ResponseInputItemParam]:
        """Run a ``computer_call`` item; never raises for a bad call. ``text`` (the model's
        message or reasoning summary before it) goes into the sandbox's trace with it."""
        item = _plain(call)
        await note_call(self.computer.sandbox, "openai", item, text)
        call_id = str(item.get("call_id", "")) if isinstance(item, Mapping) else ""
        checks = [_plain(check) for check in (item.get("pending_safety_checks") or [])] if call_id else []
        try:
            if not call_id:
                raise ToolCallError(f"not a computer_call item with a call_id: {str(item)[:200]}")
            if checks and not await self._approved(checks):
                raise ToolCallError(
                    "the computer call was not run: its safety checks were not acknowledged ("
                    + "; ".join(str(check.get("message") or check.get("code")) for check in checks)
                    + ")"
                )
            screenshot = await self._perform(item)
        except ToolCallError as exc:
            return await self._failure(call_id, str(exc))
        output = self._output(call_id, screenshot)
        if checks:
            output["acknowledged_safety_checks"] = checks
        return [output]

    async def _approved(self, checks: list[dict[str, Any]]) -> bool:
        if self.on_safety_check is None:
            return False
        verdict = self.on_safety_check(checks)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return bool(verdict)

    async def _perform(self, item: Mapping[str, Any]) -> Image:
        raw_actions = item.get("actions")
        if raw_actions is None:
            raw_actions = [item["action"]] if item.get("action") is not None else []
        if not isinstance(raw_actions, list) or not raw_actions:
            raise ToolCallError("the computer call has neither an 'action' nor a non-empty 'actions' list")
        actions: list[Action] = []
        for index, raw in enumerate(raw_actions):
            where = f"actions[{index}]" if "actions" in item else "action"
            actions.extend(await self._translate(_plain(raw), where))
        if not actions:  # only screenshots were asked for
            return await self.computer.screenshot()
        response = await self.computer.run(actions, screenshot=True)
        assert response.screenshot is not None
        return response.screenshot

    async def _translate(self, raw: Any, where: str) -> Sequence[Action]:
        c = self.computer
        if not isinstance(raw, Mapping):
            raise ToolCallError(f"{where} must be an object with a 'type', got {raw!r}")
        kind = raw.get("type")
        held = _keys(raw.get("keys"), f"{where}.keys") if kind != "keypress" else []
        if kind == "screenshot":
            return []
        if kind in ("click", "double_click"):
            x, y = await c.xy(raw.get("x"), raw.get("y"), where)
            button = raw.get("button", "left")
            if button not in _BUTTONS:
                raise ToolCallError(f"{where}.button must be one of {sorted(_BUTTONS)}, got {button!r}")
            count = 2 if kind == "double_click" else 1
            return [c.build(Click, x=x, y=y, button=_BUTTONS[button], count=count, modifiers=held)]
        if kind == "move":
            x, y = await c.xy(raw.get("x"), raw.get("y"), where)
            return [c.build(Move, x=x, y=y)]
        if kind == "drag":
            path = raw.get("path")
            if not isinstance(path, list) or len(path) < 2:
                raise ToolCallError(f"{where}.path must list at least two points, got {path!r}")
            points = []
            for index, point in enumerate(path):
                if not isinstance(point, Mapping):
                    raise ToolCallError(f"{where}.path[{index}] must be {{x, y}}, got {point!r}")
                x, y = await c.xy(point.get("x"), point.get("y"), f"{where}.path[{index}]")
                points.append({"x": x, "y": y})
            return [c.build(Drag, path=points, modifiers=held)]
        if kind == "scroll":
            x, y = await c.xy(raw.get("x"), raw.get("y"), where)
            scaler = await c.scaler()
            dx = notches(scaler.length_to_screen(_number(raw.get("scroll_x", 0), f"{where}.scroll_x"), 0))
            dy = notches(scaler.length_to_screen(_number(raw.get("scroll_y", 0), f"{where}.scroll_y"), 1))
            if dx == 0 and dy == 0:
                return [c.build(Move, x=x, y=y)]
            return [c.build(Scroll, x=x, y=y, dx=dx, dy=dy, modifiers=held)]
        if kind == "keypress":
            return [c.build(Key, keys=_keys(raw.get("keys"), f"{where}.keys", required=True))]
        if kind == "type":
            text = raw.get("text")
            if not isinstance(text, str):
                raise ToolCallError(f"{where}.text must be a string, got {text!r}")
            return [c.build(Type, text=text)] if text else []
        if kind == "wait":
            duration = raw.get("duration")
            seconds = WAIT_SECONDS if duration is None else _number(duration, f"{where}.duration") / 1000
            return [c.build(Wait, duration=seconds)]
        raise ToolCallError(
            f"{where}.type {kind!r} is not a computer action; use click, double_click, drag, keypress, "
            "move, screenshot, scroll, type or wait"
        )

    def _output(self, call_id: str, screenshot: Image) -> ComputerCallOutput:
        return {
            "type": "computer_call_output",
            "call_id": call_id,
            "output": {
                "type": "computer_screenshot",
                "image_url": f"data:{media_type(screenshot.format)};base64,{screenshot.data}",
            },
        }

    async def _failure(self, call_id: str, reason: str) -> list[ResponseInputItemParam]:
        """The call's output (every call needs one) showing the screen as it is, marked
        incomplete, then the reason as text: the output item itself has no place for it."""
        items: list[ResponseInputItemParam] = []
        if call_id:
            output = self._output(call_id, await self.computer.screenshot())
            output["status"] = "incomplete"
            items.append(output)
        items.append(
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": f"The computer call {call_id} failed: {reason}"}],
            }
        )
        return items


def _keys(value: Any, where: str, required: bool = False) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(key, str) and key for key in value) or not value:
        raise ToolCallError(f"{where} must be a non-empty list of key names, got {value!r}")
    return cast(list[str], value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolCallError(f"{where} must be a number, got {value!r}")
    return float(value)
