"""Screen capture: a shared-memory grab on the X thread, encoding anywhere else.

The grab (mss over XShmGetImage) is much cheaper than encoding and must run on the X
thread; encoding (``deskbox.imaging``) runs on any other thread, so input is never
queued behind a PNG encoder.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import mss
from PIL import Image as PILImage

from ..actions import ImageFormat, Region
from ..errors import DesktopUnavailableError
from ..imaging import Encoded, encode, resize_bgrx
from .xthread import XThread


@dataclass(frozen=True, slots=True)
class Frame:
    """Raw BGRA pixels of a captured rectangle."""

    width: int
    height: int
    bgra: bytes | bytearray

    def to_image(self) -> PILImage.Image:
        return PILImage.frombuffer("RGB", (self.width, self.height), self.bgra, "raw", "BGRX", 0, 1)


class Grabber:
    """Grabs the screen of one display. Methods must run on the display's X thread."""

    def __init__(self, xthread: XThread) -> None:
        self._xthread = xthread
        self._grabbers: dict[bool, mss.MSS] = {}
        xthread.on_reconnect(self._reset)

    def _reset(self) -> None:
        grabbers, self._grabbers = self._grabbers, {}
        for grabber in grabbers.values():
            with contextlib.suppress(Exception):  # the display it held is gone
                grabber.close()

    def grab(self, region: Region | None = None, cursor: bool = False) -> Frame:
        grabber = self._grabbers.get(cursor)
        if grabber is None:
            grabber = mss.MSS(display=self._xthread.display_name, with_cursor=cursor)
            self._grabbers[cursor] = grabber
        if region is None:
            monitor = grabber.monitors[0]
        else:
            monitor = {"left": region.x, "top": region.y, "width": region.width, "height": region.height}
        try:
            shot = grabber.grab(monitor)
        except Exception as exc:
            # mss holds an X connection of its own: when the server behind it dies (even
            # mid-grab), it fails with whatever its bindings raise, an AssertionError among
            # them. Every grabber is dropped, with the X thread's connection, and the next
            # grab opens new ones.
            raise DesktopUnavailableError(f"the screen grab failed: {exc or type(exc).__name__}") from exc
        return Frame(shot.width, shot.height, shot.raw)  # mss hands out a fresh buffer


def encode_frame(
    frame: Frame, fmt: ImageFormat, quality: int = 80, size: tuple[int, int] | None = None
) -> Encoded:
    """Encode a grabbed frame, resized to ``size`` if given."""
    if size is not None and size != (frame.width, frame.height):
        scaled = resize_bgrx(frame.bgra, (frame.width, frame.height), size)
        if scaled is not None:
            return encode(scaled, fmt, quality)
    return encode(frame.to_image(), fmt, quality, size)
