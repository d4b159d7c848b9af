"""Claude's computer and bash tools, executed on a deskbox sandbox.

    tools = ClaudeTools(sandbox, version="computer_20251124")
    response = client.beta.messages.create(..., tools=await tools.definitions(), betas=tools.betas)
    results = await tools.run(response.content)   # one tool_result per tool_use block

Screenshots are scaled down to a standard size (XGA, WXGA or FWXGA, whichever matches
the screen's shape) and Claude's coordinates are mapped back to the real screen, as
Anthropic recommends. Every action of each tool version runs, with modifier keys (given
under ``text`` or ``key``) held during clicks, drags and scrolls. A malformed or
impossible call comes back as a ``tool_result`` with ``is_error`` and the reason.

Needs the ``anthropic`` extra for the result types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from anthropic.types.beta import (
    BetaImageBlockParam,
    BetaTextBlockParam,
    BetaToolBash20250124Param,
    BetaToolComputerUse20241022Param,
    BetaToolComputerUse20250124Param,
    BetaToolComputerUse20251124Param,
    BetaToolResultBlockParam,
    BetaToolUseBlock,
)

from ..actions import (
    SCROLL_DIRECTIONS,
    Action,
    Click,
    CursorPosition,
    Drag,
    HoldKey,
    ImageFormat,
    MouseDown,
    MouseUp,
    Move,
    Scroll,
    Type,
    Wait,
    scroll_motion,
)
from ..client import AsyncSandbox
from ._claude import held_keys, image_block, key_actions
from ._computer import DEFAULT_SETTLE, Computer, ScalingTarget, ToolCallError, note_call
from ._shell_session import ShellSession, ShellSessionError

if TYPE_CHECKING:
    from .anthropic_toolset import ClaudeComputerToolset

ComputerVersion = Literal["computer_20241022", "computer_20250124", "computer_20251124"]
ToolsetVersion = Literal["computer_toolset_20260801"]
ComputerToolParam = (
    BetaToolComputerUse20241022Param | BetaToolComputerUse20250124Param | BetaToolComputerUse20251124Param
)

_V1_ACTIONS = frozenset(
    {
        "key",
        "type",
        "mouse_move",
        "left_click",
        "left_click_drag",
        "right_click",
        "middle_click",
        "double_click",
        "screenshot",
        "cursor_position",
    }
)
_V2_ACTIONS = _V1_ACTIONS | {"scroll", "left_mouse_down", "left_mouse_up", "hold_key", "wait", "triple_click"}
ACTIONS: dict[str, frozenset[str]] = {
    "computer_20241022": _V1_ACTIONS,
    "computer_20250124": _V2_ACTIONS,
    "computer_20251124": _V2_ACTIONS | {"zoom"},
}
BETAS: dict[str, str] = {
    "computer_20241022": "computer-use-2024-10-22",
    "computer_20250124": "computer-use-2025-01-24",
    "computer_20251124": "computer-use-2025-11-24",
}
_CLICKS: dict[str, tuple[Literal["left", "right", "middle"], int]] = {
    "left_click": ("left", 1),
    "right_click": ("right", 1),
    "middle_click": ("middle", 1),
    "double_click": ("left", 2),
    "triple_click": ("left", 3),
}


def _field(block: Any, name: str) -> Any:
    """A field of a content block: the SDK's object or its dict form."""
    return block.get(name) if isinstance(block, Mapping) else getattr(block, name, None)


def _call_parts(tool_use: Any) -> tuple[str, str, Any]:
    """(id, name, input) of a tool_use block."""
    return str(_field(tool_use, "id") or ""), str(_field(tool_use, "name") or ""), _field(tool_use, "input")


def error_result(tool_use_id: str, message: str) -> BetaToolResultBlockParam:
    return {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "is_error": True,
        "content": [{"type": "text", "text": message}],
    }


