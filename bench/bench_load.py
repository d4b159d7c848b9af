"""Many clients on one sandbox at once: errors, latency per action, and the server's memory.

    .venv/bin/python bench/bench_load.py [--clients 10 50] [--rounds 3] [--seconds 10]

One docker sandbox (the image built first); each client has its own SDK connection and
loops over a mix of screenshots, clicks, typing, shell commands and file writes and reads
for the round's length. Prints, per concurrency and round, the requests, the errors, the
p50 and p99 of each action and the control server's resident memory after the round.
Never fails: read the errors column and whether the memory grows.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import secrets
import subprocess
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

from _report import Report

from deskbox import AsyncSandbox, DeskboxError

REPORT = Report("bench_load")
say = REPORT.line
OURS = {"deskbox.bench-run": secrets.token_hex(4)}
Step = Callable[[AsyncSandbox, int], Awaitable[object]]


def steps() -> dict[str, Step]:
    return {
        "screenshot (JPEG)": lambda s, i: s.screenshot("jpeg"),
        "click": lambda s, i: s.left_click(100 + i % 500, 200 + i % 300),
        "type 20 chars": lambda s, i: s.write("load test, typed …20"),
        "shell `echo`": lambda s, i: s.commands.run(["echo", str(i)]),
        "file write + read": lambda s, i: _file_round_trip(s, i),
    }


async def _file_round_trip(sbx: AsyncSandbox, index: int) -> None:
    path = f"/tmp/load/{index % 64}.txt"
    await sbx.files.write(path, f"round {index}")
    await sbx.files.read(path)


def server_rss_mib(container: str) -> float:
    """The control server's resident memory, read on the host from its /proc entry."""
    listed = subprocess.run(
        ["docker", "top", container, "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[1:]
    pid = next(line.split()[0] for line in listed if "deskbox serve" in line)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def client(sbx: AsyncSandbox, until: float, samples: dict[str, list[float]], errors: list[str]) -> None:
    actions = list(steps().items())
    for index in itertools.count():
        if time.monotonic() >= until:
            return
        name, step = actions[index % len(actions)]
        started = time.perf_counter()
        try:
            await step(sbx, index)
        except DeskboxError as exc:
            errors.append(f"{name}: {exc}")
            continue
        samples[name].append(time.perf_counter() - started)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def main(concurrencies: list[int], rounds: int, seconds: float) -> None:
    sbx = await AsyncSandbox.create(backend="docker", labels=OURS, timeout=3600)
    try:
        say(f"\nOne docker sandbox, {seconds:.0f} s per round, every client its own connection.\n")
        say(
            "| clients | round | requests | errors | "
            + " | ".join(f"{n} p50/p99" for n in steps())
            + " | server RSS |"
        )
        say("|---:|---:|---:|---:|" + "---:|" * len(steps()) + "---:|")
        for count in concurrencies:
            clients = [await AsyncSandbox.connect(url=sbx.url, token=sbx.info.token) for _ in range(count)]
            try:
                for round_number in range(1, rounds + 1):
                    samples: dict[str, list[float]] = defaultdict(list)
                    errors: list[str] = []
                    until = time.monotonic() + seconds
                    await asyncio.gather(*(client(c, until, samples, errors) for c in clients))
                    cells = [
                        f"{percentile(samples[n], 0.5):.1f} / {percentile(samples[n], 0.99):.0f} ms"
                        if samples[n]
                        else "-"
                        for n in steps()
                    ]
                    total = sum(len(v) for v in samples.values()) + len(errors)
                    rss = await asyncio.to_thread(server_rss_mib, sbx.sandbox_id)
                    say(
                        f"| {count} | {round_number} | {total} | {len(errors)} | "
                        + " | ".join(cells)
                        + f" | {rss:.0f} MiB |"
                    )
                    for error in errors[:3]:
                        say(f"<!-- error: {error} -->")
            finally:
                await asyncio.gather(*(c.close() for c in clients))
        say(f"\nRequests are over {seconds:.0f} s per round; a flat RSS column is no growth.")
    finally:
        await sbx.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.clients, arguments.rounds, arguments.seconds))
    REPORT.save()
