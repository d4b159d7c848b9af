"""The stock desktop as an ActionTarget: each primitive one xdotool command line.

It works around two faults of e2b_desktop's own methods:

- ``left_click(0, y)`` does not move the pointer there (``if x and y`` skips 0); here a
  click with a point always moves first, in the same command;
- ``write`` types 25-character chunks with 75 ms between keys; here one ``xdotool type``
  per run of ASCII text with ``ASCII_DELAY_MS`` between keys, and ``UNICODE_DELAY_MS`` for
  other characters, which are bound to spare keys beforehand (xdotool's own
  bind-type-unbind of a character outside the keymap dropped it in Chromium at any delay).

Held modifiers go down and up around the pointer steps in the same command line.
"""

from __future__ import annotations

import asyncio
import base64
import io
import shlex
import time
from collections.abc import Sequence

from PIL import Image as PILImage

from ...actions import ImageFormat, MouseButton, Region, ScreenshotOptions, zoom_size
from ...errors import ActionFailedError
from ...imaging import Encoded, encode_options
from ._remote import Remote

ASCII_DELAY_MS = 4
"""Between keys in ``xdotool type`` for ASCII text: no key was dropped at this speed."""
UNICODE_DELAY_MS = 12
"""For characters outside ASCII (bound to keys first): xdotool's default delay."""
KEYMAP_GRACE_S = 0.1
"""Applications read a keyboard-map change late; the template's driver waits as long."""
MIN_FAST_RUN = 8
"""ASCII runs shorter than this, next to other characters, go with them at the slow
speed: on E2B every command is a round trip, which costs more than a few slow keys."""
SCREEN_SIZE_TTL = 5.0
"""Seconds a read screen size is trusted; each read is a round trip to the cloud."""
BUTTONS: dict[MouseButton, int] = {"left": 1, "middle": 2, "right": 3, "back": 8, "forward": 9}
WHEEL = {(0, -1): 4, (0, 1): 5, (-1, 0): 6, (1, 0): 7}