class ClaudeComputerTool:
    """Claude's ``computer`` tool on one sandbox."""

    name = "computer"

    def __init__(
        self,
        sandbox: AsyncSandbox,
        *,
        version: ComputerVersion = "computer_20250124",
        enable_zoom: bool = True,
        scaling: ScalingTarget = None,
        image_format: ImageFormat = "png",
        quality: int = 80,
        screenshot_after_action: bool = True,
        settle: float = DEFAULT_SETTLE,
    ) -> None:
        if version not in ACTIONS:
            raise ValueError(f"unknown computer tool version {version!r}; use one of {sorted(ACTIONS)}")
        self.version = version
        self.enable_zoom = enable_zoom and version == "computer_20251124"
        self.computer = Computer(
            sandbox, scaling=scaling, image_format=image_format, quality=quality, settle=settle
        )
        self.screenshot_after_action = screenshot_after_action

    @property
    def beta(self) -> str:
        """The ``anthropic-beta`` flag this version needs."""
        return BETAS[self.version]

    async def definition(self) -> ComputerToolParam:
        """The tool as the Messages API takes it, sized to what Claude will be shown."""
        width, height = (await self.computer.scaler()).model
        common = {"name": "computer", "display_width_px": width, "display_height_px": height}
        if self.version == "computer_20251124":
            return cast(
                BetaToolComputerUse20251124Param,
                {**common, "type": self.version, "enable_zoom": self.enable_zoom},
            )
        if self.version == "computer_20250124":
            return cast(BetaToolComputerUse20250124Param, {**common, "type": self.version})
        return cast(BetaToolComputerUse20241022Param, {**common, "type": self.version})

    async def execute(self, tool_use: Any, *, text: str | None = None) -> BetaToolResultBlockParam:
        """Run one ``tool_use`` block; never raises for a bad call, answers with an error result.

        ``text``, the model's words before the call, goes into the sandbox's trace with it.
        """
        tool_use_id, _, tool_input = _call_parts(tool_use)
        await note_call(self.computer.sandbox, "anthropic", tool_use, text)
        try:
            content = await self._perform(tool_input)
        except ToolCallError as exc:
            return error_result(tool_use_id, str(exc))
        return {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}

    async def _perform(self, tool_input: Any) -> list[BetaTextBlockParam | BetaImageBlockParam]:
        if not isinstance(tool_input, Mapping):
            raise ToolCallError(f"the input must be an object with an 'action', got {tool_input!r}")
        action = tool_input.get("action")
        allowed = ACTIONS[self.version] - (set() if self.enable_zoom else {"zoom"})
        if not isinstance(action, str) or action not in allowed:
            raise ToolCallError(f"unknown action {action!r} for {self.version}; use one of {sorted(allowed)}")
        c = self.computer
        if action == "screenshot":
            return [image_block(await c.screenshot())]
        if action == "cursor_position":
            await c.run([c.build(CursorPosition)])
            x, y = await c.cursor_in_model()
            return [{"type": "text", "text": f"X={x},Y={y}"}]
        if action == "zoom":
            region = tool_input.get("region")
            if not isinstance(region, list) or len(region) != 4:
                raise ToolCallError(f"region must be [x0, y0, x1, y1], got {region!r}")
            return [image_block(await c.zoom(*region))]
        actions = await self._actions(action, tool_input)
        response = await c.run(actions, screenshot=self.screenshot_after_action)
        if response.screenshot is not None:
            return [image_block(response.screenshot)]
        return [{"type": "text", "text": f"{action} done"}]

    async def _actions(self, action: str, tool_input: Mapping[str, Any]) -> list[Action]:
        c = self.computer
        if action == "key":
            return key_actions(c, _required_text(tool_input, "text"), tool_input.get("repeat"))
        if action == "type":
            return [c.build(Type, text=_required_text(tool_input, "text"))]
        if action == "hold_key":
            return [
                c.build(HoldKey, keys=_required_text(tool_input, "text"), duration=tool_input.get("duration"))
            ]
        if action == "wait":
            return [c.build(Wait, duration=tool_input.get("duration"))]
        if action == "mouse_move":
            x, y = await c.point(tool_input.get("coordinate"), "coordinate")
            return [c.build(Move, x=x, y=y)]
        modifiers = _modifiers(tool_input)
        target = await self._optional_point(tool_input)
        if action in _CLICKS:
            button, count = _CLICKS[action]
            at = {"x": target[0], "y": target[1]} if target is not None else {}
            return [c.build(Click, button=button, count=count, modifiers=modifiers, **at)]
        if action in ("left_mouse_down", "left_mouse_up"):
            model = MouseDown if action == "left_mouse_down" else MouseUp
            prelude = [] if target is None else [c.build(Move, x=target[0], y=target[1])]
            return [*prelude, c.build(model, button="left")]
        if action == "left_click_drag":
            end = await c.point(tool_input.get("coordinate"), "coordinate")
            if "start_coordinate" in tool_input:
                start = await c.point(tool_input.get("start_coordinate"), "start_coordinate")
            else:  # computer_20241022 drags from wherever the pointer is
                start = await c.sandbox.get_cursor_position()
            path = [{"x": start[0], "y": start[1]}, {"x": end[0], "y": end[1]}]
            return [c.build(Drag, path=path, modifiers=modifiers)]
        if action == "scroll":
            return [self._scroll(tool_input, target, modifiers)]
        raise ToolCallError(f"unhandled action {action!r}")  # every name in ACTIONS is handled above

    async def _optional_point(self, tool_input: Mapping[str, Any]) -> tuple[int, int] | None:
        value = tool_input.get("coordinate")
        return None if value is None else await self.computer.point(value, "coordinate")

    def _scroll(
        self, tool_input: Mapping[str, Any], target: tuple[int, int] | None, modifiers: list[str]
    ) -> Action:
        direction = tool_input.get("scroll_direction")
        amount = tool_input.get("scroll_amount", 3)
        if direction not in SCROLL_DIRECTIONS:
            raise ToolCallError(f"scroll_direction must be up, down, left or right, got {direction!r}")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            raise ToolCallError(
                f"scroll_amount must be a whole number of notches, at least 1, got {amount!r}"
            )
        at = {"x": target[0], "y": target[1]} if target is not None else {}
        return self.computer.build(Scroll, modifiers=modifiers, **at, **scroll_motion(direction, amount))


