"""The docker backend, end to end: concurrent sandboxes, timeouts, the warm pool, errors.

Every sandbox here comes from a backend scoped to this test run (``docker_backend()``),
and only those are counted or removed; a user's sandboxes on the same engine
(``foreign_sandboxes``) must outlive the tests untouched.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from deskbox import AsyncSandbox, BackendError, DeskboxError, SandboxNotFoundError
from deskbox._ports import free_port
from deskbox.backends.docker import DEADLINE_FILE, LABEL, DockerBackend
from deskbox.trace import TraceFile
from tests.e2e.conftest import RUN_LABELS, deskbox_containers, docker_backend, inspect
from tests.helpers import eventually, run_example

pytestmark = pytest.mark.e2e


async def containers() -> list[str]:
    return await asyncio.to_thread(deskbox_containers)


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


async def test_the_timeout_counts_from_the_moment_the_sandbox_is_ready(docker_ready: None) -> None:
    # Given at creation, it becomes the deadline inside the sandbox as it becomes ready,
    # with no request of its own: it is there as soon as create() returns.
    before = time.time()
    sbx = await AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=120)
    after = time.time()
    try:
        deadline = float(await sbx.files.read(DEADLINE_FILE))
        assert before + 120 - 1 <= deadline <= after + 120 + 1
        assert not await sbx.files.exists("/var/lib/deskbox/timeout")
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


async def test_offline_agent_example_finishes_its_task_in_a_container(
    docker_ready: None, tmp_path: Path
) -> None:
    # The same replayed Claude and OpenAI calls as on the host, against the image's XFCE
    # desktop: a panel and title bar move the page down, and the example still lands.
    trace = tmp_path / "run.zip"
    result = await asyncio.to_thread(
        run_example, "offline_replay.py", "--backend", "docker", "--trace", str(trace)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every submission reached the form server" in result.stdout
    with TraceFile(trace) as traced:  # the image's server traced it, pictures and all
        assert len(traced.steps) > 40 and len(traced.frames) > 5 and len(traced.notes) > 20
        assert traced.meta.screen_width == 1280 and all(s.status < 500 for s in traced.steps)


async def test_a_sandbox_traces_from_its_start_and_serves_its_live_viewer(docker_ready: None) -> None:
    sbx = await AsyncSandbox.create(
        backend="docker", labels=RUN_LABELS, timeout=120, envs={"DESKBOX_TRACE": "1"}
    )
    try:
        await sbx.left_click(300, 300)
        status = await sbx.trace.status()
        assert status.tracing and status.title == "DESKBOX_TRACE" and status.steps >= 1
        headers = {"Authorization": f"Bearer {sbx.info.token}"}
        async with httpx.AsyncClient(base_url=sbx.url, headers=headers) as api:
            script = await api.get("/trace/assets/app.js")  # the image carries the viewer
            assert script.status_code == 200 and "htmPreact" in script.text
            assert (await api.get("/trace/live")).status_code == 200
        assert "/viewer?ticket=" in await sbx.trace.live_url()
    finally:
        await sbx.kill()


async def test_a_sandbox_killed_from_atexit_is_gone(docker_ready: None) -> None:
    """The sync SDK's kill() from an atexit handler, as a script ends: it must still reach
    Docker (thread pools take no new work by then), and the container must go."""
    script = (
        "import atexit, json, sys\n"
        "from deskbox import Sandbox\n"
        f"sbx = Sandbox.create(backend='docker', labels={RUN_LABELS!r}, timeout=300)\n"
        "atexit.register(sbx.kill)\n"
        "print(sbx.sandbox_id, flush=True)\n"
    )
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip()
    assert name and name not in deskbox_containers(), f"{name} outlived its creator's atexit kill"


async def test_sandboxes_cannot_reach_each_other(docker_ready: None) -> None:
    first, second = await asyncio.gather(
        *(AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=300) for _ in range(2))
    )
    try:
        networks = inspect(second.sandbox_id)["NetworkSettings"]["Networks"]  # type: ignore[index]
        address = next(iter(networks.values()))["IPAddress"]
        probe = "import socket, sys; socket.create_connection((sys.argv[1], 8000), timeout=3)"
        across = await first.commands.run(["python3", "-c", probe, address], check=False)
        assert across.exit_code != 0, "one sandbox reached another's control server"
        itself = await first.commands.run(["python3", "-c", probe, "127.0.0.1"], check=False)
        assert itself.exit_code == 0, itself.stderr  # the probe itself works
    finally:
        await asyncio.gather(first.kill(), second.kill())


async def test_sdk_sandboxes_are_not_compose_services_and_leave_the_host_a_core(docker_ready: None) -> None:
    sbx = await AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=300)
    try:
        details = inspect(sbx.sandbox_id)
        labels = details["Config"]["Labels"]  # type: ignore[index]
        assert labels["com.docker.compose.project"] == ""  # `docker compose down` never takes it
        cores = int(
            subprocess.run(["docker", "info", "-f", "{{.NCPU}}"], capture_output=True, text=True).stdout
        )
        # Every core while it starts; below the core count once it has answered.
        host = details["HostConfig"]  # type: ignore[index]
        assert 0 < host["CpuQuota"] < cores * host["CpuPeriod"]
        assert details["HostConfig"]["PidsLimit"] == 1024  # type: ignore[index]
    finally:
        await sbx.kill()


async def test_a_dead_supervisor_comes_back_in_place(docker_ready: None) -> None:
    """Killing the sandbox's supervisor does not end the container: it starts again,
    with the user's files and the same token."""
    sbx = await AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=300)
    try:
        await sbx.files.write("/home/user/kept.txt", "still here")

        async def server_pid() -> str:
            found = await asyncio.to_thread(
                subprocess.run,
                ["docker", "exec", sbx.sandbox_id, "pgrep", "-f", "[d]eskbox serve"],
                capture_output=True,
                text=True,
            )
            return found.stdout.strip()

        first = await server_pid()
        assert first
        killed = await asyncio.to_thread(
            subprocess.run,
            ["docker", "exec", sbx.sandbox_id, "pkill", "-KILL", "-f", "[d]eskbox sandbox"],
            capture_output=True,
        )
        # 137: pkill itself was killed, by the keepalive clearing every process of the
        # user once the supervisor had died, which is what it is for.
        assert killed.returncode in (0, 137), killed.stderr

        async def back() -> str:
            try:
                return await sbx.files.read("/home/user/kept.txt")
            except DeskboxError:
                return ""

        # Until the keepalive ends them, the old server still answers: wait for the new one.
        await eventually(server_pid, lambda pid: pid not in ("", first), timeout=60)
        assert await eventually(back, lambda text: text == "still here", timeout=60) == "still here"
        assert await sbx.get_screen_size() == (1280, 800)
    finally:
        await sbx.kill()


