"""Claude's computer toolset (``computer_toolset_20260801``), executed on a deskbox sandbox.

The toolset is the generally available successor of the single ``computer`` tool: one
``tools[]`` entry whose members (``left_click``, ``type``, ``screenshot``, ...) each come
back as a ``tool_use`` block of their own, with ``toolset_name: "computer"``. Actions are
answered with a short acknowledgment, not a screenshot; Claude asks for ``screenshot``
when it wants to look, and that screenshot is taken once the screen has settled.

This builds on the anthropic package's own toolset base class, so it plugs into its tool
runner as it is, and its ``tool_result(block)`` answers one block in a hand-written loop:

    toolset = ClaudeComputerToolset(sandbox)
    response = await client.beta.messages.create(..., tools=[toolset.to_dict()])
    results = [await toolset.tool_result(block) for block in response.content
               if block.type == "tool_use" and block.toolset_name == "computer"]

Coordinates are pixels of the screenshots Claude is shown, scaled as for the single tool
(XGA, WXGA or FWXGA, whichever has the screen's shape). The base class refuses a member
call whose input does not fit the member's schema; a call it accepts but the desktop
cannot run (a point off the screen, a key that does not exist) is refused with the reason.
"""

from __future__ import annotations

from typing import Any, Literal

from anthropic.tools import (
    BetaAsyncAbstractComputerToolset20260801,
    BetaAsyncComputerConfirmCallable,
    BetaComputerConfirmContext,
    BetaComputerCursorPositionResult,
    BetaComputerMemberResult,
    BetaScreenshotResult,
    BetaToolConfigs,
    BetaToolsetCallContext,
    ToolError,
)
from anthropic.types.beta import (
    BetaComputerDoubleClickInput,
    BetaComputerHoldKeyInput,
    BetaComputerKeyInput,
    BetaComputerLeftClickDragInput,
    BetaComputerLeftClickInput,
    BetaComputerMiddleClickInput,
    BetaComputerMouseMoveInput,
    BetaComputerRightClickInput,
    BetaComputerScrollInput,
    BetaComputerToolsetConfigsParam,
    BetaComputerTripleClickInput,
    BetaComputerTypeInput,
    BetaComputerWaitInput,
    BetaComputerZoomInput,
)

from ..actions import (
    Action,
    Click,
    CursorPosition,
    Drag,
    HoldKey,
    Image,
    ImageFormat,
    MouseDown,
    MouseUp,
    Move,
    Scroll,
    Type,
    Wait,
    media_type,
    scroll_motion,
)
from ..client import AsyncSandbox
from ._claude import held_keys, key_actions
from ._computer import DEFAULT_SETTLE, Computer, ScalingTarget, ToolCallError

TOOLSET_TYPE = "computer_toolset_20260801"

Context = BetaToolsetCallContext

Clickable = (
    BetaComputerLeftClickInput
    | BetaComputerRightClickInput
    | BetaComputerMiddleClickInput
    | BetaComputerDoubleClickInput
    | BetaComputerTripleClickInput
)


def run_unconfirmed(context: BetaComputerConfirmContext) -> bool:
    """The default ``confirm``: every call runs.

    The anthropic package asks for a person's approval of keyboard input, because on a
    real machine it lands in whatever window has focus. A deskbox desktop is a disposable
    sandbox with nothing of the user's in it unless they put it there; pass ``confirm=``
    to gate calls anyway.
    """
    return True


