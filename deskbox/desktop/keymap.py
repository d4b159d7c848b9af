"""Which keycode (and whether Shift) produces a keysym, borrowing spare keycodes.

XTest sends keycodes, not characters. A character that the keyboard map lacks ("é" on a
US map, "日", "🙂") is typed by binding its keysym to a keycode that has no symbols, the
way xdotool does. Two rules keep that correct for the receiving application, which
translates a keycode with the map it has when it reads the event:

- A borrowed keycode keeps its binding after use and is reused least-recently-used, so
  the map is never changed under events an application has not read yet, unless a single
  text needs more distinct characters than there are spare keycodes.
- All bindings a text needs are made in one ChangeKeyboardMapping before its first key.
- Rebinding a keycode that meant another character races the application twice: it
  may read the map change off the socket before dispatching keys typed earlier (and
  translate them with the new binding), and it refreshes its map a little after the
  change (and translates the next keys with the old one). So a rebind waits until the
  keycode's last use is REBIND_GRACE_SECONDS old, and again after the change.
- Binding an empty keycode races the refresh too: Chromium has read a press on a keycode
  bound a moment before as key "\0" (the old, empty binding) and dropped the character.
  So any map change waits REBIND_GRACE_SECONDS before the first key. Bindings are kept,
  so a character costs that wait once per sandbox, not once per text.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from Xlib import X
from Xlib import display as xdisplay

REBIND_GRACE_SECONDS = 0.1
"""How long after its last use a borrowed keycode may be rebound to another keysym."""


@dataclass(frozen=True, slots=True)
class KeyStroke:
    keycode: int
    shift: bool


class Keymap:
    """The keysym index of one X connection, plus the borrowed keycodes."""

    def __init__(self, connection: xdisplay.Display) -> None:
        self._connection = connection
        self._min = connection.display.info.min_keycode
        self._max = connection.display.info.max_keycode
        self._index: dict[int, KeyStroke] = {}
        self._spare: list[int] = []
        self._borrowed: OrderedDict[int, int] = OrderedDict()  # keysym -> keycode, LRU order
        self._last_used: dict[int, float] = {}  # borrowed keycode -> monotonic time
        self.reload()

    def reload(self) -> None:
        """Re-read the server's map, e.g. after another client changed it."""
        count = self._max - self._min + 1
        rows = self._connection.get_keyboard_mapping(self._min, count)
        index: dict[int, KeyStroke] = {}
        spare: list[int] = []
        for offset, row in enumerate(rows):
            keycode = self._min + offset
            symbols = list(row[:2])
            if not any(symbols):
                spare.append(keycode)
                continue
            for level, keysym in enumerate(symbols):
                if keysym and keysym not in index:
                    index[keysym] = KeyStroke(keycode, shift=level == 1)
        # A borrowed keycode has symbols now, so it is not spare; it stays ours while the
        # server still maps it to what we bound.
        self._borrowed = OrderedDict(
            (sym, code) for sym, code in self._borrowed.items() if sym in index and index[sym].keycode == code
        )
        self._spare = spare
        self._index = index

    @property
    def capacity(self) -> int:
        """How many keysyms can be borrowed at once."""
        return len(self._spare) + len(self._borrowed)

    def needs_borrow(self, keysym: int) -> bool:
        """Whether typing ``keysym`` takes one of the borrowable keycodes."""
        return keysym not in self._index or keysym in self._borrowed

    def lookup(self, keysym: int) -> KeyStroke | None:
        stroke = self._index.get(keysym)
        if stroke is not None and keysym in self._borrowed:
            self._borrowed.move_to_end(keysym)
            self._last_used[stroke.keycode] = time.monotonic()
        return stroke

    def bind(self, keysyms: list[int]) -> None:
        """Make every keysym in ``keysyms`` typeable, with one map change at most.

        ``keysyms`` may hold at most :attr:`capacity` distinct keysyms that need a
        borrowed keycode (see :meth:`needs_borrow`).
        """
        missing = [sym for sym in dict.fromkeys(keysyms) if sym not in self._index]
        if not missing:
            return
        if len(missing) > self.capacity:
            raise ValueError(f"{len(missing)} unmapped keysyms exceed {self.capacity} spare keycodes")
        wanted = set(keysyms)
        changes: dict[int, int] = {}
        rebinding = False
        for keysym in missing:
            if self._spare:
                keycode = self._spare.pop()
            else:
                rebinding = True
                victim = next(sym for sym in self._borrowed if sym not in wanted)
                keycode = self._borrowed.pop(victim)
                del self._index[victim]
            changes[keycode] = keysym
            self._borrowed[keysym] = keycode
            self._index[keysym] = KeyStroke(keycode, shift=False)
        last_use = max((self._last_used.pop(code, 0.0) for code in changes), default=0.0)
        pause = REBIND_GRACE_SECONDS - (time.monotonic() - last_use)
        if rebinding and pause > 0:
            time.sleep(pause)
        # One request for the contiguous span keeps the application's map update atomic.
        low, high = min(changes), max(changes)
        rows = self._connection.get_keyboard_mapping(low, high - low + 1)
        width = max(2, len(rows[0]) if rows else 2)
        table = []
        for offset, row in enumerate(rows):
            keycode = low + offset
            if keycode in changes:
                # Both levels carry the keysym, so a held Shift cannot change the result.
                table.append([changes[keycode], changes[keycode]] + [X.NoSymbol] * (width - 2))
            else:
                table.append(list(row) + [X.NoSymbol] * (width - len(row)))
        self._connection.change_keyboard_mapping(low, table)
        self._connection.sync()
        time.sleep(REBIND_GRACE_SECONDS)