def typing_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into runs to type fast (ASCII: True) or slowly (the rest), in order."""
    runs: list[tuple[str, bool]] = []
    for char in text:
        fast = ord(char) < 128
        if runs and runs[-1][1] == fast:
            runs[-1] = (runs[-1][0] + char, fast)
        else:
            runs.append((char, fast))
    if any(not fast for _, fast in runs):
        runs = [(run, fast and len(run) >= MIN_FAST_RUN) for run, fast in runs]
    merged: list[tuple[str, bool]] = []
    for run, fast in runs:
        if merged and merged[-1][1] == fast:
            merged[-1] = (merged[-1][0] + run, fast)
        else:
            merged.append((run, fast))
    return merged


def _at(x: int | None, y: int | None) -> list[str]:
    return [f"mousemove {x} {y}"] if x is not None and y is not None else []


def _held(modifiers: Sequence[str], steps: list[str]) -> list[str]:
    if not modifiers:
        return steps
    keys = shlex.quote("+".join(modifiers))
    return [f"keydown {keys}", *steps, f"keyup {keys}"]


class XdotoolTarget:
    """Actions on E2B's stock desktop (``deskbox.dispatch.ActionTarget``)."""

    def __init__(self, remote: Remote) -> None:
        self._remote = remote
        self._screen: tuple[int, int] | None = None
        self._screen_at = 0.0
        self._spare_keycodes: list[int] | None = None
        self._bound: set[str] = set()

    # ---- queries ------------------------------------------------------------------------

    async def screen_size(self) -> tuple[int, int]:
        if self._screen is None or time.monotonic() - self._screen_at > SCREEN_SIZE_TTL:
            width, height = (await self._remote.xdotool(["getdisplaygeometry"])).split()
            self._screen, self._screen_at = (int(width), int(height)), time.monotonic()
        return self._screen

    async def cursor_position(self) -> tuple[int, int]:
        fields = dict(
            line.split("=", 1) for line in (await self._remote.xdotool(["getmouselocation --shell"])).split()
        )
        return int(fields["X"]), int(fields["Y"])

    # ---- pointer ------------------------------------------------------------------------

    async def move(self, x: int, y: int) -> None:
        await self._remote.xdotool(_at(x, y))

    async def click(
        self, x: int | None, y: int | None, button: MouseButton, count: int, modifiers: Sequence[str]
    ) -> None:
        steps = [*_at(x, y), f"click --repeat {count} {BUTTONS[button]}"]
        await self._remote.xdotool(_held(modifiers, steps))

    async def button(self, x: int | None, y: int | None, button: MouseButton, down: bool) -> None:
        verb = "mousedown" if down else "mouseup"
        await self._remote.xdotool([*_at(x, y), f"{verb} {BUTTONS[button]}"])

    async def drag(
        self, path: Sequence[tuple[int, int]], button: MouseButton, modifiers: Sequence[str]
    ) -> None:
        (x, y), rest = path[0], path[1:]
        code = BUTTONS[button]
        steps = [f"mousemove {x} {y}", f"mousedown {code}", *(f"mousemove {px} {py}" for px, py in rest)]
        await self._remote.xdotool(_held(modifiers, [*steps, f"mouseup {code}"]))

    async def scroll(self, x: int | None, y: int | None, dx: int, dy: int, modifiers: Sequence[str]) -> None:
        steps = _at(x, y)
        for notches, unit in ((dy, (0, 1)), (dx, (1, 0))):
            if notches:
                sign = 1 if notches > 0 else -1
                wheel = WHEEL[(unit[0] * sign, unit[1] * sign)]
                steps.append(f"click --repeat {abs(notches)} {wheel}")
        await self._remote.xdotool(_held(modifiers, steps))

    # ---- keyboard -----------------------------------------------------------------------

    async def chord(self, keys: Sequence[str], repeat: int) -> None:
        repeated = f"--repeat {repeat} " if repeat > 1 else ""
        await self._remote.xdotool([f"key {repeated}{shlex.quote('+'.join(keys))}"])

    async def key(self, key: str, down: bool) -> None:
        await self._remote.xdotool([f"{'keydown' if down else 'keyup'} {shlex.quote(key)}"])

    async def press_chord(self, keys: Sequence[str]) -> str:
        combo = shlex.quote("+".join(keys))
        await self._remote.xdotool([f"keydown {combo}"])
        return combo

    async def release_chord(self, pressed: str) -> None:
        await self._remote.xdotool([f"keyup {pressed}"])

    async def type_text(self, text: str) -> None:
        await self._bind(text)
        for run, fast in typing_runs(text):
            delay = ASCII_DELAY_MS if fast else UNICODE_DELAY_MS
            await self._remote.xdotool([f"type --delay {delay} -- {shlex.quote(run)}"])

    async def _bind(self, text: str) -> None:
        """Map the text's characters outside ASCII to spare keycodes before typing them,
        once per sandbox, as the template mode's driver does."""
        wanted = sorted({c for c in text if ord(c) >= 128} - self._bound)
        if not wanted:
            return
        if self._spare_keycodes is None:
            listing = await self._remote.check("xmodmap -pke")
            self._spare_keycodes = [
                int(line.split()[1]) for line in listing.splitlines() if line.rstrip().endswith("=")
            ]
        assignments = []
        for char in wanted:
            if not self._spare_keycodes:
                break  # out of keys: xdotool binds the rest itself, as e2b_desktop would
            keysym = f"U{ord(char):04X}"
            assignments.append(f"-e 'keycode {self._spare_keycodes.pop()} = {keysym} {keysym}'")
            self._bound.add(char)
        if assignments:
            await self._remote.check("xmodmap " + " ".join(assignments) + f" && sleep {KEYMAP_GRACE_S}")

    # ---- screen -------------------------------------------------------------------------

    async def _png(self, cursor: bool) -> bytes:
        """The whole screen as PNG, in one round trip (scrot, then the file on stdout)."""
        path = f"/tmp/deskbox-shot-{time.monotonic_ns()}.png"
        pointer = " --pointer" if cursor else ""
        line = (
            f"scrot --overwrite{pointer} {path} && base64 -w0 {path}; status=$?; rm -f {path}; exit $status"
        )
        return base64.b64decode(await self._remote.check(line))

    async def _settled_png(self, cursor: bool, settle: float) -> bytes:
        png = await self._png(cursor)
        # Each screenshot is a round trip to the cloud, longer than any repaint, so two
        # equal ones in a row mean the screen has settled.
        deadline = time.monotonic() + settle
        while settle > 0 and time.monotonic() < deadline:
            latest = await self._png(cursor)
            if latest == png:
                break
            png = latest
        return png

    async def screenshot(self, options: ScreenshotOptions, settle: float = 0.0) -> Encoded:
        png = await self._settled_png(options.cursor, settle)
        return await asyncio.to_thread(_encode_png, png, options)

    async def zoom(
        self, region: Region, width: int | None, height: int | None, fmt: ImageFormat, quality: int
    ) -> Encoded:
        size = zoom_size(region, await self.screen_size(), width, height)
        options = ScreenshotOptions(format=fmt, quality=quality, region=region, width=size[0], height=size[1])
        return await self.screenshot(options)


def _encode_png(png: bytes, options: ScreenshotOptions) -> Encoded:
    """The stock PNG as asked: itself when nothing changes, else cropped, sized, encoded."""
    try:
        picture = PILImage.open(io.BytesIO(png))
        if options.format == "png" and options.region is None and _unsized(options):
            return Encoded("png", picture.width, picture.height, png)
        return encode_options(picture.convert("RGB"), options)
    except OSError as exc:
        raise ActionFailedError(
            f"the stock desktop sent an unreadable screenshot: {exc}", index=0, action_type=""
        ) from exc


def _unsized(options: ScreenshotOptions) -> bool:
    return options.width is None and options.height is None and options.scale is None
