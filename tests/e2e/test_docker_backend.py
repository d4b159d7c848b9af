"""The docker backend, end to end: concurrent sandboxes, timeouts, the warm pool, errors.

Every sandbox here comes from a backend scoped to this test run (``docker_backend()``),
and only those are counted or removed; a user's sandboxes on the same engine
(``foreign_sandboxes``) must outlive the tests untouched.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from deskbox import AsyncSandbox, BackendError, SandboxNotFoundError
from deskbox.backends.docker import LABEL, DockerBackend
from tests.e2e.conftest import RUN_LABELS, docker_backend
from tests.helpers import eventually, run_example

pytestmark = pytest.mark.e2e


async def containers() -> list[str]:
    return await asyncio.to_thread(deskbox_containers)


def deskbox_containers() -> list[str]:
    """This test run's sandbox containers, running or not."""
    run_filters = [arg for key, value in RUN_LABELS.items() for arg in ("--filter", f"label={key}={value}")]
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={LABEL}", *run_filters, "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest_asyncio.fixture(loop_scope="session")
async def docker_ready(foreign_sandboxes: list[str]) -> AsyncIterator[None]:
    """Docker is up and the image built, a user's sandboxes are running beside the tests,
    and no test leaves a sandbox of its own behind."""
    yield
    leftovers = deskbox_containers()
    for name in leftovers:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    assert leftovers == [], "a test left sandbox containers behind"


async def test_three_concurrent_sandboxes(docker_ready: None) -> None:
    sandboxes = await asyncio.gather(
        *(AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=120) for _ in range(3))
    )
    try:
        assert len({s.url for s in sandboxes}) == 3
        for index, sbx in enumerate(sandboxes):
            await sbx.move_mouse(100 + index, 200)
            await sbx.files.write("whoami.txt", sbx.sandbox_id)
        for index, sbx in enumerate(sandboxes):
            assert await sbx.get_cursor_position() == (100 + index, 200)
            assert await sbx.files.read("/home/user/whoami.txt") == sbx.sandbox_id
        listed = {info.sandbox_id for info in await AsyncSandbox.list(backend="docker", labels=RUN_LABELS)}
        assert {s.sandbox_id for s in sandboxes} <= listed
    finally:
        await asyncio.gather(*(s.kill() for s in sandboxes))
    assert not set(deskbox_containers()) & {s.sandbox_id for s in sandboxes}


async def test_an_expired_sandbox_is_removed_without_its_creator(docker_ready: None) -> None:
    sbx = await AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=2)
    await sbx.close()  # the creator lets go; nothing of ours is left to kill it
    await eventually(containers, lambda names: sbx.sandbox_id not in names, timeout=30)
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect(sbx.sandbox_id, backend="docker", labels=RUN_LABELS)


async def test_set_timeout_extends_and_connect_by_id(docker_ready: None) -> None:
    sbx = await AsyncSandbox.create(
        backend="docker", labels=RUN_LABELS, timeout=3, metadata={"owner": "test"}
    )
    try:
        await sbx.set_timeout(120)
        await asyncio.sleep(5)
        again = await AsyncSandbox.connect(sbx.sandbox_id, backend="docker", labels=RUN_LABELS)
        assert again.info.metadata == {"owner": "test"}
        assert await again.get_screen_size() == (1280, 800)
        await again.close()
    finally:
        await sbx.kill()


async def test_warm_pool_hands_out_a_ready_sandbox(docker_ready: None) -> None:
    backend = docker_backend(pool_size=1)
    await backend.fill_pool()
    pooled = [name for name in deskbox_containers() if name.startswith("deskbox-pool-")]
    assert len(pooled) == 1
    sbx = await AsyncSandbox.create(backend=backend, timeout=120)
    try:
        assert not sbx.sandbox_id.startswith("deskbox-pool-")
        assert pooled[0] not in deskbox_containers(), "the pooled container was claimed (renamed)"
        assert await sbx.get_screen_size() == (1280, 800)
    finally:
        await sbx.kill()
        await backend.aclose()  # lets the pool refill finish
        assert any(n.startswith("deskbox-pool-") for n in deskbox_containers()), "the pool was not refilled"
        for name in deskbox_containers():  # this run's pool: nobody else's
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)


async def test_backend_errors_are_deskbox_errors(docker_ready: None) -> None:
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect("deskbox-does-not-exist", backend="docker", labels=RUN_LABELS)
    with pytest.raises(BackendError):
        await AsyncSandbox.create(backend=DockerBackend(image="deskbox/missing:none", build=False))


async def test_a_scoped_backend_cannot_reach_other_sandboxes(
    docker_ready: None, foreign_sandboxes: list[str]
) -> None:
    ours = docker_backend()
    try:
        listed = {info.sandbox_id for info in await AsyncSandbox.list(backend=ours)}
        assert not listed & set(foreign_sandboxes)
        with pytest.raises(SandboxNotFoundError):
            await AsyncSandbox.connect(foreign_sandboxes[0], backend=ours)
        with pytest.raises(SandboxNotFoundError):
            await ours.kill(foreign_sandboxes[0])
    finally:
        await ours.aclose()


async def test_offline_agent_example_finishes_its_task_in_a_container(docker_ready: None) -> None:
    # The same replayed Claude and OpenAI calls as on the host, against the image's XFCE
    # desktop: a panel and title bar move the page down, and the example still lands.
    result = await asyncio.to_thread(run_example, "offline_replay.py", "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every submission reached the form server" in result.stdout
