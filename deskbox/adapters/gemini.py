"""Gemini's computer use, executed on a deskbox sandbox.

Gemini plans on a 1000 x 1000 grid whatever the screen's size (coordinates 0 to 999)
and calls predefined functions: ``click_at``, ``type_text_at``, ``scroll_at``,
``key_combination``, ``drag_and_drop``, ``navigate`` and the rest. Each call is answered
with a ``FunctionResponse`` carrying the browser's current URL and a screenshot.

    tool = GeminiComputerTool(sandbox)
    config = types.GenerateContentConfig(tools=[tool.definition()])
    ...
    responses = [await tool.execute(call) for call in response.function_calls]

Browser functions (navigate, go_back, search) bring the desktop's Chromium to the front
and steer its active tab over DevTools, waiting for the page to load. A malformed call,
or one that cannot run, is answered with ``{"error": reason}`` and the current screen.

Needs the ``gemini`` extra (google-genai) for the types.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Literal

from google.genai import types

from .. import errors
from ..actions import (
    SCROLL_DIRECTIONS,
    Action,
    Click,
    Drag,
    Key,
    Move,
    Scroll,
    Type,
    Wait,
    media_type,
    scroll_motion,
)
from ..client import AsyncSandbox
from ._computer import DEFAULT_SETTLE, Computer, ToolCallError, notches, note_call

GRID = 1000
"""Gemini's coordinates run from 0 to GRID - 1 on both axes."""
DEFAULT_SCROLL_MAGNITUDE = 800
FUNCTIONS = (
    "open_web_browser",
    "click_at",
    "hover_at",
    "type_text_at",
    "scroll_document",
    "scroll_at",
    "wait_5_seconds",
    "go_back",
    "go_forward",
    "search",
    "navigate",
    "key_combination",
    "drag_and_drop",
)
_ENVIRONMENTS = {
    "browser": types.Environment.ENVIRONMENT_BROWSER,
    "desktop": types.Environment.ENVIRONMENT_DESKTOP,
}


