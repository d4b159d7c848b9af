"""The pyautogui worker: a warm Python process that runs agents' pyautogui code.

The server starts it by path (``python _worker.py FD``), so it imports nothing of deskbox
and nothing of Xlib: pyautogui's X11 backend is replaced, before pyautogui is imported,
by one whose every call goes back to the server over the socket ``FD`` and runs there
through deskbox's own input. That is what makes ``write`` type any Unicode, keeps ``<``
a ``<``, spaces wheel notches and repeated clicks as deskbox does, and leaves one X
client doing input.

Messages are JSON lines; one with ``size`` is followed by that many bytes (a PNG).

    worker -> server   {"op": "key_names", "names": [...]}        once pyautogui is imported
    server -> worker   {"op": "keys", "names": {...}}             the names deskbox can press
    worker -> server   {"op": "ready"}
    server -> worker   {"op": "run", "code": "..."}               one at a time
                       {"op": "reply", "ok": true, "value": ...}  the answer to a call
    worker -> server
                       {"op": "call", "name": "click", "args": {...}}
                       {"op": "done", "ok": true, "output": "..."}
                       {"op": "done", "ok": false, "error": "...", "traceback": "...", "line": 3}
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import signal
import socket
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

OUTPUT_LIMIT = 64 * 1024
"""Characters of printed output kept per run; the rest is cut with a note."""
MULTI_CLICK_GAP = 0.003
"""Seconds between two presses of a button. X timestamps count milliseconds, and toolkits
will not count two presses stamped alike as a double click."""
SIZE_TTL = 1.0
"""Seconds a screen size is trusted (pyautogui asks for it on every move)."""
CODE_NAME = "<pyautogui>"
WHEEL_BUTTONS = {4: (0, -1), 5: (0, 1), 6: (-1, 0), 7: (1, 0)}
"""pyautogui's wheel buttons as (dx, dy) notches: 4 up, 5 down, 6 left, 7 right."""
BUTTON_NAMES = {1: "left", 2: "middle", 3: "right", "left": "left", "middle": "middle", "right": "right"}