def _required_text(tool_input: Mapping[str, Any], field: str) -> str:
    value = tool_input.get(field)
    if not isinstance(value, str) or value == "":
        raise ToolCallError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _modifiers(tool_input: Mapping[str, Any]) -> list[str]:
    """Keys held during a pointer action: Claude sends them under ``text``; ``key`` is taken too."""
    held = tool_input.get("text")
    if held is None:
        held = tool_input.get("key")
    return held_keys(held)


class ClaudeBashTool:
    """Claude's ``bash`` tool (bash_20250124): one persistent shell in the sandbox."""

    name = "bash"

    def __init__(self, sandbox: AsyncSandbox, *, timeout: float = 120.0, user: str | None = None) -> None:
        self.sandbox = sandbox
        self.session = ShellSession(sandbox, timeout=timeout, user=user)

    def definition(self) -> BetaToolBash20250124Param:
        return {"type": "bash_20250124", "name": "bash"}

    async def execute(self, tool_use: Any, *, text: str | None = None) -> BetaToolResultBlockParam:
        tool_use_id, _, tool_input = _call_parts(tool_use)
        await note_call(self.sandbox, "anthropic", tool_use, text)
        if not isinstance(tool_input, Mapping):
            return error_result(
                tool_use_id, f"the input must be an object with a 'command', got {tool_input!r}"
            )
        if tool_input.get("restart") is True:
            await self.session.restart()
            return {
                "type": "tool_result",
                "tool_use_id": tool_use_id,
                "content": "the shell has been restarted",
            }
        command = tool_input.get("command")
        if not isinstance(command, str) or not command.strip():
            return error_result(tool_use_id, f"command must be a non-empty string, got {command!r}")
        try:
            result = await self.session.run(command)
        except ShellSessionError as exc:
            return error_result(tool_use_id, str(exc))
        text = result.output if result.exit_code == 0 else f"{result.output}[exit code {result.exit_code}]"
        return {"type": "tool_result", "tool_use_id": tool_use_id, "content": text or "(no output)"}

    async def close(self) -> None:
        await self.session.close()


