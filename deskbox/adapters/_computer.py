"""What every adapter shares: one sandbox, its screen in model pixels, and failures as text.

An adapter translates a vendor's tool call into schema actions (``deskbox.actions``), runs
them here, and wraps what comes back in the vendor's result type. Anything that keeps a
call from running as asked becomes a :class:`ToolCallError`, which each adapter turns
into its vendor's error result, so a bad call never raises out of the agent loop.
"""

from __future__ import annotations

import builtins
import logging
import math
from collections.abc import Sequence
from typing import Any

from .. import errors
from ..actions import (
    Action,
    ActionResponse,
    CursorPosition,
    Image,
    ImageFormat,
    Region,
    Screenshot,
    Zoom,
    build,
)
from ..client import AsyncSandbox
from ._scaling import Scaler

ScalingTarget = tuple[int, int] | bool | None
log = logging.getLogger("deskbox.adapters")

DEFAULT_SETTLE = 2.0
"""Longest wait, in seconds, for the screen to stop changing before the screenshot that
answers an action. A model that sees the screen mid-repaint or mid-load acts on a stale
page; Anthropic's reference loop sleeps 2 s after every action for the same reason, where
this waits only as long as the screen keeps changing (0.1 s when it does not)."""


PIXELS_PER_NOTCH = 120
"""How far one wheel notch scrolls a page in the sandbox's Chromium (its wheel events
report deltaY = 120 per notch), so a pixel delta becomes the nearest number of notches."""


def notches(pixels: int) -> int:
    """Wheel notches for a pixel delta: at least one for any motion, sign kept."""
    if pixels == 0:
        return 0
    count = max(1, round(abs(pixels) / PIXELS_PER_NOTCH))
    return count if pixels > 0 else -count


def as_data(value: Any) -> Any:
    """A vendor SDK's object (a pydantic model) as plain JSON data; dicts stay as they are."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if hasattr(value, "to_json_dict"):  # google-genai's types
        return value.to_json_dict()
    return value


async def note_call(sandbox: AsyncSandbox, source: str, call: Any, text: str | None = None) -> None:
    """Tell the sandbox's trace what the model asked for, when a trace runs. A trace that
    cannot take the note is logged, never the agent's problem: the step still runs."""
    try:
        await sandbox.trace.note(source, call=as_data(call), text=text or None)
    except errors.DeskboxError as exc:
        log.warning("the trace did not record %s's tool call: %s", source, exc)


class ToolCallError(Exception):
    """A tool call that cannot run as asked; the text is what the model is told."""


class Computer:
    """A sandbox seen through a model's eyes: coordinates and screenshots in model pixels."""

    def __init__(
        self,
        sandbox: AsyncSandbox,
        *,
        scaling: ScalingTarget = False,
        image_format: ImageFormat = "png",
        quality: int = 80,
        settle: float = DEFAULT_SETTLE,
    ) -> None:
        self.sandbox = sandbox
        self._scaling = scaling
        self.image_format: ImageFormat = image_format
        self.quality = quality
        self.settle = settle
        self._scaler: Scaler | None = None

    async def scaler(self) -> Scaler:
        if self._scaler is None:
            width, height = await self.sandbox.get_screen_size()
            self._scaler = Scaler.for_screen(width, height, self._scaling)
        return self._scaler

    # ---- coordinates --------------------------------------------------------------------

    async def point(self, value: Any, field: str) -> tuple[int, int]:
        """A model's [x, y] (list or pair) as a screen pixel, refusing what is off its image."""
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ToolCallError(f"{field} must be [x, y], got {value!r}")
        return await self.xy(value[0], value[1], field)

    async def xy(self, x: Any, y: Any, field: str) -> tuple[int, int]:
        scaler = await self.scaler()
        width, height = scaler.model
        for name, number, limit in (("x", x, width), ("y", y, height)):
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ToolCallError(f"{field}: {name} must be a number, got {number!r}")
            if not 0 <= number < limit:
                raise ToolCallError(
                    f"{field}: {name}={number} is outside the {width}x{height} screen (0..{limit - 1})"
                )
        return scaler.to_screen(x, y)

    async def cursor_in_model(self) -> tuple[int, int]:
        x, y = await self.sandbox.get_cursor_position()
        return (await self.scaler()).to_model(x, y)

    # ---- running ------------------------------------------------------------------------

    def build(self, model: type[Any], **fields: Any) -> Action:
        """A schema action, with a validation failure told as the fields at fault."""
        try:
            action: Action = build(model, **fields)
        except errors.InvalidActionError as exc:
            raise ToolCallError(exc.describe()) from None
        return action

    async def run(self, actions: Sequence[Action], *, screenshot: bool = False) -> ActionResponse:
        """Run actions as one batch (one round trip), optionally answered with a screenshot
        taken once the screen has settled."""
        options: dict[str, Any] = {}
        if screenshot:
            options = {**await self._image_options(), "settle": self.settle}
        try:
            return await self.sandbox.act(builtins.list(actions), screenshot_after=screenshot, **options)
        except errors.InvalidActionError as exc:
            raise ToolCallError(f"the desktop refused the action: {exc.describe()}") from exc
        except (errors.ActionFailedError, errors.UnsupportedInModeError) as exc:
            raise ToolCallError(exc.message) from exc

    async def screenshot(self, *, settled: bool = False) -> Image:
        """The screen scaled to the model's size: now, or once it has settled."""
        if settled:
            image = (await self.run([self.build(CursorPosition)], screenshot=True)).screenshot
        else:
            response = await self.run([self.build(Screenshot, **await self._image_options())])
            image = response.results[0].image
        assert image is not None
        return image

    async def zoom(self, x0: Any, y0: Any, x1: Any, y1: Any, field: str = "region") -> Image:
        """A region given in model pixels, scaled up to fit the model's image size."""
        left, top = await self.xy(x0, y0, field)
        right, bottom = await self.xy(x1, y1, field)
        if right <= left or bottom <= top:
            raise ToolCallError(f"{field}: give [x0, y0, x1, y1] with x1 > x0 and y1 > y0")
        region = Region(x=left, y=top, width=right - left, height=bottom - top)
        model_width, model_height = (await self.scaler()).model
        fit = min(model_width / region.width, model_height / region.height)
        size = {"width": max(1, round(region.width * fit)), "height": max(1, round(region.height * fit))}
        response = await self.run(
            [self.build(Zoom, region=region, format=self.image_format, quality=self.quality, **size)]
        )
        image = response.results[0].image
        assert image is not None
        return image

    async def _image_options(self) -> dict[str, Any]:
        scaler = await self.scaler()
        options: dict[str, Any] = {"format": self.image_format, "quality": self.quality}
        if scaler.scaled:
            options.update(width=scaler.model[0], height=scaler.model[1])
        return options
