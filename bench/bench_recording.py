"""Screen recording's cost: CPU per fps at 1280x800 for deskbox's recorder, against the
ffmpeg command OSWorld's guest server records with, in one run.

    .venv/bin/python bench/bench_recording.py [--seconds 8]

Starts a 1280x800 Xvfb desktop with Openbox and a window that moves all the time (a
screen that never settles costs the most), records it each way for the same wall time,
and reads ffmpeg's CPU time from /proc. Prints CPU as a share of one core, and file
sizes; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _report import Report
from Xlib import display as xdisplay

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness, beside bench/

from deskbox.desktop.recording import Recorder
from harness.desktop_session import DesktopSession

WIDTH, HEIGHT = 1280, 800
REPORT = Report("bench_recording")
say = REPORT.line
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def mover(display: str, stop: threading.Event) -> None:
    conn = xdisplay.Display(display)
    screen = conn.screen()
    window = screen.root.create_window(
        0, 200, 300, 300, 0, screen.root_depth, background_pixel=screen.white_pixel, override_redirect=True
    )
    window.map()
    x = 0
    while not stop.wait(1 / 30):
        x = (x + 7) % (WIDTH - 300)
        window.configure(x=x)
        conn.sync()
    conn.close()


async def ours(display: str, fps: int, seconds: float, folder: Path) -> tuple[float, int]:
    recorder = Recorder(display, folder / f"ours-{fps}")
    await recorder.start((WIDTH, HEIGHT), fps, "mp4", None)
    pid = recorder.pid
    assert pid is not None
    await asyncio.sleep(0.5)  # past ffmpeg's start
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    used = cpu_seconds(pid) - before
    wall = time.monotonic() - started
    video = await recorder.stop()
    return used / wall, video.stat().st_size


def osworlds(display: str, seconds: float, folder: Path) -> tuple[float, int]:
    """The command OSWorld's guest server starts for /start_recording."""
    video = folder / "osworld.mp4"
    argv = ["ffmpeg", "-y", "-f", "x11grab", "-draw_mouse", "1", "-s", f"{WIDTH}x{HEIGHT}", "-i", display,
            "-c:v", "libx264", "-r", "30", str(video)]  # fmt: skip
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    before, started = cpu_seconds(process.pid), time.monotonic()
    time.sleep(seconds)
    used = cpu_seconds(process.pid) - before
    wall = time.monotonic() - started
    assert process.stdin is not None
    process.stdin.write(b"q")
    process.stdin.flush()
    process.wait(timeout=60)
    return used / wall, video.stat().st_size


def run_bench(seconds: float) -> None:
    stop = threading.Event()
    with (
        DesktopSession(width=WIDTH, height=HEIGHT, window_manager="openbox") as session,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        thread = threading.Thread(target=mover, args=(session.display, stop), daemon=True)
        thread.start()
        say(f"screen recording at {WIDTH}x{HEIGHT}, a window moving all the time, {seconds:g} s each")
        say()
        say("| way | CPU (share of one core) | file |")
        say("|---|---:|---:|")
        for fps in (5, 10, 15, 30):
            share, size = asyncio.run(ours(session.display, fps, seconds, folder))
            say(
                f"| deskbox, {fps} fps (H.264 ultrafast, fragmented MP4) "
                f"| {share * 100:.1f} % | {size / 1e6:.2f} MB |"
            )
        share, size = osworlds(session.display, seconds, folder)
        say(
            f"| OSWorld's guest command (30 fps, libx264 defaults) "
            f"| {share * 100:.1f} % | {size / 1e6:.2f} MB |"
        )
        stop.set()
        thread.join()
    say()
    say("CPU is ffmpeg's user and system time over the wall time it recorded, from /proc.")
    REPORT.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    run_bench(parser.parse_args().seconds)


if __name__ == "__main__":
    main()
