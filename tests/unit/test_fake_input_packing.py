"""deskbox packs XTest's FakeInput itself (deskbox.desktop.input): byte for byte the
request python-xlib would build, for every kind of event and the edges of each field."""

from __future__ import annotations

import itertools

from Xlib import X
from Xlib.ext import xtest

from deskbox.desktop.input import pack_fake_input

EVENTS = (X.KeyPress, X.KeyRelease, X.ButtonPress, X.ButtonRelease, X.MotionNotify)
DETAILS = (0, 1, 9, 255)
DELAYS = (0, 2, 100, 0xFFFFFFFF)
POINTS = ((0, 0), (1279, 799), (-5, 7), (32767, -32768))


def test_the_packed_request_is_python_xlibs() -> None:
    for event_type, detail, delay, (x, y) in itertools.product(EVENTS, DETAILS, DELAYS, POINTS):
        theirs = xtest.FakeInput._request.to_binary(
            opcode=131, event_type=event_type, detail=detail, time=delay, root=X.NONE, x=x, y=y
        )
        ours = pack_fake_input(131, event_type, detail, delay, x, y)
        assert ours == theirs, (event_type, detail, delay, x, y)
        assert len(ours) == 36  # nine words, as the XTest protocol fixes it