class ClaudeComputerToolset(BetaAsyncAbstractComputerToolset20260801):
    """Every member of ``computer_toolset_20260801`` on one sandbox."""

    def __init__(
        self,
        sandbox: AsyncSandbox,
        *,
        scaling: ScalingTarget = None,
        image_format: ImageFormat = "png",
        quality: int = 80,
        settle: float = DEFAULT_SETTLE,
        configs: BetaComputerToolsetConfigsParam | None = None,
        confirm: BetaAsyncComputerConfirmCallable | None = run_unconfirmed,
        tool_configs: BetaToolConfigs | None = None,
    ) -> None:
        super().__init__(configs=configs, confirm=confirm, tool_configs=tool_configs)
        self.computer = Computer(
            sandbox, scaling=scaling, image_format=image_format, quality=quality, settle=settle
        )

    async def execute(self, context: Context, name: Any, input: Any) -> BetaComputerMemberResult:
        try:
            return await super().execute(context, name, input)
        except ToolCallError as exc:
            # The base class would prefix the exception's class name; the model needs only why.
            raise ToolError(str(exc)) from exc

    async def _run(self, actions: list[Action]) -> None:
        await self.computer.run(actions)

    async def _at(self, coordinate: list[int] | None) -> dict[str, int]:
        if coordinate is None:
            return {}
        x, y = await self.computer.point(coordinate, "coordinate")
        return {"x": x, "y": y}

    async def _click(
        self, input: Clickable, button: Literal["left", "right", "middle"], count: int = 1
    ) -> None:
        c = self.computer
        at = await self._at(input.coordinate)
        await self._run([c.build(Click, button=button, count=count, modifiers=held_keys(input.text), **at)])

    # ---- keyboard -----------------------------------------------------------------------

    async def key(self, context: Context, input: BetaComputerKeyInput) -> str | None:
        await self._run(key_actions(self.computer, input.text, input.repeat))
        return None

    async def hold_key(self, context: Context, input: BetaComputerHoldKeyInput) -> str | None:
        await self._run([self.computer.build(HoldKey, keys=input.text, duration=input.duration)])
        return None

    async def type(self, context: Context, input: BetaComputerTypeInput) -> str | None:
        await self._run([self.computer.build(Type, text=input.text)])
        return None

    # ---- pointer ------------------------------------------------------------------------

    async def cursor_position(self, context: Context, input: Any) -> BetaComputerCursorPositionResult:
        await self._run([self.computer.build(CursorPosition)])
        x, y = await self.computer.cursor_in_model()
        return BetaComputerCursorPositionResult(x=x, y=y)

    async def mouse_move(self, context: Context, input: BetaComputerMouseMoveInput) -> str | None:
        await self._run([self.computer.build(Move, **await self._at(input.coordinate))])
        return None

    async def left_mouse_down(self, context: Context, input: Any) -> str | None:
        await self._run([self.computer.build(MouseDown, button="left")])
        return None

    async def left_mouse_up(self, context: Context, input: Any) -> str | None:
        await self._run([self.computer.build(MouseUp, button="left")])
        return None

    async def left_click(self, context: Context, input: BetaComputerLeftClickInput) -> str | None:
        await self._click(input, "left")
        return None

    async def right_click(self, context: Context, input: BetaComputerRightClickInput) -> str | None:
        await self._click(input, "right")
        return None

    async def middle_click(self, context: Context, input: BetaComputerMiddleClickInput) -> str | None:
        await self._click(input, "middle")
        return None

    async def double_click(self, context: Context, input: BetaComputerDoubleClickInput) -> str | None:
        await self._click(input, "left", 2)
        return None

    async def triple_click(self, context: Context, input: BetaComputerTripleClickInput) -> str | None:
        await self._click(input, "left", 3)
        return None

    async def left_click_drag(self, context: Context, input: BetaComputerLeftClickDragInput) -> str | None:
        c = self.computer
        start = await c.point(input.start_coordinate, "start_coordinate")
        end = await c.point(input.coordinate, "coordinate")
        path = [{"x": start[0], "y": start[1]}, {"x": end[0], "y": end[1]}]
        await self._run([c.build(Drag, path=path, modifiers=held_keys(input.text))])
        return None

    async def scroll(self, context: Context, input: BetaComputerScrollInput) -> str | None:
        if input.scroll_amount < 1:
            raise ToolCallError(f"scroll_amount must be at least 1, got {input.scroll_amount}")
        motion = scroll_motion(input.scroll_direction, input.scroll_amount)
        at = await self._at(input.coordinate)
        await self._run([self.computer.build(Scroll, modifiers=held_keys(input.text), **at, **motion)])
        return None

    async def wait(self, context: Context, input: BetaComputerWaitInput) -> str | None:
        await self._run([self.computer.build(Wait, duration=input.duration)])
        return None

    # ---- looking ------------------------------------------------------------------------

    async def screenshot(self, context: Context, input: Any) -> BetaScreenshotResult:
        # Claude looks after acting, so the screen gets its chance to settle first.
        return _screenshot_result(await self.computer.screenshot(settled=True))

    async def zoom(self, context: Context, input: BetaComputerZoomInput) -> BetaScreenshotResult:
        x0, y0, x1, y1 = input.region  # the base class has checked there are four
        return _screenshot_result(await self.computer.zoom(x0, y0, x1, y1))


def _screenshot_result(image: Image) -> BetaScreenshotResult:
    return BetaScreenshotResult(data=image.data, media_type=media_type(image.format))
