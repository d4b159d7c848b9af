"""Start latency, create until the first action is answered, on each backend that runs here:
Docker, and the Modal and Fly stand-ins (both start the same image on this machine's
Docker, through the modal backend's and the fly backend's own code paths).

    .venv/bin/python bench/bench_clouds.py [--runs 3]

The stand-ins show what each backend's own steps add on top of a container start (Modal's
readiness probe and tunnel lookup; Fly's create, wait and the proxy hop); the clouds' own
start times are in their pages. Alternates the backends; prints medians; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _report import Report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness, beside bench/

import docker

from deskbox import AsyncSandbox
from deskbox.backends import Backend
from deskbox.backends.docker import DockerBackend
from deskbox.backends.fly import FlyBackend
from deskbox.backends.fly_push import tag_for_fly
from deskbox.backends.modal import ModalBackend
from harness.fly_machines import FlyMachines
from harness.modal_cloud import ModalCloud

REPORT = Report("bench_clouds")
say = REPORT.line
LABELS = {"deskbox.bench": "clouds"}
APP = "deskbox-bench"


async def start_once(backend: Backend) -> float:
    started = time.perf_counter()
    sandbox = await AsyncSandbox.create(backend=backend, timeout=300)
    try:
        await sandbox.move_mouse(10, 10)
        return time.perf_counter() - started
    finally:
        await sandbox.kill()


async def measure(makers: dict[str, Callable[[], Backend]], runs: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {name: [] for name in makers}
    for _ in range(runs):
        for name, make in makers.items():
            backend = make()
            try:
                found[name].append(await start_once(backend))
            finally:
                await backend.aclose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    client = docker.from_env()
    tagged, made = tag_for_fly(client, APP)
    modal = ModalCloud(labels=LABELS)
    try:
        with FlyMachines(apps=(APP,), labels=LABELS) as fly:
            makers: dict[str, Callable[[], Backend]] = {
                "docker": lambda: DockerBackend(labels=LABELS),
                "modal (stand-in)": lambda: ModalBackend(
                    sdk=modal, token_id=modal.TOKEN_ID, token_secret=modal.TOKEN_SECRET
                ),
                "fly (stand-in)": lambda: FlyBackend(
                    app=APP, token=fly.token, api_url=fly.api_url, public_url=fly.proxy_url
                ),
            }
            found = asyncio.run(measure(makers, runs))
    finally:
        modal.close()
        if made:
            client.images.remove(tagged)
        client.close()
    say(f"create until the first action is answered, 1280x800, n={runs} each, alternating")
    say()
    say("| backend | median | fastest |")
    say("|---|---:|---:|")
    for name, times in found.items():
        say(f"| {name} | {statistics.median(times):.2f} s | {min(times):.2f} s |")
    REPORT.save()


if __name__ == "__main__":
    main()
