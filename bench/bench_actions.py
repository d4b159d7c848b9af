"""Agent-step latency: deskbox over HTTP against the way peers do the same step.

    .venv/bin/python bench/bench_actions.py [-n 60]

Starts a 1280x800 Xvfb desktop with Openbox and Chromium showing a page, serves it with
`deskbox serve` under uvicorn on 127.0.0.1, and times each step with one keep-alive
HTTP client. Input is timed until the X event reaches a listening window (a second X
connection in a thread), not until the HTTP reply. In the same run, each step is also
done the way E2B Desktop does it: one xdotool or scrot subprocess per action and a file
read for the screenshot. Prints medians and ratios; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from _report import Report
from _xlistener import Listener
from PIL import Image
from Xlib import X

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness, beside bench/

from deskbox._ports import free_port
from deskbox.imaging import fast_png
from harness.desktop_session import DesktopSession

WIDTH, HEIGHT = 1280, 800
LISTENER = (1040, 560, 200, 200)  # x, y, width, height of the event-listening window
TEXT = "The quick brown fox jumps over the lazy dog 123456"  # 50 characters
CHROMIUM_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-position=0,0",
    f"--window-size={WIDTH},{HEIGHT}",
]
PAGE = """<!doctype html><meta charset=utf-8><title>bench page</title>
<body style="font: 15px sans-serif; margin: 24px; background: #fafafa">
<h1>Quarterly report</h1><p style="color:#345">{text}</p>
<table border=1 cellpadding=4>{rows}</table>
<div style="display:flex;gap:8px;margin-top:12px">{tiles}</div></body>"""


REPORT = Report("bench_actions")
say = REPORT.line


@dataclass
class Row:
    step: str
    ours: list[float]
    peer_way: str
    peer: list[float]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(n: int, step: Callable[[], float | None]) -> list[float]:
    """Run ``step`` n times; it returns its own end time, or None to time the call."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        ended = step()
        samples.append((ended or time.perf_counter()) - started)
    return samples


