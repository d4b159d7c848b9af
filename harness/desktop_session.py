"""A bare desktop on this host (Xvfb and a window manager), and readiness checks.

Tests use DesktopSession for a display of their own; the full sandbox (VNC, viewer,
browser, server, healing) is the supervised stack in stack.py. Every start waits on a
real readiness signal (the display number Xvfb writes to -displayfd, the window
manager's EWMH check property, a listening port), never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from Xlib import X, Xatom
from Xlib import display as xdisplay

from deskbox.errors import DesktopUnavailableError


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.01) -> None:
    """Poll ``check`` until it holds; raise DesktopUnavailableError naming ``what`` if not."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise DesktopUnavailableError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(interval)


def start_xvfb(
    width: int, height: int, depth: int = 24, timeout: float = 10.0, display: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on ``display`` or a free one; returns the process and ":N" once it accepts clients."""
    if shutil.which("Xvfb") is None:
        raise DesktopUnavailableError("Xvfb is not installed (Debian package: xvfb)")
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            # -noreset: without it, the server resets when its last client leaves, and a
            # window manager starting at that moment can be lost.
            [
                "Xvfb",
                *([display] if display else []),
                "-displayfd",
                str(write_end),
                "-screen",
                "0",
                f"{width}x{height}x{depth}",
                "-nolisten",
                "tcp",
                "-noreset",
                "+extension",
                "RANDR",
            ],
            pass_fds=(write_end,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        # Xvfb writes the display number once it is ready; EOF means it died first.
        deadline = time.monotonic() + timeout
        number = b""
        while not number.endswith(b"\n"):
            chunk = reader.read(1)
            if not chunk or time.monotonic() > deadline:
                proc.kill()
                raise DesktopUnavailableError("Xvfb exited before it was ready")
            number += chunk
    return proc, f":{int(number)}"


def window_manager_ready(display: str) -> bool:
    """True once an EWMH window manager has announced itself on the root window."""
    try:
        connection = xdisplay.Display(display)
    except Exception:
        return False
    try:
        root = connection.screen().root
        check = root.get_full_property(connection.intern_atom("_NET_SUPPORTING_WM_CHECK"), Xatom.WINDOW)
        return check is not None and len(check.value) > 0 and check.value[0] != X.NONE
    finally:
        connection.close()


@dataclass
class DesktopSession:
    """A desktop on this host. Use as a context manager, or call start() and stop()."""

    width: int = 1280
    height: int = 800
    window_manager: str = "auto"
    """"auto" (XFCE, else Openbox), "xfce", "openbox" or "none"."""
    display: str = ""
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __enter__(self) -> DesktopSession:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv,
            env={**os.environ, "DISPLAY": self.display, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes.append(proc)
        return proc

    def _wm_command(self) -> list[str] | None:
        choice = self.window_manager
        if choice in ("auto", "xfce") and shutil.which("xfce4-session"):
            runner = shutil.which("dbus-run-session")
            return [runner, "xfce4-session"] if runner else ["xfce4-session"]
        if choice in ("auto", "openbox") and shutil.which("openbox"):
            return ["openbox"]
        if choice in ("xfce", "openbox"):
            raise DesktopUnavailableError(f"window manager {choice!r} is not installed")
        return None

    def start(self, timeout: float = 20.0) -> None:
        xvfb, self.display = start_xvfb(self.width, self.height)
        self._processes.append(xvfb)
        try:
            wm = self._wm_command()
            if wm is not None:
                self._spawn(wm)
            if wm is not None:
                wait_until(lambda: window_manager_ready(self.display), timeout, "the window manager")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        # Later processes depend on earlier ones (Xvfb first), so stop in reverse.
        for proc in reversed(self._processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self._processes):
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._processes.clear()