async def test_a_generated_token_lives_as_long_as_its_container(docker_ready: None) -> None:
    name = f"deskbox-token-{RUN_LABELS['deskbox.test-run']}"
    port = free_port()
    label = next(f"{k}={v}" for k, v in RUN_LABELS.items())
    run = ["docker", "run", "-d", "--init", "--name", name, "--label", label, "--label", f"{LABEL}=1"]
    run += ["-p", f"127.0.0.1:{port}:8000", "--cap-drop", "ALL", "deskbox/desktop:latest"]
    started = await asyncio.to_thread(subprocess.run, run, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:

        async def printed_token() -> str:
            logs = await asyncio.to_thread(
                subprocess.run, ["docker", "logs", name], capture_output=True, text=True
            )
            lines = [line for line in (logs.stdout + logs.stderr).splitlines() if "token (generated" in line]
            return lines[-1].rsplit(" ", 1)[-1] if lines else ""

        first = await eventually(printed_token, bool, timeout=60)
        await asyncio.to_thread(subprocess.run, ["docker", "restart", name], capture_output=True)
        url = f"http://127.0.0.1:{port}"

        async def healthy() -> bool:
            async with httpx.AsyncClient(trust_env=False, timeout=2) as http:
                try:
                    return (await http.get(f"{url}/health")).status_code == 200
                except httpx.HTTPError:
                    return False

        await eventually(healthy, bool, timeout=60)
        assert await printed_token() == first
        again = await AsyncSandbox.connect(url=url, token=first)
        assert await again.get_screen_size() == (1280, 800)
        await again.close()
    finally:
        await asyncio.to_thread(subprocess.run, ["docker", "rm", "-f", name], capture_output=True)


@pytest.mark.parametrize("client", ["deskbox", "deskbox.e2b_desktop"])
async def test_a_kill_at_interpreter_exit_removes_the_sandbox(docker_ready: None, client: str) -> None:
    """E2B code often kills its sandbox from an atexit handler, after Python has begun to
    shut its thread pools down; the sandbox must still go, not live on to its deadline."""
    labels = repr(RUN_LABELS)
    script = f"""
import atexit
from deskbox.backends.docker import DockerBackend
from {client} import Sandbox
sandbox = Sandbox.create(backend=DockerBackend(labels={labels}), timeout=600)
print(sandbox.sandbox_id, flush=True)
atexit.register(sandbox.kill)
"""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip()
    assert name and name not in deskbox_containers(), done.stderr
    assert "Error" not in done.stderr, done.stderr