class GeminiComputerTool:
    """Gemini's computer-use functions on one sandbox."""

    def __init__(
        self,
        sandbox: AsyncSandbox,
        *,
        environment: Literal["browser", "desktop"] = "browser",
        search_url: str = "https://www.google.com/",
        excluded_functions: list[str] | None = None,
        settle: float = DEFAULT_SETTLE,
    ) -> None:
        self.sandbox = sandbox
        self.environment = environment
        self.search_url = search_url
        self.excluded_functions = list(excluded_functions or [])
        # Gemini sees the real screen; only its grid is normalized.
        self.computer = Computer(sandbox, scaling=False, image_format="png", settle=settle)

    def definition(self) -> types.Tool:
        return types.Tool(
            computer_use=types.ComputerUse(
                environment=_ENVIRONMENTS[self.environment],
                excluded_predefined_functions=self.excluded_functions or None,
            )
        )

    async def execute(self, function_call: Any, *, text: str | None = None) -> types.FunctionResponse:
        """Run one predefined function call; never raises for a bad call. ``text`` (the
        model's words before it) goes into the sandbox's trace with it."""
        name, args = _call_parts(function_call)
        await note_call(self.sandbox, "gemini", function_call, text)
        extra: dict[str, Any] = {}
        if isinstance(args, Mapping) and args.get("safety_decision"):
            # The caller decided to go ahead by passing the call on; say so, as the API asks.
            extra["safety_acknowledgement"] = "true"
        try:
            if not isinstance(args, Mapping):
                raise ToolCallError(f"the arguments must be an object, got {args!r}")
            if name not in FUNCTIONS or name in self.excluded_functions:
                raise ToolCallError(f"{name!r} is not a computer-use function this tool runs")
            await self._perform(name, args)
            error = None
        except ToolCallError as exc:
            error = str(exc)
        screenshot = await self.computer.screenshot(settled=True)
        response: dict[str, Any] = {"url": await self._current_url(), **extra}
        if error is not None:
            response["error"] = error
        return types.FunctionResponse(
            name=name,
            response=response,
            parts=[
                types.FunctionResponsePart(
                    inline_data=types.FunctionResponseBlob(
                        mime_type=media_type(screenshot.format), data=base64.b64decode(screenshot.data)
                    )
                )
            ],
        )

    # ---- the functions ------------------------------------------------------------------

    async def _perform(self, name: str, args: Mapping[str, Any]) -> None:
        c = self.computer
        if name in ("open_web_browser", "navigate", "search", "go_back", "go_forward"):
            await self._browser(name, args)
            return
        actions: list[Action]
        if name == "click_at":
            x, y = await self._point(args, "x", "y")
            actions = [c.build(Click, x=x, y=y)]
        elif name == "hover_at":
            x, y = await self._point(args, "x", "y")
            actions = [c.build(Move, x=x, y=y)]
        elif name == "type_text_at":
            x, y = await self._point(args, "x", "y")
            text = args.get("text")
            if not isinstance(text, str):
                raise ToolCallError(f"text must be a string, got {text!r}")
            actions = [c.build(Click, x=x, y=y)]
            if args.get("clear_before_typing", True):
                actions += [c.build(Key, keys="ctrl+a"), c.build(Key, keys="BackSpace")]
            if text:
                actions.append(c.build(Type, text=text))
            if args.get("press_enter", False):
                actions.append(c.build(Key, keys="Return"))
        elif name == "scroll_document":
            width, height = (await c.scaler()).screen
            actions = [await self._scroll(args, width // 2, height // 2, GRID // 2)]
        elif name == "scroll_at":
            x, y = await self._point(args, "x", "y")
            actions = [await self._scroll(args, x, y, args.get("magnitude", DEFAULT_SCROLL_MAGNITUDE))]
        elif name == "wait_5_seconds":
            actions = [c.build(Wait, duration=5)]
        elif name == "key_combination":
            keys = args.get("keys")
            if not isinstance(keys, str) or not keys:
                raise ToolCallError(f"keys must be a combination such as 'control+c', got {keys!r}")
            actions = [c.build(Key, keys=keys)]
        else:  # drag_and_drop
            start = await self._point(args, "x", "y")
            end = await self._point(args, "destination_x", "destination_y")
            path = [{"x": start[0], "y": start[1]}, {"x": end[0], "y": end[1]}]
            actions = [c.build(Drag, path=path)]
        await c.run(actions)

    async def _scroll(self, args: Mapping[str, Any], x: int, y: int, magnitude: Any) -> Action:
        direction = args.get("direction")
        if direction not in SCROLL_DIRECTIONS:
            raise ToolCallError(f"direction must be up, down, left or right, got {direction!r}")
        if isinstance(magnitude, bool) or not isinstance(magnitude, int | float) or not 0 < magnitude <= GRID:
            raise ToolCallError(f"magnitude must be a number from 1 to {GRID}, got {magnitude!r}")
        width, height = (await self.computer.scaler()).screen
        vertical = direction in ("up", "down")
        pixels = round(magnitude * (height if vertical else width) / GRID)
        return self.computer.build(Scroll, x=x, y=y, **scroll_motion(direction, abs(notches(pixels))))

    async def _point(self, args: Mapping[str, Any], x_name: str, y_name: str) -> tuple[int, int]:
        width, height = (await self.computer.scaler()).screen
        values = []
        for name, size in ((x_name, width), (y_name, height)):
            value = args.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < GRID:
                raise ToolCallError(f"{name} must be a number from 0 to {GRID - 1}, got {value!r}")
            values.append(min(int(value * size / GRID), size - 1))
        return values[0], values[1]

    # ---- the browser --------------------------------------------------------------------

    async def _browser(self, name: str, args: Mapping[str, Any]) -> None:
        await self._focus_browser()
        if name == "open_web_browser":
            return
        if name in ("go_back", "go_forward"):
            await (self.sandbox.go_back() if name == "go_back" else self.sandbox.go_forward())
            return
        url = self.search_url if name == "search" else args.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ToolCallError(f"url must be a non-empty string, got {url!r}")
        if "://" not in url and not url.startswith(("about:", "data:")):
            url = "https://" + url
        try:
            await self.sandbox.navigate(url)
        except (errors.InvalidActionError, errors.UnsupportedInModeError) as exc:
            raise ToolCallError(exc.describe()) from exc

    async def _focus_browser(self) -> None:
        windows = [w for w in await self.sandbox.list_windows() if "chrom" in w.wm_class.lower()]
        if not windows:
            raise ToolCallError("no browser window is open on the desktop")
        active = [w for w in windows if w.active]
        if not active:
            await self.sandbox.focus_window(windows[-1].id)

    async def _current_url(self) -> str:
        try:
            tabs = await self.sandbox.browser_tabs()
        except errors.DeskboxError:  # a sandbox without a browser still answers, with no URL
            return ""
        return str(tabs[0].get("url", "")) if tabs else ""


def _call_parts(function_call: Any) -> tuple[str, Any]:
    if isinstance(function_call, Mapping):
        return str(function_call.get("name", "")), function_call.get("args") or {}
    return str(getattr(function_call, "name", "") or ""), getattr(function_call, "args", None) or {}
