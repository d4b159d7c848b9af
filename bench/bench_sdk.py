"""The SDK and the docker backend: create times, memory per sandbox, and SDK overhead.

    .venv/bin/python bench/bench_sdk.py [--many 10] [-n 60]

Needs Docker and the built image. Prints medians; never fails.
- create until ready: cold (a new container) and from a warm pool (pool_size=2);
- memory per sandbox with --many running at once (PSS of every process, per container);
- the same agent step (screenshot, click, type) through AsyncSandbox and as direct
  HTTP calls on one keep-alive httpx client, interleaved in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import time

import httpx
from _report import Report
from bench_container import container_pss_mib

from deskbox import AsyncSandbox
from deskbox.backends.docker import DockerBackend

REPORT = Report("bench_sdk")
say = REPORT.line
# Everything this run makes carries its label, and only that is removed: the machine may
# hold the user's own sandboxes and pools.
OURS = {"deskbox.bench-run": secrets.token_hex(4)}


async def timed_creates(backend: DockerBackend, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        sbx = await AsyncSandbox.create(backend=backend, timeout=300)
        samples.append(time.perf_counter() - started)
        await sbx.kill()
    return samples


async def memory_with_many(count: int) -> tuple[float, float]:
    sandboxes = await asyncio.gather(
        *(AsyncSandbox.create(backend="docker", labels=OURS, timeout=600) for _ in range(count))
    )
    try:
        await asyncio.sleep(5)
        per_sandbox = [container_pss_mib(s.sandbox_id) for s in sandboxes]
        return statistics.median(per_sandbox), sum(per_sandbox)
    finally:
        await asyncio.gather(*(s.kill() for s in sandboxes))


async def step_overhead(n: int) -> tuple[float, float]:
    sbx = await AsyncSandbox.create(backend="docker", labels=OURS, timeout=600)
    headers = {"Authorization": f"Bearer {sbx.info.token}"}
    try:
        async with httpx.AsyncClient(base_url=sbx.url, headers=headers, trust_env=False) as http:

            async def direct() -> None:
                (await http.get("/screenshot", params={"format": "jpeg"})).raise_for_status()
                (await http.post("/actions", json={"type": "click", "x": 640, "y": 400})).raise_for_status()
                (await http.post("/actions", json={"type": "type", "text": "hello"})).raise_for_status()

            async def through_sdk() -> None:
                await sbx.screenshot("jpeg")
                await sbx.left_click(640, 400)
                await sbx.write("hello")

            sdk, raw = [], []
            for _ in range(3):  # warm both paths
                await direct()
                await through_sdk()
            for index in range(n):
                # Alternate which goes first: each step leaves work behind (Chromium
                # handling the typed keys) that would otherwise always slow the same side.
                order = [(through_sdk, sdk), (direct, raw)]
                for step, samples in order if index % 2 else reversed(order):
                    started = time.perf_counter()
                    await step()
                    samples.append(time.perf_counter() - started)
        return statistics.median(sdk) * 1000, statistics.median(raw) * 1000
    finally:
        await sbx.kill()


async def main(many: int, n: int) -> None:
    cold = await timed_creates(DockerBackend(labels=OURS), 3)
    pooled_backend = DockerBackend(pool_size=2, labels=OURS)
    await pooled_backend.fill_pool()
    warm = []
    for _ in range(5):
        await pooled_backend.fill_pool()  # the benchmark waits for the refill; a user's next create may not
        warm += await timed_creates(pooled_backend, 1)
    await pooled_backend.aclose()
    label = next(f"{key}={value}" for key, value in OURS.items())
    for name in subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True
    ).stdout.split():
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    median_pss, total_pss = await memory_with_many(many)
    sdk_ms, raw_ms = await step_overhead(n)
    say("\n| measure | median | target |")
    say("|---|---:|---:|")
    say(f"| docker create until ready, cold (n=3) | {statistics.median(cold):.2f} s | |")
    say(f"| docker create from the warm pool (n=5) | {statistics.median(warm) * 1000:.0f} ms | ≤ 100 ms |")
    total = f"{total_pss / 1024:.1f} GiB"
    say(f"| memory per sandbox, {many} running (PSS) | {median_pss:.0f} MiB (all: {total}) | |")
    say(f"| agent step (JPEG screenshot + click + type), SDK (n={n}) | {sdk_ms:.2f} ms | |")
    say(f"| the same step as direct HTTP calls | {raw_ms:.2f} ms | |")
    say(f"| SDK overhead per step | {sdk_ms - raw_ms:+.2f} ms | ≤ 0.5 ms |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--many", type=int, default=10)
    parser.add_argument("-n", type=int, default=60)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.many, arguments.n))
    REPORT.save()
