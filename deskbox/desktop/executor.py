"""Runs schema actions on a Desktop, one after another."""

from __future__ import annotations

import asyncio

from ..actions import (
    Action,
    ActionResult,
    Batch,
    Click,
    CursorPosition,
    Drag,
    HoldKey,
    Key,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseUp,
    Move,
    Point,
    Screenshot,
    Scroll,
    Type,
    Wait,
    Zoom,
)
from ..errors import ActionFailedError, DeskboxError, DesktopUnavailableError
from .driver import Desktop, image_model


async def run_action(desktop: Desktop, index: int, action: Action) -> ActionResult:
    """Run one action; its effect has reached the X server when this returns."""
    call, xinput = desktop.xthread.call, desktop.input
    result = ActionResult(index=index, type=action.type)
    match action:
        case Move():
            await call(xinput.move, action.x, action.y)
        case Click():
            await call(xinput.click, action.x, action.y, action.button, action.count, action.modifiers)
        case MouseDown() | MouseUp():
            await call(xinput.button, action.x, action.y, action.button, action.type == "mouse_down")
        case Drag():
            path = [(point.x, point.y) for point in action.path]
            await call(xinput.drag, path, action.button, action.modifiers)
        case Scroll():
            await call(xinput.scroll, action.x, action.y, action.dx, action.dy, action.modifiers)
        case Key():
            await call(xinput.chord, action.keys, action.repeat)
        case KeyDown() | KeyUp():
            await call(xinput.key, action.key, action.type == "key_down")
        case HoldKey():
            strokes = await call(xinput.press_chord, action.keys)
            try:
                await asyncio.sleep(action.duration)
            finally:
                await call(xinput.release_chord, strokes)
        case Type():
            await call(xinput.type_text, action.text)
        case Wait():
            await asyncio.sleep(action.duration)
        case Screenshot():
            result.image = image_model(await desktop.screenshot(action))
        case CursorPosition():
            x, y = await desktop.cursor_position()
            result.cursor = Point(x=x, y=y)
        case Zoom():
            encoded = await desktop.zoom(
                action.region, action.width, action.height, action.format, action.quality
            )
            result.image = image_model(encoded)
    return result


async def run_actions(desktop: Desktop, request: Action | Batch) -> list[ActionResult]:
    """Run one action or a batch in order, stopping at the first failure.

    A failure raises ActionFailedError naming the action; its ``results`` hold the
    results of the actions that ran before.
    """
    actions = request.actions if isinstance(request, Batch) else [request]
    results: list[ActionResult] = []
    for index, action in enumerate(actions):
        try:
            results.append(await run_action(desktop, index, action))
        except DesktopUnavailableError:
            raise
        except (DeskboxError, ValueError, OSError) as exc:
            raise ActionFailedError(
                f"action {index} ({action.type}) failed: {exc}",
                index=index,
                action_type=action.type,
                results=results,
            ) from exc
    return results
