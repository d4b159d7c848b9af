"""The Desktop: one X display and everything deskbox does on it.

It is an ``ActionTarget`` (``deskbox.dispatch``): the one dispatcher runs schema actions
on it through the input primitives below, each one X round trip on the X thread.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .._process import wait_exit
from ..actions import ImageFormat, MouseButton, Region, ScreenshotOptions, target_size, zoom_size
from ..errors import DesktopUnavailableError, InvalidActionError
from ..imaging import Encoded
from ..models import Window
from ..timing import timed
from . import clipboard
from .accessibility import AccessibilityBus, AccessibilityReader
from .capture import Frame, Grabber, encode_frame
from .changes import ScreenChanges
from .input import XInput
from .keymap import KeyStroke
from .pyautogui import PyAutoGUIRunner
from .recording import Recorder
from .shell import ProcessManager, no_room_for_a_process
from .watching import Watches
from .windows import Windows
from .xthread import XThread

SCREEN_SIZE_TTL = 1.0
"""Seconds a read screen size is trusted; a resize (xrandr) shows within this time."""

SETTLE_QUIET = 0.1
"""Seconds the screen must stay unchanged to count as settled. Longer than a repaint
after input takes; shorter than a caret's blink, so a blinking caret still settles."""
SETTLE_POLL = 0.02
TYPE_CHUNK = 200
"""Characters typed per X-thread call (a few tens of milliseconds of typing)."""


