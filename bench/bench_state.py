"""Sandbox state on the docker backend: pause, resume, snapshot, fork and reset, against
the plain way to get a sandbox back to a known state (kill it and create another).

    .venv/bin/python bench/bench_state.py [-n 7]

Needs Docker and the built image. Prints medians; never fails. In one run, interleaved:
- pause and resume (the cgroup freezer; resume includes the health check);
- snapshot (docker commit of a sandbox with a browser profile and a few files);
- fork(1) (a commit, then a sandbox started from it, until ready);
- reset from a warm pool (a rename swap) and without one (a fresh sandbox of the same
  image, until ready), each timed until the SDK's object answers again;
- kill then create, cold and from a warm pool: what a user does without reset().
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable

from _report import Report

from deskbox import AsyncSandbox
from deskbox.backends.docker import DockerBackend

REPORT = Report("bench_state")
say = REPORT.line
OURS = {"deskbox.bench-run": secrets.token_hex(4)}


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await step()
    return time.perf_counter() - started


async def main(n: int) -> None:
    plain = DockerBackend(labels=OURS)
    pooled = DockerBackend(labels=OURS, pool={"base": 1})
    samples: dict[str, list[float]] = {}

    def keep(name: str, seconds: float) -> None:
        samples.setdefault(name, []).append(seconds)

    sbx = await AsyncSandbox.create(backend=plain, timeout=3600)
    await pooled.fill_pool()
    on_pool = await AsyncSandbox.create(backend=pooled, timeout=3600)
    try:
        await sbx.files.write("/home/user/notes/state.txt", "a known state")
        for index in range(n):
            keep("pause", await timed(sbx.pause))
            keep("resume", await timed(sbx.resume))
            snap_name = f"bench-{OURS['deskbox.bench-run']}-{index}"
            started = time.perf_counter()
            await sbx.snapshot(snap_name)
            keep("snapshot", time.perf_counter() - started)
            await AsyncSandbox.delete_snapshot(snap_name, backend=plain)
            forks: list[AsyncSandbox] = []

            async def fork(into: list[AsyncSandbox] = forks) -> None:
                into.extend(await sbx.fork(1))

            keep("fork(1), until ready", await timed(fork))
            await forks[0].kill()

            await pooled.fill_pool()  # the bench waits for the refill; a user's next reset may not
            await on_pool.files.write("/home/user/changed.txt", "by the agent")
            keep("reset, warm pool", await timed(lambda: reset_and_answer(on_pool)))
            await pooled.aclose()  # its refill and the old sandbox's removal, before the next step
            keep("reset, no pool", await timed(lambda: reset_and_answer(sbx)))
            await plain.aclose()

            for name, backend in (("kill + create, cold", plain), ("kill + create, warm pool", pooled)):
                old = await AsyncSandbox.create(backend=backend, timeout=600)
                await pooled.fill_pool()  # refilled after the claim above, as between a user's episodes
                started = time.perf_counter()
                fresh = await kill_and_create(old, backend)
                keep(name, time.perf_counter() - started)
                await fresh.kill()
    finally:
        await sbx.kill()
        await on_pool.kill()
        await pooled.aclose()
        await plain.aclose()
        label = next(f"{key}={value}" for key, value in OURS.items())
        for name in subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True
        ).stdout.split():
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)

    cold = statistics.median(samples["kill + create, cold"])
    say(f"\n| step (n={n}) | median | vs kill + create, cold | goal |")
    say("|---|---:|---:|---:|")
    goals = {"reset, warm pool": "< 150 ms", "reset, no pool": "< 2.5 s"}
    for name, values in samples.items():
        median = statistics.median(values)
        shown = f"{median * 1000:.0f} ms" if median < 1 else f"{median:.2f} s"
        say(f"| {name} | {shown} | {cold / median:.1f}x | {goals.get(name, '')} |")


async def reset_and_answer(sbx: AsyncSandbox) -> None:
    await sbx.reset()
    await sbx.get_screen_size()


async def kill_and_create(old: AsyncSandbox, backend: DockerBackend) -> AsyncSandbox:
    await old.kill()
    fresh = await AsyncSandbox.create(backend=backend, timeout=600)
    await fresh.get_screen_size()
    return fresh


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.n))
    REPORT.save()
