"""An X client of the benchmarks' own that stamps the input events it receives, so input
is timed until it reaches an application, not until the call returns."""

from __future__ import annotations

import queue
import threading
import time

from Xlib import X
from Xlib import display as xdisplay


class Listener:
    """An override-redirect window that timestamps the X events it receives."""

    def __init__(self, display: str, area: tuple[int, int, int, int]) -> None:
        self.events: queue.Queue[tuple[int, float]] = queue.Queue()
        self._conn = xdisplay.Display(display)
        screen = self._conn.screen()
        x, y, width, height = area
        self.window = screen.root.create_window(
            x,
            y,
            width,
            height,
            0,
            screen.root_depth,
            override_redirect=True,
            background_pixel=screen.white_pixel,
            event_mask=X.ButtonPressMask | X.ButtonReleaseMask | X.KeyPressMask | X.KeyReleaseMask,
        )
        self.window.map()
        self._conn.sync()
        threading.Thread(target=self._pump, daemon=True).start()

    def focus(self) -> None:
        self.window.raise_window()
        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._conn.sync()

    def _pump(self) -> None:
        try:
            while True:
                event = self._conn.next_event()
                self.events.put((event.type, time.perf_counter()))
        except Exception:
            return  # the display went away at the end of the run

    def drain(self) -> None:
        while not self.events.empty():
            self.events.get_nowait()

    def wait_for(self, event_type: int, count: int, timeout: float = 30.0) -> float:
        """perf_counter time of the count-th event of this type."""
        seen = 0
        deadline = time.perf_counter() + timeout
        while True:
            kind, at = self.events.get(timeout=max(0.001, deadline - time.perf_counter()))
            if kind == event_type:
                seen += 1
                if seen == count:
                    return at