@contextmanager
def serve(display: str, token: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskbox", "serve", "--display", display, "--port", str(port)],
        env={**os.environ, "DESKBOX_TOKEN": token},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


async def show_page(display: str, profile: str) -> object:
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    context = await playwright.chromium.launch_persistent_context(
        profile,
        executable_path="/usr/bin/chromium",
        headless=False,
        no_viewport=True,
        args=CHROMIUM_FLAGS,
        env={**os.environ, "DISPLAY": display},
    )
    page = context.pages[0] if context.pages else await context.new_page()
    rows = "".join(
        f"<tr><td>Item {i}</td><td>{i * 37 % 101}</td><td>Region {i % 7}</td></tr>" for i in range(14)
    )
    tiles = "".join(
        f'<div style="width:90px;height:60px;background:hsl({i * 36},70%,60%)"></div>' for i in range(10)
    )
    await page.set_content(PAGE.format(text="Revenue grew in every region. " * 12, rows=rows, tiles=tiles))
    return playwright


def run_bench(n: int) -> list[Row]:
    rows: list[Row] = []
    token = os.urandom(16).hex()
    with (
        DesktopSession(width=WIDTH, height=HEIGHT, window_manager="openbox") as session,
        tempfile.TemporaryDirectory() as scratch,
    ):
        display = session.display
        loop = asyncio.new_event_loop()
        loop.run_until_complete(show_page(display, str(Path(scratch) / "profile")))
        env = {**os.environ, "DISPLAY": display}
        listener = Listener(display, LISTENER)
        listener.focus()
        cx, cy = LISTENER[0] + 50, LISTENER[1] + 50

        with (
            serve(display, token) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        ):
            http.get("/screenshot")  # warm up the grabber and the connection

            def deskbox_shot(fmt: str) -> Callable[[], None]:
                def step() -> None:
                    http.get("/screenshot", params={"format": fmt, "quality": 75}).raise_for_status()

                return step

            def scrot_shot() -> None:
                path = Path(scratch) / "shot.png"
                subprocess.run(["scrot", "--overwrite", "--pointer", str(path)], env=env, check=True)
                path.read_bytes()
                path.unlink()

            rows.append(
                Row(
                    "screenshot PNG",
                    timed(n, deskbox_shot("png")),
                    "scrot --pointer to a file, read, delete",
                    timed(n, scrot_shot),
                )
            )
            rows.append(
                Row(
                    "screenshot JPEG q75",
                    timed(n, deskbox_shot("jpeg")),
                    "scrot --pointer to a file, read, delete",
                    rows[-1].peer,
                )
            )

            def fresh_client_shot() -> None:
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as once:
                    once.get("/screenshot", params={"format": "jpeg"}).raise_for_status()

            rows.append(
                Row(
                    "screenshot JPEG, keep-alive client",
                    rows[-1].ours,
                    "new HTTP client per call",
                    timed(n, fresh_client_shot),
                )
            )

            def deskbox_click() -> float:
                listener.drain()
                http.post("/actions", json={"type": "click", "x": cx, "y": cy}).raise_for_status()
                return listener.wait_for(X.ButtonRelease, 1)

            alternate = itertools.cycle([cx + 1, cx + 2])

            def xdotool_click() -> float:
                # E2B's left_click(x, y): `xdotool mousemove --sync x y`, then `xdotool click 1`.
                # The x alternates: --sync waits ~15 s when the pointer is already there.
                listener.drain()
                subprocess.run(
                    ["xdotool", "mousemove", "--sync", str(next(alternate)), str(cy)], env=env, check=True
                )
                subprocess.run(["xdotool", "click", "1"], env=env, check=True)
                return listener.wait_for(X.ButtonRelease, 1)

            rows.append(
                Row(
                    "click at x,y, until the window has the release",
                    timed(n, deskbox_click),
                    "xdotool mousemove --sync, then xdotool click",
                    timed(n, xdotool_click),
                )
            )

            listener.focus()

            def deskbox_type() -> float:
                listener.drain()
                http.post("/actions", json={"type": "type", "text": TEXT}).raise_for_status()
                return listener.wait_for(X.KeyRelease, len(TEXT))

            def xdotool_type(delay: int, chunk: int) -> Callable[[], float]:
                def step() -> float:
                    listener.drain()
                    for start in range(0, len(TEXT), chunk):
                        subprocess.run(
                            ["xdotool", "type", "--delay", str(delay), "--", TEXT[start : start + chunk]],
                            env=env,
                            check=True,
                        )
                    return listener.wait_for(X.KeyRelease, len(TEXT))

                return step

            typed = timed(n, deskbox_type)
            rows.append(
                Row(
                    "type 50 characters",
                    typed,
                    "xdotool type (default 12 ms delay)",
                    timed(max(5, n // 5), xdotool_type(12, len(TEXT))),
                )
            )
            rows.append(
                Row(
                    "type 50 characters",
                    typed,
                    "E2B write(): 25-char chunks, 75 ms delay",
                    timed(3, xdotool_type(75, 25)),
                )
            )

            def deskbox_exec() -> None:
                http.post("/shell/run", json={"cmd": ["true"]}).raise_for_status()

            def login_shell_exec() -> None:
                subprocess.run(["bash", "-lc", "true"], check=True)

            rows.append(
                Row("exec `true`", timed(n, deskbox_exec), "bash -lc true", timed(n, login_shell_exec))
            )

        frame = Image.frombuffer("RGB", (WIDTH, HEIGHT), bytes(WIDTH * HEIGHT * 4), "raw", "BGRX", 0, 1)
        shot = (
            subprocess.run(["import", "-window", "root", "png:-"], env=env, capture_output=True).stdout
            if shutil.which("import")
            else b""
        )
        if shot:
            frame = Image.open(io.BytesIO(shot)).convert("RGB")
        raw = frame.tobytes()

        def pillow_png() -> None:
            frame.save(io.BytesIO(), "PNG", compress_level=6)

        def our_png() -> None:
            fast_png(raw, WIDTH, HEIGHT)

        rows.append(
            Row(
                "encode PNG in-process",
                timed(n, our_png),
                "Pillow PNG, default level 6",
                timed(n, pillow_png),
            )
        )
        loop.close()
    return rows


def print_table(rows: list[Row], n: int) -> None:
    say(f"\nMedians of n={n} (slow peer ways: fewer runs), 1280x800, Chromium showing a page, 2 cores.\n")
    say("| step | deskbox | the slow way | slow way | speed-up |")
    say("|---|---:|---|---:|---:|")
    for row in rows:
        ours, peer = median_ms(row.ours), median_ms(row.peer)
        say(f"| {row.step} | {ours:.2f} ms | {row.peer_way} | {peer:.1f} ms | {peer / ours:.0f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=60, help="samples per deskbox step (default 60)")
    args = parser.parse_args()
    for tool in ("Xvfb", "openbox", "xdotool", "scrot"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is missing; run scripts/setup first")
    print_table(run_bench(args.n), args.n)


if __name__ == "__main__":
    main()
    REPORT.save()
