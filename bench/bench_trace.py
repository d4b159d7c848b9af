"""What tracing costs an action: a click through the SDK with no trace, with a trace on an
unchanged screen, and with a trace on a screen that changed before the click, in one run.

    .venv/bin/python bench/bench_trace.py [--rounds 6] [--per-round 10]

Starts `deskbox serve` on a 1280x800 Xvfb desktop with Openbox and drives it with the SDK
over its action socket, as an agent does. The three ways alternate in rounds. "Changed"
maps a different colour over part of the screen before each click (outside the timing),
so the step must grab a new picture; its JPEG is encoded off the request, and that work
is timed on its own. Prints medians; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _report import Report
from Xlib import display as xdisplay

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness, beside bench/

from deskbox import AsyncSandbox
from deskbox._ports import free_port
from deskbox.desktop.capture import Frame, encode_frame
from harness.desktop_session import DesktopSession

WIDTH, HEIGHT = 1280, 800
TOKEN = "bench-trace"
REPORT = Report("bench_trace")
say = REPORT.line


class Flipper:
    """A window the bench recolours between clicks: a screen that changed."""

    def __init__(self, display: str) -> None:
        self.conn = xdisplay.Display(display)
        screen = self.conn.screen()
        self.colours = [screen.black_pixel, screen.white_pixel]
        self.window = screen.root.create_window(
            200, 200, 600, 300, 0, screen.root_depth, background_pixel=self.colours[0], override_redirect=True
        )
        self.window.map()
        self.conn.sync()
        self.turn = 0

    def flip(self) -> None:
        self.turn += 1
        self.window.change_attributes(background_pixel=self.colours[self.turn % 2])
        self.window.clear_area()
        self.conn.sync()


def serve(display: str, runtime: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskbox", "serve", "--display", display, "--port", str(port)],
        env={**os.environ, "DESKBOX_TOKEN": TOKEN, "DESKBOX_RUNTIME_DIR": str(runtime)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("deskbox serve did not start")


async def clicks(
    sandbox: AsyncSandbox, count: int, flipper: Flipper | None, apart: float = 0.0
) -> list[float]:
    taken = []
    for index in range(count):
        await asyncio.sleep(apart)  # an agent's model call between steps: the last picture is stored
        if flipper is not None:
            flipper.flip()
        started = time.perf_counter()
        await sandbox.left_click(1000 + index % 2, 700)  # on the bare root: the click changes nothing
        taken.append((time.perf_counter() - started) * 1000)
    return taken


async def measure(url: str, display: str, rounds: int, per_round: int) -> dict[str, list[float]]:
    sandbox = await AsyncSandbox.connect(url=url, token=TOKEN)
    flipper = Flipper(display)
    found: dict[str, list[float]] = {"off": [], "unchanged": [], "changed": [], "spaced": []}
    try:
        await clicks(sandbox, 20, None)  # warm: the socket, the X thread, the server's caches
        for _ in range(rounds):
            found["off"] += await clicks(sandbox, per_round, None)
            await sandbox.trace.start()
            await asyncio.sleep(0.3)  # the first picture is stored
            await clicks(sandbox, 2, None)
            found["unchanged"] += await clicks(sandbox, per_round, None)
            found["changed"] += await clicks(sandbox, per_round, flipper)
            found["spaced"] += await clicks(sandbox, per_round, flipper, apart=0.05)
            with tempfile.TemporaryDirectory() as folder:
                await sandbox.trace.stop(Path(folder) / "bench.zip")
    finally:
        await sandbox.close()
    return found


def encode_cost(display: str) -> tuple[float, int]:
    """The work a changed screen leaves for the background: a 1280x800 frame as a JPEG."""
    import mss

    with mss.MSS(display=display) as grabber:
        shot = grabber.grab(grabber.monitors[0])
    frame = Frame(shot.width, shot.height, shot.raw)
    times, length = [], 0
    for _ in range(30):
        started = time.perf_counter()
        length = len(encode_frame(frame, "jpeg", 70, None).data)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), length


def run_bench(rounds: int, per_round: int) -> None:
    with (
        DesktopSession(width=WIDTH, height=HEIGHT, window_manager="openbox") as session,
        tempfile.TemporaryDirectory() as runtime,
    ):
        proc, url = serve(session.display, Path(runtime))
        try:
            found = asyncio.run(measure(url, session.display, rounds, per_round))
            encoded_ms, jpeg_bytes = encode_cost(session.display)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    off = statistics.median(found["off"])
    count = len(found["off"])
    say(f"a left click through the SDK (action socket) until it returns, {WIDTH}x{HEIGHT}, n={count}")
    say()
    say("| trace | median | p90 | added to the click |")
    say("|---|---:|---:|---:|")
    for name, label in (
        ("off", "none"),
        ("unchanged", "on, screen unchanged"),
        ("changed", "on, screen changed, clicks back to back"),
        ("spaced", "on, screen changed, clicks 50 ms apart"),
    ):
        values = sorted(found[name])
        median = statistics.median(values)
        p90 = values[int(len(values) * 0.9) - 1]
        added = "" if name == "off" else f"{median - off:+.2f} ms"
        say(f"| {label} | {median:.2f} ms | {p90:.2f} ms | {added} |")
    say()
    say(
        f"A changed screen also leaves one JPEG to encode off the request: {encoded_ms:.1f} ms "
        f"for 1280x800 at quality 70 ({jpeg_bytes / 1000:.0f} KB of this desktop). Back to back, that "
        "work competes with the next click for this machine's two cores."
    )
    REPORT.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=10)
    args = parser.parse_args()
    run_bench(args.rounds, args.per_round)


if __name__ == "__main__":
    main()
