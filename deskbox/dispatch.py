"""The one dispatcher: schema actions run, in order, on any target that can do them.

A target is a screen with a pointer and a keyboard: the X desktop inside a sandbox
(``deskbox.desktop.XTarget``), or E2B's stock template driven by xdotool commands
(``deskbox.transports.e2b_stock``). Each action is interpreted here once; a target only
provides the primitives. This module imports no X library, so the SDK can use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .actions import (
    Action,
    ActionResponse,
    ActionResult,
    Batch,
    Click,
    CursorPosition,
    Drag,
    HoldKey,
    ImageFormat,
    Key,
    KeyDown,
    KeyUp,
    MouseButton,
    MouseDown,
    MouseUp,
    Move,
    Point,
    PyAutoGUI,
    Region,
    Screenshot,
    ScreenshotOptions,
    Scroll,
    Type,
    Wait,
    Zoom,
    out_of_bounds,
    places_on_screen,
)
from .errors import (
    ActionFailedError,
    CapabilityError,
    DeskboxError,
    DesktopUnavailableError,
    InvalidActionError,
)
from .timing import timed

if TYPE_CHECKING:
    from .imaging import Encoded


class ActionTarget(Protocol):
    """What a screen must offer for actions to run on it. Every call returns once its
    effect has reached the display."""

    async def screen_size(self) -> tuple[int, int]: ...

    async def cursor_position(self) -> tuple[int, int]: ...

    async def move(self, x: int, y: int) -> None: ...

    async def click(
        self, x: int | None, y: int | None, button: MouseButton, count: int, modifiers: Sequence[str]
    ) -> None: ...

    async def button(self, x: int | None, y: int | None, button: MouseButton, down: bool) -> None: ...

    async def drag(
        self, path: Sequence[tuple[int, int]], button: MouseButton, modifiers: Sequence[str]
    ) -> None: ...

    async def scroll(
        self, x: int | None, y: int | None, dx: int, dy: int, modifiers: Sequence[str]
    ) -> None: ...

    async def chord(self, keys: Sequence[str], repeat: int) -> None: ...

    async def key(self, key: str, down: bool) -> None: ...

    async def press_chord(self, keys: Sequence[str]) -> Any:
        """Press keys and keep them down; what it returns goes to ``release_chord``."""

    async def release_chord(self, pressed: Any) -> None: ...

    async def type_text(self, text: str) -> None: ...

    async def screenshot(self, options: ScreenshotOptions, settle: float = 0.0) -> Encoded:
        """The screen (or ``options.region``) encoded as asked; with ``settle``, once it
        has stopped changing, waiting that many seconds at most."""

    async def zoom(
        self, region: Region, width: int | None, height: int | None, fmt: ImageFormat, quality: int
    ) -> Encoded:
        """A region scaled up to fit the screen, or to the size asked for."""


@runtime_checkable
class RunsPyAutoGUI(Protocol):
    """A target that can run pyautogui code (the sandbox's own desktop can; a screen
    driven from outside cannot)."""

    async def run_pyautogui(self, code: str, timeout: float) -> str:
        """Run the code and return what it printed; its input reaches the display."""


async def _pyautogui(target: ActionTarget, action: PyAutoGUI, result: ActionResult) -> None:
    signal = action.signal
    if signal is not None:
        result.signal = signal
        if signal == "WAIT":
            await asyncio.sleep(action.wait)
        return
    if not isinstance(target, RunsPyAutoGUI):
        raise CapabilityError("this desktop cannot run pyautogui code", capability="pyautogui")
    result.output = await target.run_pyautogui(action.code, action.timeout)


async def run_action(target: ActionTarget, index: int, action: Action) -> ActionResult:
    """Run one action; its effect has reached the display when this returns."""
    result = ActionResult(index=index, type=action.type)
    match action:
        case Move():
            await target.move(action.x, action.y)
        case Click():
            await target.click(action.x, action.y, action.button, action.count, action.modifiers)
        case MouseDown() | MouseUp():
            await target.button(action.x, action.y, action.button, action.type == "mouse_down")
        case Drag():
            path = [(point.x, point.y) for point in action.path]
            await target.drag(path, action.button, action.modifiers)
        case Scroll():
            await target.scroll(action.x, action.y, action.dx, action.dy, action.modifiers)
        case Key():
            await target.chord(action.keys, action.repeat)
        case KeyDown() | KeyUp():
            await target.key(action.key, action.type == "key_down")
        case HoldKey():
            pressed = await target.press_chord(action.keys)
            try:
                await asyncio.sleep(action.duration)
            finally:
                await target.release_chord(pressed)
        case Type():
            await target.type_text(action.text)
        case Wait():
            await asyncio.sleep(action.duration)
        case Screenshot():
            result.image = (await target.screenshot(action)).to_model()
        case CursorPosition():
            x, y = await target.cursor_position()
            result.cursor = Point(x=x, y=y)
        case Zoom():
            zoomed = await target.zoom(
                action.region, action.width, action.height, action.format, action.quality
            )
            result.image = zoomed.to_model()
        case PyAutoGUI():
            await _pyautogui(target, action, result)
    return result


def actions_of(request: Action | Batch) -> list[Action]:
    return request.actions if isinstance(request, Batch) else [request]


async def run_actions(target: ActionTarget, request: Action | Batch) -> list[ActionResult]:
    """Run one action or a batch in order, stopping at the first failure.

    A failure raises ActionFailedError naming the action; its ``results`` hold the
    results of the actions that ran before. An unreachable display is raised as it is.
    """
    results: list[ActionResult] = []
    for index, action in enumerate(actions_of(request)):
        try:
            results.append(await run_action(target, index, action))
        except DesktopUnavailableError:
            raise
        except (DeskboxError, ValueError, OSError) as exc:
            failure = ActionFailedError(
                f"action {index} ({action.type}) failed: {exc}",
                index=index,
                action_type=action.type,
                results=results,
            )
            # A field of the action at fault, placed in the request as the server places it.
            where = ["body"] if not isinstance(request, Batch) else ["body", "actions", index]
            for detail in getattr(exc, "details", ()):
                loc = list(detail.get("loc", ()))
                placed = loc[:1] in (["body"], ["query"], ["path"])
                failure.details.append({**detail, "loc": loc if placed else [*where, *loc]})
            raise failure from exc
    return results


def check_on_screen(request: Action | Batch, size: tuple[int, int]) -> None:
    """Refuse a request with any coordinate off the screen, naming every one."""
    problems = list(out_of_bounds(request, *size))
    if problems:
        details = [
            {"loc": ["body", *loc], "msg": message, "type": "out_of_screen"} for loc, message in problems
        ]
        message = "; ".join(".".join(map(str, ["body", *loc])) + f": {msg}" for loc, msg in problems[:5])
        raise InvalidActionError(message, details=details)


async def perform(
    target: ActionTarget,
    request: Action | Batch,
    screenshot_after: ScreenshotOptions | None = None,
    settle: float = 0.0,
) -> ActionResponse:
    """What ``POST /actions`` does: every coordinate checked before anything runs (a bad
    batch has no partial effect), the actions run, and optionally the screen after them."""
    if places_on_screen(request):  # the size can cost a round trip (stock mode): ask only then
        check_on_screen(request, await target.screen_size())
    with timed("action"):
        results = await run_actions(target, request)
    response = ActionResponse(ok=True, results=results)
    if screenshot_after is not None:
        response.screenshot = (await target.screenshot(screenshot_after, settle)).to_model()
    return response