class Channel:
    """The worker's end of the socket: blocking calls, answered in order."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")

    def send(self, message: dict[str, Any]) -> None:
        self._sock.sendall(json.dumps(message).encode() + b"\n")

    def receive(self) -> tuple[dict[str, Any], bytes]:
        line = self._reader.readline()
        if not line:
            raise EOFError("the server closed the worker's socket")
        message: dict[str, Any] = json.loads(line)
        size = int(message.get("size") or 0)
        return message, self._reader.read(size) if size else b""


class Backend:
    """The functions pyautogui's platform module must have, answered by the server."""

    def __init__(self, channel: Channel, error: type[Exception]) -> None:
        self._channel = channel
        self._error = error
        self.keys: dict[str, str] = {}
        self._size: tuple[int, int] | None = None
        self._size_at = 0.0
        self._pressed_at: dict[str, float] = {}

    def new_run(self) -> None:
        # Presses are spaced within one piece of code; two actions are apart anyway.
        self._pressed_at.clear()

    def call(self, name: str, **args: Any) -> Any:
        """Ask the server and wait for its answer."""
        self._channel.send({"op": "call", "name": name, "args": args})
        reply, payload = self._channel.receive()
        if not reply.get("ok"):
            raise self._error(str(reply.get("error", "the desktop refused the call")))
        return payload if payload else reply.get("value")

    def tell(self, name: str, **args: Any) -> None:
        """Send input without waiting: the server runs calls in order, so what follows
        (a position, the end of the code) still comes after it. Its arguments are
        checked here; if the desktop fails it, the next call or the end of the code
        reports it."""
        self._channel.send({"op": "call", "name": name, "args": args, "reply": False})

    def module(self) -> types.ModuleType:
        """A stand-in for ``pyautogui._pyautogui_x11``."""
        module = types.ModuleType("pyautogui._pyautogui_x11", "pyautogui's X11 calls, run by deskbox")
        functions: dict[str, Callable[..., Any]] = {
            "_position": self.position,
            "_size": self.size,
            "_moveTo": self.move_to,
            "_mouseDown": self.mouse_down,
            "_mouseUp": self.mouse_up,
            "_click": self.click,
            "_vscroll": self.vscroll,
            "_scroll": self.vscroll,
            "_hscroll": self.hscroll,
            "_keyDown": self.key_down,
            "_keyUp": self.key_up,
            "_mouse_is_swapped": lambda: False,
        }
        module.__dict__.update(functions)
        module.__dict__["keyboardMapping"] = self.keys  # pyautogui.isValidKey reads it
        return module

    # ---- pointer ------------------------------------------------------------------------

    def position(self) -> tuple[int, int]:
        x, y = self.call("position")
        return int(x), int(y)

    def size(self) -> tuple[int, int]:
        now = time.monotonic()
        if self._size is None or now - self._size_at > SIZE_TTL:
            width, height = self.call("size")
            self._size, self._size_at = (int(width), int(height)), now
        return self._size

    def move_to(self, x: float, y: float) -> None:
        self.tell("move", x=int(x), y=int(y))

    def _button(self, button: Any) -> str:
        name = BUTTON_NAMES.get(button)
        if name is None:
            raise self._error(f"mouse button {button!r} cannot be pressed; use left, middle or right")
        return name

    def _space_press(self, button: str) -> None:
        since = time.monotonic() - self._pressed_at.get(button, 0.0)
        if since < MULTI_CLICK_GAP:
            time.sleep(MULTI_CLICK_GAP - since)
        self._pressed_at[button] = time.monotonic()

    def mouse_down(self, x: float | None, y: float | None, button: Any) -> None:
        name = self._button(button)
        self._space_press(name)
        self.tell("button", x=_int(x), y=_int(y), button=name, down=True)

    def mouse_up(self, x: float | None, y: float | None, button: Any) -> None:
        self.tell("button", x=_int(x), y=_int(y), button=self._button(button), down=False)

    def click(self, x: float | None, y: float | None, button: Any) -> None:
        if button in WHEEL_BUTTONS:
            dx, dy = WHEEL_BUTTONS[button]
            self.tell("scroll", x=_int(x), y=_int(y), dx=dx, dy=dy)
            return
        name = self._button(button)
        self._space_press(name)
        self.tell("click", x=_int(x), y=_int(y), button=name)

    def vscroll(self, clicks: float, x: float | None = None, y: float | None = None) -> None:
        notches = int(clicks)
        if notches:  # pyautogui: positive scrolls up; deskbox: positive dy scrolls down
            self.tell("scroll", x=_int(x), y=_int(y), dx=0, dy=-notches)

    def hscroll(self, clicks: float, x: float | None = None, y: float | None = None) -> None:
        notches = int(clicks)
        if notches:
            self.tell("scroll", x=_int(x), y=_int(y), dx=notches, dy=0)

    # ---- keyboard -----------------------------------------------------------------------

    def key_name(self, key: Any) -> str:
        if not isinstance(key, str):
            raise self._error(f"a key is named by a string, not {key!r}")
        name = self.keys.get(key)
        if name is not None:
            return name
        if len(key) == 1:
            return key  # any character: deskbox binds a keycode for it
        raise self._error(f"no key is named {key!r}; pyautogui.KEY_NAMES lists the names")

    def key_down(self, key: Any) -> None:
        self.tell("key", key=self.key_name(key), down=True)

    def key_up(self, key: Any) -> None:
        self.tell("key", key=self.key_name(key), down=False)

    def type_text(self, text: str) -> None:
        if text:
            self.tell("type", text=text)

    def screenshot_png(self, region: Sequence[int] | None) -> bytes:
        png: bytes = self.call("screenshot", region=[int(v) for v in region] if region else None)
        return png


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def install(channel: Channel) -> tuple[Any, Backend]:
    """Import pyautogui on deskbox's backend and set it up for agents' code."""
    backend = Backend(channel, RuntimeError)
    sys.modules["pyautogui._pyautogui_x11"] = backend.module()
    import pyautogui
    import pyscreeze
    from PIL import Image

    class DesktopError(pyautogui.PyAutoGUIException):  # type: ignore[misc]
        """The desktop refused a call (an unknown key, a button it has not)."""

    DesktopError.__module__ = "pyautogui"
    DesktopError.__qualname__ = "DesktopError"
    backend._error = DesktopError

    def typewrite(
        message: str | Iterable[str], interval: float = 0.0, logScreenshot: Any = None, _pause: bool = True
    ) -> None:
        """pyautogui's typewrite, typing each character exactly instead of dropping those
        its key table lacks; a list still presses key names."""
        pyautogui.failSafeCheck()
        interval = float(interval)
        if isinstance(message, str) and interval <= 0:
            backend.type_text(message)
        else:
            for item in message:
                if len(item) > 1:
                    pyautogui.press(item.lower(), _pause=False)
                else:
                    backend.type_text(item)
                time.sleep(interval)
        pyautogui._handlePause(_pause)

    def screenshot(imageFilename: str | None = None, region: Sequence[int] | None = None) -> Any:
        decoded = Image.open(io.BytesIO(backend.screenshot_png(region)))
        decoded.load()
        image = decoded.convert("RGB")
        if imageFilename is not None:
            image.save(imageFilename)
        return image

    original_move_drag = pyautogui._mouseMoveDrag

    def move_drag(
        moveOrDrag: str, x: Any, y: Any, xOffset: Any, yOffset: Any, duration: float, *rest: Any, **kw: Any
    ) -> None:
        """pyautogui's instant move to a given point, without the position it asks for
        first and only needs for the way between (a round trip saved on every click)."""
        instant = duration <= pyautogui.MINIMUM_DURATION and not xOffset and not yOffset
        if instant and x is not None and y is not None:
            backend.move_to(x, y)
        else:
            original_move_drag(moveOrDrag, x, y, xOffset, yOffset, duration, *rest, **kw)

    pyautogui._mouseMoveDrag = move_drag
    pyautogui.typewrite = pyautogui.write = typewrite

    def pixel(x: int, y: int) -> Any:
        """pyscreeze's pixel, from a one-pixel screenshot instead of the whole screen."""
        return pyscreeze.RGB(*screenshot(region=(x, y, 1, 1)).getpixel((0, 0))[:3])

    pyautogui.screenshot = pyscreeze.screenshot = screenshot
    pyautogui.pixel = pyscreeze.pixel = pixel
    return pyautogui, backend


