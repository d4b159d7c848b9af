"""Whether the screen changed: the X server's DAMAGE extension, watched on a thread.

A trace keeps a picture of the screen only when it changed. Grabbing and comparing
frames to find out would cost a grab and a 4 MB comparison per step; DAMAGE has the
X server tell us instead, so asking "did anything change since then?" costs nothing.
The watcher holds its own X connection (python-xlib connections are not shared across
threads) and blocks on it; each notification bumps a counter and re-arms the report.

A notification can be on its way when the question is asked: the X server has drawn, but
the event sits in a socket buffer or in the watcher's hands. So asking sends a fence: a
property change on a window of the watcher's, from a second connection. The X server
delivers events to a connection in the order it did the work, so once the watcher has
seen the fence it has seen every drawing done before the question.
"""

from __future__ import annotations

import contextlib
import threading
import time

from Xlib import X, Xatom
from Xlib import display as xdisplay
from Xlib import error as xerror
from Xlib.ext import damage

FENCE_TIMEOUT = 2.0
"""Seconds to wait for the watcher to see a fence; past it, the screen counts as changed."""


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
        self._asker: xdisplay.Display | None = None
        self._fence_window = 0
        self._fence_atom = 0
        self._fences_sent = 0
        self._fences_seen = 0
        self._fence_seen = threading.Condition()
        self._asking = threading.Lock()

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
            try:
                asker = xdisplay.Display(self._display_name)
            except (xerror.DisplayError, OSError):
                connection.close()
                return False
            connection.damage_query_version()
            root = connection.screen().root
            region = root.damage_create(damage.DamageReportNonEmpty)
            fence = root.create_window(
                -1, -1, 1, 1, 0, 0, X.InputOnly, X.CopyFromParent, event_mask=X.PropertyChangeMask
            )
            self._fence_atom = connection.intern_atom("_DESKBOX_DAMAGE_FENCE")
            connection.sync()
            self._fence_window = fence.id
            self._fences_sent = self._fences_seen = 0
            self._asker = asker
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
            asker, self._asker = self._asker, None
        if connection is not None:
            with contextlib.suppress(Exception):
                # Shutting the socket down wakes the thread out of its blocking read.
                connection.display.socket.shutdown(2)
            with contextlib.suppress(Exception):
                connection.close()
        if thread is not None:
            thread.join(timeout=2)  # its end wakes whoever waits on a fence
        if asker is not None:
            with self._asking, contextlib.suppress(Exception):
                asker.close()

    def version(self) -> int:
        """Grows with every change; equal answers mean nothing was drawn in between.

        Blocks for one X round trip (the fence), so call it off the event loop.
        """
        if not self.watching or not self._fence():
            self._version += 1  # no watcher, or it did not answer: assume a change
            self._changed_at = time.monotonic()
        return self._version

    def _fence(self) -> bool:
        """Wait until the watcher has read every notification sent before now."""
        with self._asking:
            asker = self._asker
            if asker is None:
                return False
            try:
                window = asker.create_resource_object("window", self._fence_window)
                window.change_property(self._fence_atom, Xatom.INTEGER, 32, [self._fences_sent])
                asker.flush()
            except Exception:
                return False
            self._fences_sent += 1
            wanted = self._fences_sent
            with self._fence_seen:
                return (
                    self._fence_seen.wait_for(
                        lambda: self._fences_seen >= wanted or not self.watching, FENCE_TIMEOUT
                    )
                    and self._fences_seen >= wanted
                )

    def quiet_for(self) -> float:
        """Seconds since the screen last changed."""
        if not self.watching:
            return 0.0
        return time.monotonic() - self._changed_at

    def _watch(self, connection: xdisplay.Display, region: int) -> None:
        try:
            while True:
                event = connection.next_event()
                if event.type == X.PropertyNotify:
                    with self._fence_seen:
                        self._fences_seen += 1
                        self._fence_seen.notify_all()
                    continue
                self._version += 1
                self._changed_at = time.monotonic()
                # NonEmpty reports once until the damage is taken away: take it, so the
                # next drawing reports again.
                connection.damage_subtract(region)
                connection.flush()
        except Exception:  # the connection closed (stop) or the X server went away
            return
        finally:
            with self._fence_seen:  # whoever waits on a fence stops waiting
                self._fence_seen.notify_all()
