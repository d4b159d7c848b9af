"""Whether the screen changed: the X server's DAMAGE extension, watched on a thread.

A trace keeps a picture of the screen only when it changed. Grabbing and comparing
frames to find out would cost a grab and a 4 MB comparison per step; DAMAGE has the
X server tell us instead, so asking "did anything change since then?" costs nothing.
The watcher holds its own X connection (python-xlib connections are not shared across
threads) and blocks on it; each notification bumps a counter and re-arms the report.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time

from Xlib import display as xdisplay
from Xlib import error as xerror
from Xlib.ext import damage


def _readable(connection: xdisplay.Display) -> bool:
    try:
        ready, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


class ScreenChanges:
    """A counter that grows whenever something on the screen is drawn.

    Where the X server has no DAMAGE extension, or the watcher's connection died, every
    question answers "changed": a trace then keeps more pictures, never fewer.
    """

    def __init__(self, display: str) -> None:
        self._display_name = display
        self._version = 0
        self._changed_at = time.monotonic()
        self._connection: xdisplay.Display | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def watching(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Watch the screen; False when this X server cannot report damage."""
        with self._lock:
            if self.watching:
                return True
            try:
                connection = xdisplay.Display(self._display_name)
            except (xerror.DisplayError, OSError):
                return False
            if not connection.has_extension("DAMAGE"):
                connection.close()
                return False
            connection.damage_query_version()
            region = connection.screen().root.damage_create(damage.DamageReportNonEmpty)
            connection.sync()
            self._connection = connection
            self._thread = threading.Thread(
                target=self._watch, args=(connection, region), name="deskbox-damage", daemon=True
            )
            self._thread.start()
            return True

    def stop(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            thread, self._thread = self._thread, None
        if connection is not None:
            with contextlib.suppress(Exception):
                # Shutting the socket down wakes the thread out of its blocking read.
                connection.display.socket.shutdown(2)
            with contextlib.suppress(Exception):
                connection.close()
        if thread is not None:
            thread.join(timeout=2)

    def version(self) -> int:
        """Grows with every change; equal answers mean nothing was drawn in between."""
        connection = self._connection
        if not self.watching or connection is None:
            self._version += 1  # no watcher: assume a change
            self._changed_at = time.monotonic()
        elif _readable(connection):
            # A notification the X server has sent and the watcher thread has not read yet
            # (it waits for the GIL): a change all the same.
            self._version += 1
            self._changed_at = time.monotonic()
        return self._version

    def quiet_for(self) -> float:
        """Seconds since the screen last changed."""
        if not self.watching:
            return 0.0
        return time.monotonic() - self._changed_at

    def _watch(self, connection: xdisplay.Display, region: int) -> None:
        try:
            while True:
                connection.next_event()  # only DamageNotify is selected on this connection
                self._version += 1
                self._changed_at = time.monotonic()
                # NonEmpty reports once until the damage is taken away: take it, so the
                # next drawing reports again.
                connection.damage_subtract(region)
                connection.flush()
        except Exception:  # the connection closed (stop) or the X server went away
            return
