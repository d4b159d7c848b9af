"""pyautogui code actions: deskbox's warm worker against a native action and against
OSWorld's way (a fresh ``python -c "import pyautogui; ..."`` per action), in one run.

    .venv/bin/python bench/bench_pyautogui.py [-n 40]

Starts a 1280x800 Xvfb desktop with Openbox, serves it with `deskbox serve`, and times
each step over one keep-alive HTTP client until the X event reaches a listening window.
The three ways alternate sample by sample, so machine noise hits them alike. OSWorld's
way is run as its guest server runs it: a subprocess of the same Python, with the line
OSWorld puts in front of every action. Prints medians and ratios; never fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _report import Report
from _xlistener import Listener
from bench_actions import median_ms, serve
from Xlib import X

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness, beside bench/

from harness.desktop_session import DesktopSession

WIDTH, HEIGHT = 1280, 800
LISTENER = (900, 500, 300, 200)
OSWORLD_PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "
"""What OSWorld's DesktopEnv puts before each pyautogui action it sends to its guest."""
TEXT = "hello world 12345"

REPORT = Report("bench_pyautogui")
say = REPORT.line

Step = Callable[[], float]


def run_bench(n: int) -> None:
    token = os.urandom(16).hex()
    with DesktopSession(width=WIDTH, height=HEIGHT, window_manager="openbox") as session:
        display = session.display
        listener = Listener(display, LISTENER)
        listener.focus()
        cx, cy = LISTENER[0] + 100, LISTENER[1] + 100
        env = {**os.environ, "DISPLAY": display}
        with (
            serve(display, token) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        ):

            def action(body: dict[str, object], event: int, count: int) -> Step:
                def step() -> float:
                    listener.drain()
                    http.post("/actions", json=body).raise_for_status()
                    return listener.wait_for(event, count)

                return step

            def python_c(code: str, event: int, count: int) -> Step:
                def step() -> float:
                    listener.drain()
                    subprocess.run([sys.executable, "-c", OSWORLD_PREFIX + code], env=env, check=True)
                    return listener.wait_for(event, count)

                return step

            def pyautogui(code: str, event: int, count: int) -> Step:
                return action({"type": "pyautogui", "code": code}, event, count)

            # The worker starts on the first pyautogui action; the first sample is not its start.
            warm_up = {"type": "pyautogui", "code": "pyautogui.position()"}
            http.post("/actions", json=warm_up).raise_for_status()
            rows: list[tuple[str, list[Step]]] = [
                (
                    "left click at x,y",
                    [
                        action({"type": "click", "x": cx, "y": cy}, X.ButtonRelease, 1),
                        pyautogui(f"pyautogui.click({cx}, {cy})", X.ButtonRelease, 1),
                        python_c(f"pyautogui.click({cx}, {cy})", X.ButtonRelease, 1),
                    ],
                ),
                (
                    "key combo ctrl+a",
                    [
                        action({"type": "key", "keys": "ctrl+a"}, X.KeyRelease, 2),
                        pyautogui("pyautogui.hotkey('ctrl', 'a')", X.KeyRelease, 2),
                        python_c("pyautogui.hotkey('ctrl', 'a')", X.KeyRelease, 2),
                    ],
                ),
                (
                    f"type {len(TEXT)} characters",
                    [
                        action({"type": "type", "text": TEXT}, X.KeyRelease, len(TEXT)),
                        pyautogui(f"pyautogui.write({TEXT!r})", X.KeyRelease, len(TEXT)),
                        python_c(f"pyautogui.write({TEXT!r})", X.KeyRelease, len(TEXT)),
                    ],
                ),
            ]
            say(f"pyautogui code actions, n={n} per way (OSWorld's way n={(n + 3) // 4}), medians in ms")
            say()
            say("| step | native action | pyautogui action | OSWorld `python -c` | pyautogui vs native |")
            say("|---|---:|---:|---:|---:|")
            for name, (native, warm, fresh) in rows:
                samples: list[list[float]] = [[], [], []]
                for index in range(n):
                    listener.focus()
                    for which, step in enumerate((native, warm, fresh)):
                        if which == 2 and index % 4:
                            continue  # a fresh interpreter per sample is slow: a quarter of the samples
                        started = time.perf_counter()
                        samples[which].append(step() - started)
                ours, worker, osworld = (median_ms(s) for s in samples)
                say(
                    f"| {name} | {ours:.2f} | {worker:.2f} | {osworld:.1f} | "
                    f"+{worker - ours:.2f} ms ({osworld / worker:.0f}x faster than OSWorld's way) |"
                )
            osworld_client(http, url, token, listener, (cx, cy), n)
    say()
    say(
        "Timed until the listening window has the X event, over keep-alive HTTP. The "
        "pyautogui action's input goes back from its worker to the server's own input "
        "path; OSWorld's way starts Python, imports pyautogui and opens an X connection "
        "per action."
    )
    REPORT.save()


def osworld_client(
    http: httpx.Client, url: str, token: str, listener: Listener, point: tuple[int, int], n: int
) -> None:
    """OSWorld's own client, unmodified, sending a click: through deskbox's forwarder to
    /osworld/execute (the warm worker), and, in the same run, the subprocess its guest
    would start for the same request."""
    try:
        from desktop_env.controllers.python import PythonController
    except ImportError:
        say()
        say("(desktop-env is not installed: OSWorld's client was not measured)")
        return
    from deskbox.integrations.osworld import GuestForwarder

    code = f"pyautogui.click({point[0]}, {point[1]})"
    with GuestForwarder(url, token) as guest:
        controller = PythonController(vm_ip=guest.host, server_port=guest.port)
        controller.execute_python_command("pass")  # the worker's start is not a sample
        through: list[float] = []
        for _ in range(n):
            listener.drain()
            started = time.perf_counter()
            controller.execute_python_command(code)
            through.append(listener.wait_for(X.ButtonRelease, 1) - started)
    say()
    say(
        f"OSWorld's PythonController.execute_python_command, a click, unmodified: through "
        f"deskbox's forwarder {median_ms(through):.2f} ms (n={n}), until the X event and "
        "including the client's own HTTP; its guest would start the `python -c` above for it."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40)
    run_bench(parser.parse_args().n)


if __name__ == "__main__":
    main()