def state_folder(name: str) -> Path:
    """Where the sandbox keeps ``name`` (recordings, traces): beside its other state, or
    in a private temporary folder."""
    runtime = os.environ.get("DESKBOX_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / name
    return Path(tempfile.gettempdir()) / f"deskbox-{name}-{os.getuid()}-{os.getpid()}"


class Desktop:
    """Drives one X display: input, capture, windows, clipboard, commands.

    Create it on a running event loop's side (methods are async) and close it when done.
    """

    def __init__(self, display: str, owner: str | None = None) -> None:
        self.display = display
        self.xthread = XThread(display)
        self.input = XInput(self.xthread)
        self.grabber = Grabber(self.xthread)
        self.windows = Windows(self.xthread)
        self.processes = ProcessManager(display, owner)
        self.watches = Watches()
        self.pyautogui = PyAutoGUIRunner(self)
        self.accessibility = AccessibilityReader(AccessibilityBus())
        self.recorder = Recorder(display, state_folder("recordings"))
        self.changes = ScreenChanges(display)
        self._reapers: dict[int, asyncio.Task[int]] = {}
        self._screen_size: tuple[int, int] | None = None
        self._screen_size_at = 0.0
        self.xthread.on_reconnect(self._forget_screen_size)

    def _forget_screen_size(self) -> None:
        self._screen_size = None

    async def close(self) -> None:
        await asyncio.to_thread(self.changes.stop)
        await self.recorder.close()
        await self.accessibility.bus.close()
        await self.pyautogui.close()
        await self.processes.shutdown()
        await self.watches.close()
        await asyncio.to_thread(self.xthread.close)

    # ---- queries ------------------------------------------------------------------------

    async def screen_size(self) -> tuple[int, int]:
        now = time.monotonic()
        if self._screen_size is None or now - self._screen_size_at > SCREEN_SIZE_TTL:
            self._screen_size = await self.xthread.call(self.input.screen_size)
            self._screen_size_at = now
        return self._screen_size

    async def cursor_position(self) -> tuple[int, int]:
        return await self.xthread.call_quick(self.input.cursor_position)

    async def list_windows(self) -> list[Window]:
        return await self.xthread.call(self.windows.list)

    async def window_at(self, x: int, y: int) -> Window | None:
        return await self.xthread.call(self.windows.top_at, x, y)

    async def close_window(self, window_id: int) -> None:
        await self.xthread.call(self.windows.close, window_id)

    async def focus_window(self, window_id: int) -> None:
        await self.xthread.call(self.windows.focus, window_id)

    # ---- input (the ActionTarget primitives) --------------------------------------------

    async def move(self, x: int, y: int) -> None:
        await self.xthread.call_quick(self.input.move, x, y)

    async def click(
        self, x: int | None, y: int | None, button: MouseButton, count: int, modifiers: Sequence[str]
    ) -> None:
        # A single click without modifiers never waits in the server; anything else may
        # (multi-click spacing, a key after a recent click) and takes the X thread.
        if count == 1 and not modifiers:
            await self.xthread.call_quick(self.input.click, x, y, button, count, modifiers)
        else:
            await self.xthread.call(self.input.click, x, y, button, count, modifiers)

    async def button(self, x: int | None, y: int | None, button: MouseButton, down: bool) -> None:
        await self.xthread.call_quick(self.input.button, x, y, button, down)

    async def drag(
        self, path: Sequence[tuple[int, int]], button: MouseButton, modifiers: Sequence[str]
    ) -> None:
        await self.xthread.call(self.input.drag, path, button, modifiers)

    async def scroll(self, x: int | None, y: int | None, dx: int, dy: int, modifiers: Sequence[str]) -> None:
        await self.xthread.call(self.input.scroll, x, y, dx, dy, modifiers)

    async def chord(self, keys: Sequence[str], repeat: int) -> None:
        # A shortcut of mapped keys with no click just before it never waits in the
        # server: sent from here when the X thread is idle, like a plain click.
        if not await self.xthread.call_quick(self.input.chord_unless_it_waits, keys, repeat):
            await self.xthread.call(self.input.chord, keys, repeat)

    async def key(self, key: str, down: bool) -> None:
        await self.xthread.call(self.input.key, key, down)

    async def press_chord(self, keys: Sequence[str]) -> list[KeyStroke]:
        return await self.xthread.call(self.input.press_chord, keys)

    async def release_chord(self, pressed: list[KeyStroke]) -> None:
        await self.xthread.call(self.input.release_chord, pressed)

    async def type_text(self, text: str) -> None:
        # In pieces, each its own X-thread call: a screenshot or /health waits for one
        # piece, not the whole text, and a cancelled request stops between pieces.
        for start in range(0, len(text), TYPE_CHUNK):
            await self.xthread.call(self.input.type_text, text[start : start + TYPE_CHUNK])

    async def run_pyautogui(self, code: str, timeout: float) -> str:
        return await self.pyautogui.run(code, timeout)

    # ---- capture ------------------------------------------------------------------------

    async def grab(self, region: Region | None = None, cursor: bool = False) -> Frame:
        return await self.xthread.call(self.grabber.grab, region, cursor)

    async def grab_settled(self, region: Region | None, cursor: bool, timeout: float) -> Frame:
        """The screen once it has stopped changing for SETTLE_QUIET, or at ``timeout``.

        Waiting on the pixels themselves, not a fixed sleep: a click that changes nothing
        costs SETTLE_QUIET, and a page still loading (its tab spinner turning) holds the
        screenshot until it is done, up to ``timeout``.
        """
        deadline = time.monotonic() + timeout
        frame = await self.grab(region)
        still_since = time.monotonic()
        while time.monotonic() - still_since < SETTLE_QUIET and time.monotonic() < deadline:
            await asyncio.sleep(SETTLE_POLL)
            latest = await self.grab(region)
            if latest.bgra != frame.bgra:
                still_since = time.monotonic()
            frame = latest
        # The pointer is left out of the comparison: only the screen's content counts.
        return await self.grab(region, cursor) if cursor else frame

    async def screenshot(self, options: ScreenshotOptions, settle: float = 0.0) -> Encoded:
        """The screen encoded as asked; with ``settle``, once it stops changing (seconds at most)."""
        if settle > 0:
            with timed("settle"):
                frame = await self.grab_settled(options.region, options.cursor, settle)
        else:
            frame = await self.grab(options.region, options.cursor)
        size = target_size(
            frame.width, frame.height, to_width=options.width, to_height=options.height, scale=options.scale
        )
        # Encoding runs off the X thread so input is never queued behind it.
        with timed("encode"):
            return await asyncio.to_thread(encode_frame, frame, options.format, options.quality, size)

    async def zoom(
        self, region: Region, width: int | None, height: int | None, fmt: ImageFormat, quality: int
    ) -> Encoded:
        """A region scaled up to fit the screen, or to the size asked for."""
        size = zoom_size(region, await self.screen_size(), width, height)
        frame = await self.grab(region)
        with timed("encode"):
            return await asyncio.to_thread(encode_frame, frame, fmt, quality, size)

    # ---- clipboard, apps ----------------------------------------------------------------

    async def get_clipboard(self) -> str:
        return await clipboard.get_clipboard(self.display)

    def _clipboard_owner(self) -> int:
        conn = self.xthread.connection
        owner = conn.get_selection_owner(conn.intern_atom("CLIPBOARD"))
        return int(owner.id) if hasattr(owner, "id") else int(owner)

    async def set_clipboard(self, text: str) -> None:
        before = await self.xthread.call(self._clipboard_owner)
        await clipboard.set_clipboard(self.display, text)
        # xclip's parent exits before its child's claim on the selection has reached
        # the server; wait for the owner to change so a paste right after sees the text.
        deadline = time.monotonic() + clipboard.CLIPBOARD_TIMEOUT
        while await self.xthread.call(self._clipboard_owner) in (before, 0):
            if time.monotonic() > deadline:
                raise DesktopUnavailableError("xclip did not take the clipboard in time")
            await asyncio.sleep(0.002)

    def _spawn(self, argv: Sequence[str]) -> int:
        """Start a GUI program detached from the server, and return its pid."""
        try:
            proc = subprocess.Popen(
                list(argv),
                env={**os.environ, "DISPLAY": self.display},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise InvalidActionError.at(("body", "command"), f"no such program: {argv[0]!r}") from None
        except BlockingIOError:
            raise no_room_for_a_process() from None
        except OSError as exc:  # not executable, a folder, not a program this machine runs
            raise InvalidActionError.at(
                ("body", "command"), f"cannot run {argv[0]!r}: {exc.strerror or exc}"
            ) from None
        # Reap it when it ends so it never lingers as a zombie. A pidfd watch, not a
        # thread: a long-running app would otherwise hold a pool thread for its lifetime.
        reaper = asyncio.get_running_loop().create_task(wait_exit(proc))
        self._reapers[proc.pid] = reaper
        reaper.add_done_callback(lambda _: self._reapers.pop(proc.pid, None))
        return proc.pid

    def exit_of(self, pid: int) -> asyncio.Task[int] | None:
        """The exit status to come of a program started here and still running."""
        return self._reapers.get(pid)

    async def exit_status_within(self, pid: int, seconds: float) -> int | None:
        """The exit status of a program started here, if it ends within ``seconds``."""
        reaper = self._reapers.get(pid)
        if reaper is None:
            return None  # not ours, or it ended and was reaped before this was asked
        done, _ = await asyncio.wait({reaper}, timeout=seconds)
        return reaper.result() if done else None

    async def open(self, target: str) -> int:
        """Open a URL or file with the desktop's default application (xdg-open)."""
        opener = shutil.which("xdg-open")
        if opener is None:
            raise InvalidActionError("xdg-open is not installed on this desktop")
        return self._spawn([opener, target])

    async def launch(self, argv: Sequence[str]) -> int:
        return self._spawn(argv)