def reset(pyautogui: Any, backend: Backend) -> None:
    """Each run starts with deskbox's settings, whatever the previous run changed."""
    backend.new_run()
    pyautogui.PAUSE = 0.0
    pyautogui.FAILSAFE = False
    pyautogui.DARWIN_CATCH_UP_TIME = 0.0


def run(code: str, pyautogui: Any, backend: Backend) -> dict[str, Any]:
    """Run one piece of code; what it printed comes back, and its traceback if it failed."""
    output = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "__main__", "pyautogui": pyautogui}
    reset(pyautogui, backend)
    try:
        compiled = compile(code, CODE_NAME, "exec")
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(compiled, namespace)
    except BaseException as exc:  # SystemExit too: the code ends, the worker does not
        return {"op": "done", "ok": False, **_failure(exc), "output": _cut(output.getvalue())}
    return {"op": "done", "ok": True, "output": _cut(output.getvalue())}


def _failure(exc: BaseException) -> dict[str, Any]:
    """The error in one line, its traceback without this file's frames (the code and
    pyautogui are what the reader wrote and called), and the line of the code it came from."""
    report = traceback.TracebackException.from_exception(exc)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if frame.filename != __file__]
    )
    line = exc.lineno if isinstance(exc, SyntaxError) else None
    for frame in report.stack:
        if frame.filename == CODE_NAME:
            line = frame.lineno
    summary = "".join(report.format_exception_only()).strip().splitlines()[-1]
    return {"error": summary, "traceback": _cut("".join(report.format())), "line": line}


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n[... {len(text) - OUTPUT_LIMIT} more characters cut]"


def _die_with_the_server() -> None:
    """Ask Linux to kill this process when the server that started it dies, even while
    the code it runs loops forever (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def main() -> None:
    _die_with_the_server()
    channel = Channel(socket.socket(fileno=int(sys.argv[1])))
    pyautogui, backend = install(channel)
    channel.send({"op": "key_names", "names": list(pyautogui.KEY_NAMES)})
    keys, _ = channel.receive()
    backend.keys.update(keys["names"])
    channel.send({"op": "ready"})
    while True:
        try:
            message, _ = channel.receive()
        except EOFError:
            return
        if message.get("op") == "run":
            channel.send(run(str(message["code"]), pyautogui, backend))


if __name__ == "__main__":
    main()
