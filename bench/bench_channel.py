"""Single input actions over the SDK's two paths to a sandbox, keep-alive HTTP requests
and the persistent action websocket (/actions/ws), and over Cua's computer-server on its
own websocket, on the same display, alternating in one run.

    .venv/bin/python bench/bench_channel.py [-n 30] [--cua-python bench/.cua/bin/python]

Runs a local sandbox (no Docker). "until the X event" is timed from the call to the
moment an X client of our own, a window over the whole screen, receives the event; the
other steps until the call returns. Cua is never a dependency of deskbox: it runs from
an environment of its own, made once with

    python3 -m venv bench/.cua
    bench/.cua/bin/pip install 'cua-computer-server[linux]' 'fastapi<0.120'

(its 0.1.25 hands FastAPI an argument that later releases refuse), and is left out when
that is not there. Prints medians; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from _report import Report
from _xlistener import Listener
from Xlib import X

from deskbox import AsyncSandbox
from deskbox._ports import free_port
from deskbox.client._connection import CHANNEL_VARIABLE

CUA_PYTHON = Path(__file__).resolve().parent / ".cua" / "bin" / "python"
FASTEST_CUA = (
    "import sys, pyautogui; pyautogui.PAUSE = 0; from computer_server.cli import main; "
    "sys.argv[0] = 'computer_server'; main()"
)
"""Cua's server as fast as it can be: pyautogui as shipped sleeps 100 ms after each call
(``PAUSE``), which would make every Cua click cost 100 to 200 ms here."""

REPORT = Report("bench_channel")
say = REPORT.line


class Cua:
    """Cua's computer-server on the sandbox's display, driven as its own client does: one
    JSON command per websocket message, answered with {"success": ...}."""

    def __init__(self, python: Path, display_name: str) -> None:
        self.port = free_port()
        env = {**os.environ, "DISPLAY": display_name}
        env.pop("CONTAINER_NAME", None)  # its cloud mode would ask for an API key
        self.process = subprocess.Popen(
            [str(python), "-c", FASTEST_CUA, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.socket: Any = None

    async def start(self) -> None:
        from websockets.asyncio.client import connect

        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(trust_env=False) as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/status")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("Cua's computer-server did not start")
                await asyncio.sleep(0.2)
        self.socket = await connect(f"ws://127.0.0.1:{self.port}/ws", compression=None, max_size=None)

    async def __call__(self, command: str, **params: Any) -> dict[str, Any]:
        await self.socket.send(json.dumps({"command": command, "params": params}))
        answer: dict[str, Any] = json.loads(await self.socket.recv())
        if not answer.get("success"):
            raise RuntimeError(f"Cua {command}: {answer.get('error')}")
        return answer

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        self.process.terminate()
        self.process.wait(10)


async def main(n: int, cua_python: Path) -> None:
    sandboxes: dict[str, AsyncSandbox] = {}
    for channel in ("http", "websocket"):
        os.environ[CHANNEL_VARIABLE] = channel  # read when a sandbox's connection opens
        sandboxes[channel] = (
            await AsyncSandbox.create(backend="local", timeout=900)
            if not sandboxes
            else await AsyncSandbox.connect(next(iter(sandboxes.values())).sandbox_id, backend="local")
        )
    os.environ.pop(CHANNEL_VARIABLE)
    first = sandboxes["http"]
    try:
        described = await first._connection.json("GET", "/info")  # the display's name
        screen = described["screen"]
        clock = Listener(described["display"], (0, 0, screen["width"], screen["height"]))
        clock.focus()
        await first.move_mouse(600, 400)
        samples: dict[tuple[str, str], list[float]] = {}

        def keep(step: str, channel: str, seconds: float) -> None:
            samples.setdefault((step, channel), []).append(seconds * 1000)

        async def timed(step: Callable[[], Awaitable[object]]) -> float:
            started = time.perf_counter()
            await step()
            return time.perf_counter() - started

        async def one_round(sbx: AsyncSandbox, channel: str, x: int) -> None:
            keep("no-op round trip (cursor position)", channel, await timed(sbx.get_cursor_position))
            clicked = await until_event(lambda: sbx.left_click(x, 400), X.ButtonPress)
            keep("left click, until the X event", channel, clicked)
            keep("left click, until it returns", channel, await timed(lambda: sbx.left_click(x, 401)))
            keep("scroll 3 notches", channel, await timed(lambda: sbx.scroll("down", 3)))
            keep("JPEG screenshot", channel, await timed(lambda: sbx.screenshot("jpeg")))
            keep(
                "JPEG screenshot 1024 wide", channel, await timed(lambda: sbx.screenshot("jpeg", width=1024))
            )
            # A key waits in the X server until 100 ms after the last click (Chromium's
            # hit-testing lags); the keys are measured past that, as a key on its own.
            await asyncio.sleep(0.12)
            modifier, key = await until_presses(lambda: sbx.press("ctrl+a"))
            keep("key ctrl+a, until the first X event (ctrl down)", channel, modifier)
            keep("key ctrl+a, until a goes down (the shortcut fires)", channel, key)
            keep("key ctrl+a, until it returns", channel, await timed(lambda: sbx.press("ctrl+a")))
            keep("type 20 characters", channel, await timed(lambda: sbx.write("hello, world 123 abc")))

        async def until_event(step: Callable[[], Awaitable[object]], kind: int) -> float:
            clock.drain()
            started = time.perf_counter()
            await step()
            return clock.wait_for(kind, 1) - started

        async def until_presses(step: Callable[[], Awaitable[object]]) -> tuple[float, float]:
            """Until the chord's first key press and its second reach our X client: a
            shortcut fires at the second, and a client that sends the modifier on its own
            gets the first there sooner while the second comes later."""
            clock.drain()
            started = time.perf_counter()
            await step()
            first = clock.wait_for(X.KeyPress, 1)
            return first - started, clock.wait_for(X.KeyPress, 1) - started

        async def cua_round(x: int) -> None:
            assert cua is not None
            keep("no-op round trip (cursor position)", "cua", await timed(lambda: cua("get_cursor_position")))
            clicked = await until_event(lambda: cua("left_click", x=x, y=400), X.ButtonPress)
            keep("left click, until the X event", "cua", clicked)
            keep("left click, until it returns", "cua", await timed(lambda: cua("left_click", x=x, y=401)))
            keep("scroll 3 notches", "cua", await timed(lambda: cua("scroll", x=0, y=-3)))
            await asyncio.sleep(0.12)  # as for ours, though Cua's keys do not wait
            modifier, key = await until_presses(lambda: cua("hotkey", keys=["ctrl", "a"]))
            keep("key ctrl+a, until the first X event (ctrl down)", "cua", modifier)
            keep("key ctrl+a, until a goes down (the shortcut fires)", "cua", key)
            keep(
                "key ctrl+a, until it returns", "cua", await timed(lambda: cua("hotkey", keys=["ctrl", "a"]))
            )
            keep(
                "type 20 characters",
                "cua",
                await timed(lambda: cua("type_text", text="hello, world 123 abc")),
            )

        cua: Cua | None = None
        if cua_python.exists():
            cua = Cua(cua_python, described["display"])
            await cua.start()
        else:
            say(f"(Cua's computer-server left out: no {cua_python}; see the docstring)")
        contenders = ["http", "websocket", *(["cua"] if cua is not None else [])]
        try:
            for index in range(n):
                shift = index % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    if contender == "cua":
                        await cua_round(600 + index % 7)
                    else:
                        await one_round(sandboxes[contender], contender, 600 + index % 7)
        finally:
            if cua is not None:
                await cua.close()
        header = "| step (n={n}, ms, median) | HTTP | websocket | HTTP / websocket |"
        rule = "|---|---:|---:|---:|"
        if cua is not None:
            header += " Cua computer-server | Cua / websocket |"
            rule += "---:|---:|"
        say("\n" + header.format(n=n))
        say(rule)
        for step in dict.fromkeys(step for step, _ in samples if _ != "cua"):
            http = statistics.median(samples[(step, "http")])
            socket = statistics.median(samples[(step, "websocket")])
            line = f"| {step} | {http:.2f} | {socket:.2f} | {http / socket:.2f}x |"
            if cua is not None:
                theirs = samples.get((step, "cua"))
                line += (
                    f" {statistics.median(theirs):.2f} | {statistics.median(theirs) / socket:.2f}x |"
                    if theirs
                    else " — | |"
                )
            say(line)
        REPORT.save()
    finally:
        for sbx in sandboxes.values():
            await sbx.close()
        await first.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--cua-python", type=Path, default=CUA_PYTHON)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.n, arguments.cua_python))
