"""One thread that owns every X resource of a display.

python-xlib connections and mss grabbers are not thread-safe, and X requests from one
client must stay in order anyway, so X work runs on a single worker thread, or, for the
shortest calls when that thread is idle, on the caller's thread under the same lock. The
connection is opened lazily and reopened after the X server goes away (a supervisor may
restart Xvfb), so one failed call turns into DesktopUnavailableError and the next call
works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from Xlib import display as xdisplay
from Xlib import error as xerror

from ..errors import DesktopUnavailableError

T = TypeVar("T")

# Errors that mean the connection is gone, as opposed to one bad request on a live one.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    xerror.ConnectionClosedError,
    xerror.DisplayError,
    ConnectionError,
    BrokenPipeError,
    OSError,
)


class XThread:
    """Runs callables on the display's own thread, handing them a live connection."""

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskbox-x")
        self._connection: xdisplay.Display | None = None
        self._on_reconnect: list[Callable[[], None]] = []
        self._closed = False
        self._talking = threading.Lock()
        """Held by whichever thread is using the connection: the X thread, or a caller
        of ``call_quick``. One at a time; python-xlib is not safe to share."""

    def on_reconnect(self, reset: Callable[[], None]) -> None:
        """Register state to drop when the connection is replaced (caches, grabbers)."""
        self._on_reconnect.append(reset)

    @property
    def connection(self) -> xdisplay.Display:
        """The live connection; only valid on the X thread."""
        if self._connection is None:
            try:
                self._connection = xdisplay.Display(self.display_name)
            except Exception as exc:
                raise DesktopUnavailableError(f"cannot open X display {self.display_name}: {exc}") from exc
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        for reset in self._on_reconnect:
            reset()
        if connection is not None:
            with contextlib.suppress(Exception):  # the socket is already dead; closing is best effort
                connection.close()

    def call_here(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the current thread, which must be the X thread."""
        try:
            return fn(*args)
        except DesktopUnavailableError:
            self._drop_connection()
            raise
        except CONNECTION_ERRORS as exc:
            self._drop_connection()
            raise DesktopUnavailableError(f"lost the X display {self.display_name}: {exc}") from exc

    def _exclusive(self, fn: Callable[..., T], *args: Any) -> T:
        with self._talking:
            return self.call_here(fn, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the X thread and await its result."""
        if self._closed:
            raise DesktopUnavailableError("the desktop driver is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._exclusive, fn, *args)

    async def call_quick(self, fn: Callable[..., T], *args: Any) -> T:
        """Like ``call``, for work of a fraction of a millisecond that never waits (a
        pointer event, a pointer query): on the caller's thread when no X work is
        running, which saves the two thread hops that would cost more than the work;
        else queued behind that work on the X thread."""
        if self._closed:
            raise DesktopUnavailableError("the desktop driver is closed")
        # Only on a connection already open: opening one (after the X server restarted)
        # can wait on the server, and that wait belongs on the X thread.
        if self._connection is not None and self._talking.acquire(blocking=False):
            try:
                return self.call_here(fn, *args)
            finally:
                self._talking.release()
        return await self.call(fn, *args)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._exclusive, self._drop_connection).result()
        self._executor.shutdown(wait=True)
