"""E2B stock mode: deskbox's typing and clicking against e2b_desktop's own, on one desktop.

    .venv/bin/python bench/bench_e2b_stock.py [-n 5]

Runs the real ``e2b_desktop.Sandbox`` code with its commands executed on a local Xvfb
(harness/e2b_desktop.py), so each side sends exactly the xdotool command lines it
would send to E2B. E2B's RPC round trip per command (tens of ms from outside its
region) is not included; it adds the same per command to both sides, and deskbox sends
fewer commands. Prints medians; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from _report import Report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskbox import AsyncSandbox
from harness import e2b_desktop

ASCII = "The quick brown fox jumps over the lazy dog 123456"  # 50 characters
MIXED = "Grüße aus Köln, 東京 und Łódź: ✓ 50 characters ok!"


REPORT = Report("bench_e2b_stock")
say = REPORT.line


async def main() -> None:
    parser = argparse.ArgumentParser(description="e2b stock mode benchmark")
    parser.add_argument("-n", type=int, default=5)
    args = parser.parse_args()
    backend = e2b_desktop.stock_backend()
    sandbox = await AsyncSandbox.create(backend=backend, resolution=(1024, 768), timeout=600)
    desktop = e2b_desktop.running(sandbox.sandbox_id)
    rows = []
    try:
        for label, text in (
            ("type 50 ASCII characters", ASCII),
            (f"type {len(MIXED)} mixed characters", MIXED),
        ):
            ours, theirs, commands = [], [], (0, 0)
            for _ in range(args.n):
                desktop.ran.clear()
                started = time.perf_counter()
                await sandbox.write(text)
                ours.append(time.perf_counter() - started)
                mine = len(desktop.ran)
                desktop.ran.clear()
                started = time.perf_counter()
                await asyncio.to_thread(desktop.write, text)  # e2b_desktop's defaults
                theirs.append(time.perf_counter() - started)
                commands = (mine, len(desktop.ran))
            rows.append((label, statistics.median(ours), statistics.median(theirs), commands))
    finally:
        await sandbox.kill()
    say(f"\nMedians, n={args.n}, the real e2b_desktop code on a local Xvfb (no E2B RPC latency).\n")
    say("| step | deskbox stock mode | e2b_desktop defaults | speed-up | commands (deskbox / e2b_desktop) |")
    say("|---|---:|---:|---:|---:|")
    for label, ours_s, theirs_s, (mine, theirs_n) in rows:
        ours_ms, theirs_ms, ratio = ours_s * 1000, theirs_s * 1000, theirs_s / ours_s
        say(f"| {label} | {ours_ms:.0f} ms | {theirs_ms:.0f} ms | {ratio:.1f}x | {mine} / {theirs_n} |")


if __name__ == "__main__":
    asyncio.run(main())
    REPORT.save()
