"""pyautogui code, run by a warm worker whose input comes back through deskbox.

OSWorld's agents act by writing pyautogui code. Started the way OSWorld starts it (a
fresh ``python -c`` per action), pyautogui costs its import on every action, drops every
character its key table lacks and opens a second X connection for input. Here one worker
process keeps pyautogui imported; its platform calls (move, press, key, scroll, type,
screenshot) come back over a socket and run on the same :class:`ActionTarget` every other
action runs on, so they share the keymap, the click and wheel spacing and the X thread.

The worker runs one piece of code at a time. Code that outlives its timeout, or whose
request is abandoned, has its worker killed; keys and buttons it left pressed are let go,
and the next action starts a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import errors
from ...actions import MouseButton, Region, ScreenshotOptions
from ...keys import UnknownKeyError, canonical_key

if TYPE_CHECKING:
    from ...dispatch import ActionTarget

WORKER = Path(__file__).with_name("_worker.py")
START_TIMEOUT = 60.0
"""Seconds a worker may take to import pyautogui (a loaded machine takes seconds)."""
MESSAGE_LIMIT = 16 * 1024 * 1024
REQUIREMENTS = "images/desktop/pyautogui.txt"
"""Where the pinned pyautogui packages are listed (installed with --no-deps)."""

PYAUTOGUI_KEYS: dict[str, str] = {
    **{f"num{digit}": f"KP_{digit}" for digit in range(10)},
    "multiply": "KP_Multiply",
    "add": "KP_Add",
    "separator": "KP_Separator",
    "subtract": "KP_Subtract",
    "decimal": "KP_Decimal",
    "divide": "KP_Divide",
    "winleft": "Super_L",
    "winright": "Super_R",
    "ctrlleft": "Control_L",
    "ctrlright": "Control_R",
    "shiftleft": "Shift_L",
    "shiftright": "Shift_R",
    "altleft": "Alt_L",
    "altright": "Alt_R",
    "optionleft": "Alt_L",
    "optionright": "Alt_R",
    "prtscr": "Print",
    "prntscrn": "Print",
    "nexttrack": "XF86AudioNext",
    "prevtrack": "XF86AudioPrev",
    "stop": "XF86AudioStop",
    "browserhome": "XF86HomePage",
    "browserrefresh": "XF86Refresh",
    "browsersearch": "XF86Search",
    "browserstop": "XF86Stop",
    "browserfavorites": "XF86Favorites",
    "launchmail": "XF86Mail",
    "launchmediaselect": "XF86AudioMedia",
    "launchapp1": "XF86Launch1",
    "launchapp2": "XF86Launch2",
    "sleep": "XF86Sleep",
    "hanguel": "Hangul",
    "hangul": "Hangul",
    "hanja": "Hangul_Hanja",
    "junja": "Hangul_Jeonja",
    "kana": "Katakana",
    "kanji": "Kanji",
    "convert": "Henkan",
    "nonconvert": "Muhenkan",
    "modechange": "Mode_switch",
    "yen": "yen",
}
"""pyautogui's key names that deskbox's own spellings do not already cover."""


def key_table(names: list[str]) -> dict[str, str]:
    """pyautogui's key names mapped to deskbox's; a name with no X key is left out, so
    pyautogui reports it as invalid and pressing it is an error."""
    table: dict[str, str] = {}
    for name in names:
        try:
            table[name] = canonical_key(PYAUTOGUI_KEYS.get(name, name))
        except UnknownKeyError:
            continue
    return table


class _Worker:
    """One worker process and its socket."""

    def __init__(
        self, process: asyncio.subprocess.Process, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self._drain = asyncio.get_running_loop().create_task(self._read_stderr())

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.stderr_tail.append(line.decode(errors="replace").rstrip())

    async def send(self, message: dict[str, Any], payload: bytes = b"") -> None:
        if payload:
            message = {**message, "size": len(payload)}
        self.writer.write(json.dumps(message).encode() + b"\n" + payload)
        await self.writer.drain()

    async def receive(self) -> dict[str, Any]:
        line = await self.reader.readline()
        if not line:
            raise EOFError
        message: dict[str, Any] = json.loads(line)
        return message

    def exit_description(self) -> str:
        code = self.process.returncode
        if code is None:
            return "stopped answering"
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), "")
        return f"{how}{f': {last}' if last else ''}"

    async def kill(self) -> None:
        # os.kill, not Process.send_signal: that polls first, reaping a worker that has
        # just exited before asyncio's watcher can read its exit code.
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
        self.writer.close()
        await self.process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain, 1.0)


class PyAutoGUIRunner:
    """Runs pyautogui code against a target; one worker, one piece of code at a time."""

    def __init__(self, target: ActionTarget, python: str = sys.executable) -> None:
        self._target = target
        self._python = python
        self._worker: _Worker | None = None
        self._lock = asyncio.Lock()
        self._held_keys: set[str] = set()
        self._held_buttons: set[MouseButton] = set()
        self._unavailable: errors.DesktopUnavailableError | None = None
        self._failed: str | None = None
        """The error of input sent without waiting for an answer, in the current run."""

    async def run(self, code: str, timeout: float) -> str:
        """Run ``code``; return what it printed. Its failure raises ScriptError, its
        timeout TimeoutError, an unreachable display DesktopUnavailableError."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise errors.TimeoutError(
                f"another pyautogui action held the worker for the whole timeout ({timeout:g} s)"
            ) from None
        try:
            waited = time.monotonic() - started
            worker = await self._ready_worker()  # a worker's start is not the code's time
            return await self._run_on(worker, code, timeout, timeout - waited)
        finally:
            self._lock.release()

    async def _run_on(self, worker: _Worker, code: str, timeout: float, remaining: float) -> str:
        self._unavailable = self._failed = None
        try:
            await worker.send({"op": "run", "code": code})
            async with asyncio.timeout(max(remaining, 0.0)):
                done = await self._serve(worker)
        except TimeoutError:
            await self._discard()
            problem = f"the code was still running after its timeout of {timeout:g} s; it was stopped"
            raise errors.TimeoutError(
                problem, details=[{"loc": ["timeout"], "msg": problem, "type": "timeout"}]
            ) from None
        except (EOFError, ConnectionError):
            await self._discard()
            raise errors.ScriptError(f"the process running the code {worker.exit_description()}") from None
        except BaseException:  # the request was abandoned: the code's state is unknown
            await asyncio.shield(self._discard())
            raise
        if self._unavailable is not None:
            raise self._unavailable
        if self._failed is not None and done.get("ok"):
            done = {"ok": False, "error": self._failed}
        if not done.get("ok"):
            await self._let_go()
            message = str(done.get("error", "the code failed"))
            trace = str(done.get("traceback", ""))
            output = str(done.get("output", ""))
            raise errors.ScriptError(
                f"{message}\n{trace}".rstrip() + (f"\nIt printed:\n{output}" if output else ""),
                traceback=trace,
                line=done.get("line"),
                output=output,
            )
        return str(done.get("output", ""))

    async def _serve(self, worker: _Worker, until: str = "done") -> dict[str, Any]:
        """Answer the worker's calls until it says ``until`` (pyautogui's import already
        asks for the screen size)."""
        while True:
            message = await worker.receive()
            op = message.get("op")
            if op == until:
                return message
            if op == "key_names":
                await worker.send({"op": "keys", "names": key_table(list(message.get("names", [])))})
                continue
            reply, payload = await self._answer(str(message.get("name")), message.get("args") or {})
            if message.get("reply", True):
                await worker.send(reply, payload)
            elif not reply["ok"] and self._failed is None:
                self._failed = str(reply["error"])

    async def _answer(self, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        if self._failed is not None:  # input sent without waiting failed: stop the code here
            return {"op": "reply", "ok": False, "error": f"an earlier call failed: {self._failed}"}, b""
        try:
            value, payload = await self._call(name, args)
        except errors.DesktopUnavailableError as exc:
            self._unavailable = exc
            return {"op": "reply", "ok": False, "error": exc.message}, b""
        except (errors.DeskboxError, ValueError, TypeError, KeyError) as exc:
            message = exc.describe() if isinstance(exc, errors.DeskboxError) else str(exc)
            return {"op": "reply", "ok": False, "error": message}, b""
        return {"op": "reply", "ok": True, "value": value}, payload

    async def _point(self, args: dict[str, Any]) -> tuple[int | None, int | None]:
        """The call's point, kept on the screen as pyautogui documents (the edge, not off it)."""
        x, y = args.get("x"), args.get("y")
        if x is None or y is None:
            return None, None
        width, height = await self._target.screen_size()
        return min(max(int(x), 0), width - 1), min(max(int(y), 0), height - 1)

    async def _call(self, name: str, args: dict[str, Any]) -> tuple[Any, bytes]:
        target = self._target
        match name:
            case "position":
                return list(await target.cursor_position()), b""
            case "size":
                return list(await target.screen_size()), b""
            case "move":
                x, y = await self._point(args)
                if x is not None and y is not None:
                    await target.move(x, y)
            case "button":
                x, y = await self._point(args)
                button: MouseButton = args["button"]
                await target.button(x, y, button, bool(args["down"]))
                (self._held_buttons.add if args["down"] else self._held_buttons.discard)(button)
            case "click":
                x, y = await self._point(args)
                await target.click(x, y, args["button"], 1, ())
            case "scroll":
                x, y = await self._point(args)
                await target.scroll(x, y, int(args["dx"]), int(args["dy"]), ())
            case "key":
                key = canonical_key(str(args["key"]))
                await target.key(key, bool(args["down"]))
                (self._held_keys.add if args["down"] else self._held_keys.discard)(key)
            case "type":
                await target.type_text(str(args["text"]))
            case "screenshot":
                region = args.get("region")
                options = ScreenshotOptions(
                    format="png",
                    region=Region(x=region[0], y=region[1], width=region[2], height=region[3])
                    if region
                    else None,
                )
                return None, (await target.screenshot(options)).data
            case _:
                raise ValueError(f"the desktop has no call named {name!r}")
        return None, b""

    # ---- the worker's life --------------------------------------------------------------

    async def _ready_worker(self) -> _Worker:
        if self._worker is not None and self._worker.process.returncode is None:
            return self._worker
        self._worker = None
        worker = await self._start()
        self._worker = worker
        return worker

    async def _start(self) -> _Worker:
        ours, theirs = socket.socketpair()
        env = {key: value for key, value in os.environ.items() if not key.startswith("DESKBOX_TOKEN")}
        display = getattr(self._target, "display", None)
        if isinstance(display, str):
            env["DISPLAY"] = display
        try:
            process = await asyncio.create_subprocess_exec(
                self._python,
                "-X",
                "utf8",
                str(WORKER),
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=env.get("HOME") if os.path.isdir(env.get("HOME", "")) else None,
            )
        except OSError as exc:
            ours.close()
            raise errors.DesktopUnavailableError(f"the pyautogui worker could not start: {exc}") from exc
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours, limit=MESSAGE_LIMIT)
        worker = _Worker(process, reader, writer)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self._serve(worker, until="ready")
        except (EOFError, ConnectionError, TimeoutError, ValueError):
            await worker.kill()
            description = worker.exit_description()
            if "No module named 'pyautogui'" in description or "No module named 'pyscreeze'" in description:
                raise errors.CapabilityError(
                    "pyautogui is not installed where the server runs; install it with "
                    f"pip install --no-deps -r {REQUIREMENTS} (with its dependencies it would "
                    "replace python-xlib)",
                    capability="pyautogui",
                ) from None
            raise errors.DesktopUnavailableError(f"the pyautogui worker {description}") from None
        return worker

    async def _let_go(self) -> None:
        """Release what the code left pressed, so later input is not modified by it."""
        for key in list(self._held_keys):
            with contextlib.suppress(errors.DeskboxError, ValueError):
                await self._target.key(key, False)
        for button in list(self._held_buttons):
            with contextlib.suppress(errors.DeskboxError, ValueError):
                await self._target.button(None, None, button, False)
        self._held_keys.clear()
        self._held_buttons.clear()

    async def _discard(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.kill()
        await self._let_go()

    async def close(self) -> None:
        """Stop the worker, even in the middle of code (which then fails)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.kill()