class ClaudeTools:
    """The computer tool (or toolset) and, optionally, the bash tool, dispatched per block.

    ``version="computer_toolset_20260801"`` serves Claude's computer toolset
    (:class:`~deskbox.adapters.anthropic_toolset.ClaudeComputerToolset`), which newer
    models take on the Claude API; the others serve the single ``computer`` tool.
    """

    def __init__(
        self,
        sandbox: AsyncSandbox,
        *,
        version: ComputerVersion | ToolsetVersion = "computer_20250124",
        bash: bool = True,
        **computer_options: Any,
    ) -> None:
        self.computer: ClaudeComputerTool | ClaudeComputerToolset
        if version == "computer_toolset_20260801":
            from .anthropic_toolset import ClaudeComputerToolset

            self.computer = ClaudeComputerToolset(sandbox, **computer_options)
        else:
            self.computer = ClaudeComputerTool(sandbox, version=version, **computer_options)
        self.bash = ClaudeBashTool(sandbox) if bash else None

    @property
    def betas(self) -> list[str]:
        """The ``anthropic-beta`` flags to send: none for the toolset, which is GA."""
        return [self.computer.beta] if isinstance(self.computer, ClaudeComputerTool) else []

    async def definitions(self) -> list[Any]:
        """The ``tools`` entries: the computer tool or toolset, then bash."""
        computer = self.computer
        tools: list[Any] = [
            await computer.definition() if isinstance(computer, ClaudeComputerTool) else computer.to_dict()
        ]
        if self.bash is not None:
            tools.append(self.bash.definition())
        return tools

    async def execute(self, tool_use: Any, *, text: str | None = None) -> BetaToolResultBlockParam:
        """Run one block with the tool it names; ``text`` (the model's words) goes into the trace."""
        tool_use_id, name, _ = _call_parts(tool_use)
        toolset_name = _field(tool_use, "toolset_name")
        computer = self.computer
        if toolset_name is not None:
            if toolset_name == "computer" and not isinstance(computer, ClaudeComputerTool):
                await note_call(computer.computer.sandbox, "anthropic", tool_use, text)
                block = tool_use if isinstance(tool_use, BetaToolUseBlock) else _tool_use_block(tool_use)
                return await computer.tool_result(block)
            return error_result(tool_use_id, f"no toolset named {toolset_name!r} here")
        if name == "computer" and isinstance(computer, ClaudeComputerTool):
            return await computer.execute(tool_use, text=text)
        if name == "bash" and self.bash is not None:
            return await self.bash.execute(tool_use, text=text)
        return error_result(tool_use_id, f"no tool named {name!r} here")

    async def run(self, content: Iterable[Any]) -> list[BetaToolResultBlockParam]:
        """A tool_result for every tool_use block of an assistant message, in order. The
        message's text goes into the sandbox's trace with its first tool call."""
        blocks = list(content)
        words = "\n".join(
            str(_field(block, "text"))
            for block in blocks
            if _field(block, "type") == "text" and _field(block, "text")
        )
        results = []
        for block in blocks:
            if _field(block, "type") == "tool_use":
                results.append(await self.execute(block, text=words or None))
                words = ""
        return results

    async def close(self) -> None:
        if self.bash is not None:
            await self.bash.close()


def _tool_use_block(tool_use: Any) -> BetaToolUseBlock:
    """A tool_use block written as data (a dict), or the non-beta client's block, as the
    beta type the anthropic package's toolset takes."""
    fields = tool_use if isinstance(tool_use, Mapping) else tool_use.model_dump()
    return BetaToolUseBlock.model_validate({"type": "tool_use", "input": {}, **fields})
