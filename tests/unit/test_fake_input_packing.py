"""deskbox packs XTest's FakeInput itself (deskbox.desktop.input): byte for byte the
request python-xlib would build, for every kind of event and the edges of each field."""

from __future__ import annotations

import itertools

import pytest
from Xlib import X
from Xlib.ext import xtest

from deskbox.desktop.input import FAKE_INPUT, FAKE_INPUT_MINOR

EVENTS = (X.KeyPress, X.KeyRelease, X.ButtonPress, X.ButtonRelease, X.MotionNotify)
DETAILS = (0, 1, 9, 255)
DELAYS = (0, 2, 100, 0xFFFFFFFF)
POINTS = ((0, 0), (1279, 799), (-5, 7), (32767, -32768))


@pytest.mark.parametrize(
    ("event_type", "detail", "delay", "point"), list(itertools.product(EVENTS, DETAILS, DELAYS, POINTS))
)
def test_the_packed_request_is_python_xlibs(
    event_type: int, detail: int, delay: int, point: tuple[int, int]
) -> None:
    x, y = point
    theirs = xtest.FakeInput._request.to_binary(
        opcode=131, event_type=event_type, detail=detail, time=delay, root=X.NONE, x=x, y=y
    )
    ours = FAKE_INPUT.pack(
        131, FAKE_INPUT_MINOR, FAKE_INPUT.size // 4, event_type, detail, delay, X.NONE, x, y
    )
    assert ours == theirs
    assert len(ours) == 36  # nine words, as the XTest protocol fixes it
