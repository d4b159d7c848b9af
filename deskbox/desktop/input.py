"""Pointer and keyboard input through the XTest extension on a persistent connection.

Every method runs on the X thread, queues its fake events and ends with one round trip
(``sync``), so when it returns the X server has delivered the events: no subprocess, no
fixed sleep. Callers await the time between events they want (holds, waits) themselves.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterable, Sequence

from Xlib import X
from Xlib import display as xdisplay
from Xlib.ext import xtest

from ..actions import MouseButton
from ..keys import keysym_for, keysym_for_char
from .keymap import Keymap, KeyStroke
from .xthread import XThread

BUTTONS: dict[str, int] = {"left": 1, "middle": 2, "right": 3, "back": 8, "forward": 9}
WHEEL_UP, WHEEL_DOWN, WHEEL_LEFT, WHEEL_RIGHT = 4, 5, 6, 7

# X timestamps have millisecond resolution, and toolkits (Chromium among them) refuse to
# count two presses with the same timestamp as a double click. XTest can delay an event
# inside the server, so repeated clicks are spaced without the client sleeping.
MULTI_CLICK_SPACING_MS = 2
# Toolkits merge motion events that are queued together, so a drag whose moves all
# arrive at once looks like a jump. Spacing them in the server, like a real mouse
# reporting at about 120 Hz, lets drag-and-drop see the way between the points.
DRAG_STEP_MS = 8
CLICK_TO_KEY_MS = 100
"""The least time between a button event and the next key press. Chromium routes a click
through an asynchronous hit test but sends keys straight to the focused element, so keys
sent right behind a click that moves the focus went to the old field. 30 ms was enough on
an idle machine but not while a screenshot was being encoded; 100 ms held with both cores
busy. Only a key press that follows a click that closely waits, inside the X server."""
MODIFIERS_AFTER_POINTER_MS = 30
"""How long the modifiers of a click, drag or scroll stay down after its pointer events.
A window manager that grabs the button (xfwm4 does, to focus on click) replays the
press to the application after the keyboard's events: released at once, Alt had gone up
in Chromium before an Alt+click reached it."""
QUICK_CHORD_REPEAT = 4
"""Up to this many repeats a shortcut is short enough to send from the caller's thread."""
WHEEL_SPACING_MS = 3
"""Between wheel notches, delivered so by the X server. Chromium folds notches that
arrive together into one smooth scroll and loses part of it; GTK 3 (Thunar) and VTE
(xfce4-terminal) take every notch even at 0 ms. Measured by bench/bench_wheel.py with both
cores busy, 15 notches a trial: at 0 ms Chromium lost part of 5 trials of 20 (one moved
39% of the way), at 1 ms 1 of 20, at 2 ms and more none of 48. 3 ms keeps a step above
the last loss; the old 8 ms made a 3-notch scroll take 16 ms in the X server."""


_FAKE_INPUT = struct.Struct("=BBHBBxxIIxxxxxxxxhhxxxxxxxx")
"""XTest's FakeInput request (minor opcode 2, nine words) in the connection's byte order,
as python-xlib's ``xtest.FakeInput`` lays it out: opcode, minor, length, type, detail,
time, root, x, y."""


