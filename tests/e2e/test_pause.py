"""Pause and resume on the docker backend: frozen processes, a deadline that stops with
them, the state in list(), and connect() thawing a paused sandbox."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import docker
import pytest

from deskbox import AsyncSandbox
from deskbox.backends.docker import DEADLINE_FILE
from tests.e2e.conftest import docker_backend
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

FIELD_PAGE = (
    "data:text/html,<title>field</title><textarea id=t autofocus style='width:90vw;height:50vh'></textarea>"
)


def cpu_ns(container: Any) -> int:
    """CPU time used by every process of the container so far (cgroup v1 or v2)."""
    stats = container.stats(stream=False)
    return int(stats["cpu_stats"]["cpu_usage"]["total_usage"])


async def field_text(sbx: AsyncSandbox) -> str:
    await sbx.press("ctrl+a")
    await sbx.press("ctrl+c")
    return await sbx.get_clipboard()


async def test_a_paused_sandbox_uses_no_cpu_and_keeps_its_field_and_its_time(docker_ready: None) -> None:
    backend = docker_backend()
    sbx = await AsyncSandbox.create(backend=backend, timeout=8)
    container = docker.from_env().containers.get(sbx.sandbox_id)
    try:
        await sbx.navigate(FIELD_PAGE)
        await sbx.left_click(640, 300)
        await sbx.write("before the pause, ")
        created_left = float(container.exec_run(["cat", DEADLINE_FILE]).output) - time.time()

        await sbx.pause()
        paused_at = time.monotonic()
        listed = {info.sandbox_id: info.state for info in await AsyncSandbox.list(backend=backend)}
        assert listed[sbx.sandbox_id] == "paused"
        first = await asyncio.to_thread(cpu_ns, container)
        await asyncio.sleep(2)  # the measuring window, not a wait for a condition
        second = await asyncio.to_thread(cpu_ns, container)
        assert second - first == 0, f"a paused sandbox used {(second - first) / 1e6:.1f} ms of CPU in 2 s"
        # Past the deadline it had when paused: a running sandbox would have ended by now.
        await asyncio.sleep(max(0.0, created_left + 2 - (time.monotonic() - paused_at)))

        await sbx.resume()
        container.reload()
        assert container.status == "running"
        left = float(container.exec_run(["cat", DEADLINE_FILE]).output) - time.time()
        assert 0 < left <= created_left + 0.5, f"{left:.1f} s left after the pause, {created_left:.1f} before"
        await sbx.left_click(640, 300)
        await sbx.press("End")
        await sbx.write("and after it")
        # Chromium copies on its own time: read the clipboard until the copy is there.
        await eventually(
            lambda: field_text(sbx), lambda text: text == "before the pause, and after it", timeout=10
        )

        # The time left runs again once resumed: the sandbox ends by itself.
        await sbx.close()
        await eventually(
            lambda: asyncio.to_thread(_exists, container.name),
            lambda exists: not exists,
            timeout=left + 30,
        )
    finally:
        if _exists(container.name):
            await sbx.kill()
        await backend.aclose()


async def test_connect_thaws_a_paused_sandbox_and_kill_ends_one(docker_ready: None) -> None:
    backend = docker_backend()
    sbx = await AsyncSandbox.create(backend=backend, timeout=120)
    try:
        await sbx.pause()
        again = await AsyncSandbox.connect(sbx.sandbox_id, backend=backend)
        assert again.info.state == "running"
        assert await again.get_screen_size() == (1280, 800)
        await again.pause()
        await again.set_timeout(300)  # on a paused sandbox: the time it will have once resumed
        container = docker.from_env().containers.get(sbx.sandbox_id)
        assert container.status == "paused"
        await again.kill()
        assert not _exists(sbx.sandbox_id)
        assert sbx.sandbox_id not in {info.sandbox_id for info in await AsyncSandbox.list(backend=backend)}
    finally:
        if _exists(sbx.sandbox_id):
            await sbx.kill()
        await backend.aclose()


def _exists(name: str) -> bool:
    try:
        docker.from_env().containers.get(name)
    except docker.errors.NotFound:
        return False
    return True