def pack_fake_input(opcode: int, event_type: int, detail: int, delay_ms: int, x: int, y: int) -> bytes:
    """One FakeInput request, byte for byte what python-xlib builds (a test compares)."""
    return _FAKE_INPUT.pack(opcode, 2, _FAKE_INPUT.size // 4, event_type, detail, delay_ms, X.NONE, x, y)


class PackedRequest:
    """A request python-xlib queues and sends like its own, packed by us beforehand.

    python-xlib builds each request through its generic field machinery: 7 us for one
    FakeInput warm and several times that on an idle machine's cold caches, where one
    struct.pack costs a tenth of it. Input is all FakeInputs (a typed character is four
    of them), so input packs them itself; the connection still numbers them, so replies
    and errors of other requests stay matched."""

    __slots__ = ("_binary", "_serial")

    def __init__(self, binary: bytes) -> None:
        self._binary = binary
        self._serial = 0


class XInput:
    """XTest input for one display. Methods must run on the display's X thread."""

    def __init__(self, xthread: XThread) -> None:
        self._xthread = xthread
        self._keymap: Keymap | None = None
        self._held_keys: dict[str, int] = {}
        self._button_due: float | None = None
        """When the last button event reaches the server, until a key press follows it."""
        self._xtest_opcode: int | None = None
        xthread.on_reconnect(self._reset)

    def _reset(self) -> None:
        self._keymap = None
        self._xtest_opcode = None
        self._held_keys.clear()

    @property
    def _conn(self) -> xdisplay.Display:
        return self._xthread.connection

    def _fake(
        self, event_type: int, detail: int = 0, x: int | None = None, y: int | None = None, delay_ms: int = 0
    ) -> None:
        """Queue one XTest event; the server waits ``delay_ms`` before delivering it."""
        if event_type in (X.ButtonPress, X.ButtonRelease):
            self._button_due = time.monotonic() + delay_ms / 1000
        elif event_type == X.KeyPress and self._button_due is not None:
            since_button_ms = (time.monotonic() - self._button_due) * 1000
            delay_ms = max(delay_ms, math.ceil(CLICK_TO_KEY_MS - since_button_ms))
            self._button_due = None
        protocol = self._conn.display
        if self._xtest_opcode is None:
            self._xtest_opcode = protocol.get_extension_major(xtest.extname)
        binary = pack_fake_input(
            self._xtest_opcode, event_type, detail, delay_ms, 0 if x is None else x, 0 if y is None else y
        )
        protocol.send_request(PackedRequest(binary), False)

    @property
    def keymap(self) -> Keymap:
        conn = self._conn
        # Another client (setxkbmap, an IME) may have changed the map since we read it.
        changed = False
        while conn.pending_events():
            if conn.next_event().type == X.MappingNotify:
                changed = True
        if self._keymap is None:
            self._keymap = Keymap(conn)
        elif changed:
            self._keymap.reload()
        return self._keymap

    # ---- pointer ------------------------------------------------------------------------

    def cursor_position(self) -> tuple[int, int]:
        pointer = self._conn.screen().root.query_pointer()
        return pointer.root_x, pointer.root_y

    def screen_size(self) -> tuple[int, int]:
        geometry = self._conn.screen().root.get_geometry()
        return geometry.width, geometry.height

    def move(self, x: int, y: int) -> None:
        self._fake(X.MotionNotify, x=x, y=y)
        self._conn.sync()

    def _move_if(self, x: int | None, y: int | None) -> None:
        if x is not None and y is not None:
            self._fake(X.MotionNotify, x=x, y=y)

    def click(
        self,
        x: int | None,
        y: int | None,
        button: MouseButton,
        count: int,
        modifiers: Sequence[str] = (),
    ) -> None:
        self._move_if(x, y)
        strokes = self._press_keys(modifiers)
        try:
            for index in range(count):
                self._fake(X.ButtonPress, BUTTONS[button], delay_ms=MULTI_CLICK_SPACING_MS if index else 0)
                self._fake(X.ButtonRelease, BUTTONS[button])
        finally:
            self._release_modifiers(strokes)
            self._conn.sync()

    def button(self, x: int | None, y: int | None, button: MouseButton, down: bool) -> None:
        self._move_if(x, y)
        self._fake(X.ButtonPress if down else X.ButtonRelease, BUTTONS[button])
        self._conn.sync()

    def drag(self, path: Sequence[tuple[int, int]], button: MouseButton, modifiers: Sequence[str]) -> None:
        first, *rest = path
        self._fake(X.MotionNotify, x=first[0], y=first[1])
        strokes = self._press_keys(modifiers)
        self._fake(X.ButtonPress, BUTTONS[button])
        try:
            previous = first
            for point in rest:
                # Intermediate motion lets toolkits see a drag start before the drop point.
                for step in _steps(previous, point):
                    self._fake(X.MotionNotify, x=step[0], y=step[1], delay_ms=DRAG_STEP_MS)
                previous = point
        finally:
            self._fake(X.ButtonRelease, BUTTONS[button])
            self._release_modifiers(strokes)
            self._conn.sync()

    def scroll(self, x: int | None, y: int | None, dx: int, dy: int, modifiers: Sequence[str]) -> None:
        self._move_if(x, y)
        strokes = self._press_keys(modifiers)
        try:
            for notches, negative, positive in ((dy, WHEEL_UP, WHEEL_DOWN), (dx, WHEEL_LEFT, WHEEL_RIGHT)):
                wheel = negative if notches < 0 else positive
                for index in range(abs(notches)):
                    self._fake(X.ButtonPress, wheel, delay_ms=WHEEL_SPACING_MS if index else 0)
                    self._fake(X.ButtonRelease, wheel)
        finally:
            self._release_modifiers(strokes)
            self._conn.sync()

    # ---- keyboard -----------------------------------------------------------------------

    def _strokes(self, names: Iterable[str]) -> list[KeyStroke]:
        keysyms = [keysym_for(name) for name in names]
        keymap = self.keymap
        keymap.bind(keysyms)
        strokes = []
        for keysym in keysyms:
            stroke = keymap.lookup(keysym)
            assert stroke is not None, "bind() maps every keysym it is given"
            strokes.append(stroke)
        return strokes

    def _shift_keycode(self) -> int:
        stroke = self.keymap.lookup(keysym_for("Shift_L"))
        assert stroke is not None, "every X keymap has Shift_L"
        return stroke.keycode

    def _press_keys(self, names: Sequence[str]) -> list[KeyStroke]:
        if not names:
            return []
        strokes = self._strokes(names)
        for stroke in strokes:
            self._fake(X.KeyPress, stroke.keycode)
        return strokes

    def _release_keys(self, strokes: Sequence[KeyStroke]) -> None:
        for stroke in reversed(strokes):
            self._fake(X.KeyRelease, stroke.keycode)

    def _release_modifiers(self, strokes: Sequence[KeyStroke]) -> None:
        """Release the modifiers of pointer events, the first after a pause in the server."""
        for index, stroke in enumerate(reversed(strokes)):
            self._fake(X.KeyRelease, stroke.keycode, delay_ms=0 if index else MODIFIERS_AFTER_POINTER_MS)

    def chord_unless_it_waits(self, names: Sequence[str], repeat: int = 1) -> bool:
        """``chord``, done only when nothing in it can wait: every key already on the
        keyboard map (binding one changes the map, a round trip and a notification) and no
        click so recent that the press must be held back in the server. False, having
        done nothing, otherwise. Keeps a plain shortcut off the X thread's two hops."""
        if self._keymap is None or repeat > QUICK_CHORD_REPEAT:
            return False
        if self._button_due is not None and (time.monotonic() - self._button_due) * 1000 < CLICK_TO_KEY_MS:
            return False
        keysyms = [keysym_for(name) for name in names]
        if any(self.keymap.lookup(keysym) is None for keysym in keysyms):
            return False
        self.chord(names, repeat)
        return True

    def chord(self, names: Sequence[str], repeat: int = 1) -> None:
        """Press keys together and release them, ``repeat`` times."""
        strokes = self._strokes(names)
        # A lone shifted symbol ("A", "?") needs Shift; in a chord the caller names Shift.
        shift = len(strokes) == 1 and strokes[0].shift
        shift_code = self._shift_keycode() if shift else 0
        for _ in range(repeat):
            if shift:
                self._fake(X.KeyPress, shift_code)
            for stroke in strokes:
                self._fake(X.KeyPress, stroke.keycode)
            for stroke in reversed(strokes):
                self._fake(X.KeyRelease, stroke.keycode)
            if shift:
                self._fake(X.KeyRelease, shift_code)
        self._conn.sync()

    def key(self, name: str, down: bool) -> None:
        if down:
            (stroke,) = self._strokes([name])
            self._held_keys[name] = stroke.keycode
            # A shifted character ("A", "<") goes down with Shift around its press only,
            # as pyautogui and xdotool do, so it types itself and Shift is not left held.
            shift_code = self._shift_keycode() if stroke.shift and len(name) == 1 else 0
            if shift_code:
                self._fake(X.KeyPress, shift_code)
            self._fake(X.KeyPress, stroke.keycode)
            if shift_code:
                self._fake(X.KeyRelease, shift_code)
        else:
            keycode = self._held_keys.pop(name, None)
            if keycode is None:
                (stroke,) = self._strokes([name])
                keycode = stroke.keycode
            self._fake(X.KeyRelease, keycode)
        self._conn.sync()

    def press_chord(self, names: Sequence[str]) -> list[KeyStroke]:
        strokes = self._press_keys(names)
        self._conn.sync()
        return strokes

    def release_chord(self, strokes: Sequence[KeyStroke]) -> None:
        self._release_keys(strokes)
        self._conn.sync()

    def type_text(self, text: str) -> None:
        """Type ``text`` exactly, whatever the keyboard map holds."""
        keymap = self.keymap
        shift_code = self._shift_keycode()
        for chunk in _chunks_within(text, keymap):
            self._strokes_for_text(chunk, keymap, shift_code)
            self._conn.sync()

    def _strokes_for_text(self, text: str, keymap: Keymap, shift_code: int) -> None:
        keysyms = [keysym_for_char(char) for char in text]
        keymap.bind(keysyms)
        for keysym in keysyms:
            stroke = keymap.lookup(keysym)
            assert stroke is not None
            if stroke.shift:
                self._fake(X.KeyPress, shift_code)
            self._fake(X.KeyPress, stroke.keycode)
            self._fake(X.KeyRelease, stroke.keycode)
            if stroke.shift:
                self._fake(X.KeyRelease, shift_code)


def _steps(start: tuple[int, int], end: tuple[int, int], pixels_per_step: int = 24) -> list[tuple[int, int]]:
    """Points from ``start`` (excluded) to ``end`` (included), at most 12 per segment."""
    distance = max(abs(end[0] - start[0]), abs(end[1] - start[1]))
    count = max(1, min(12, distance // pixels_per_step))
    return [
        (start[0] + (end[0] - start[0]) * i // count, start[1] + (end[1] - start[1]) * i // count)
        for i in range(1, count + 1)
    ]


def _chunks_within(text: str, keymap: Keymap) -> Iterable[str]:
    """Split text so that no chunk needs more borrowed keycodes than the keymap has."""
    start = 0
    borrowing: set[int] = set()
    for index, char in enumerate(text):
        keysym = keysym_for_char(char)
        if keymap.needs_borrow(keysym) and keysym not in borrowing:
            if len(borrowing) == keymap.capacity:
                yield text[start:index]
                start, borrowing = index, set()
            borrowing.add(keysym)
    yield text[start:]
