"""The supervisor on its own: real child processes, readiness from real files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from deskbox.sandbox.runner import start_deadline
from deskbox.sandbox.stack import StackConfig
from deskbox.sandbox.supervisor import Component, Supervisor


def provider(marker: Path, *, takes_down_dependents: bool) -> Component:
    """Stands in for Xvfb: ready once it has written its marker, which it removes on exit."""
    script = f"rm -f {marker}; sleep 0.05; echo $$ > {marker}; exec sleep 1000"

    async def ready() -> bool:
        return marker.exists()

    return Component(
        "provider", ["sh", "-c", script], ready=ready, takes_down_dependents=takes_down_dependents
    )


def client(name: str, needs: list[str]) -> Component:
    """Stands in for an X client that is slow to notice its server went away."""
    return Component(name, ["sleep", "1000"], needs=needs)


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(components: list[Component]) -> AsyncIterator[Supervisor]:
    supervisor = Supervisor(components)
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        yield supervisor
    finally:
        await supervisor.stop()


def pids(supervisor: Supervisor) -> dict[str, int | None]:
    return {name: component.pid for name, component in supervisor.components.items()}


Scenario = Callable[[bool], Awaitable[tuple[dict[str, int | None], dict[str, int | None], list[str]]]]


@pytest.fixture
def kill_the_provider(tmp_path: Path) -> Scenario:
    async def scenario(takes_down: bool) -> tuple[dict[str, int | None], dict[str, int | None], list[str]]:
        components = [
            provider(tmp_path / "marker", takes_down_dependents=takes_down),
            client("direct", ["provider"]),
            client("indirect", ["direct"]),
            client("unrelated", []),
        ]
        async with running(components) as supervisor:
            before = pids(supervisor)
            provider_pid = before["provider"]
            assert provider_pid is not None
            os.killpg(provider_pid, signal.SIGKILL)
            await until(lambda: supervisor.components["provider"].state != "ready")
            states_after_exit = [c.state for c in supervisor.components.values()]
            await until(lambda: supervisor.components["provider"].pid != provider_pid)
            assert await supervisor.wait_ready(10)
            return before, pids(supervisor), states_after_exit

    return scenario


async def test_dependents_restart_with_a_provider_that_takes_them_down(kill_the_provider: Scenario) -> None:
    before, after, states_after_exit = await kill_the_provider(True)
    # The moment the provider is gone, nothing that needs it claims to be ready.
    assert states_after_exit[:3] == ["restarting"] * 3
    assert after["direct"] != before["direct"] and after["indirect"] != before["indirect"]
    assert after["unrelated"] == before["unrelated"]


async def test_dependents_keep_running_when_the_provider_does_not_take_them_down(
    kill_the_provider: Scenario,
) -> None:
    before, after, _ = await kill_the_provider(False)
    assert after["direct"] == before["direct"] and after["indirect"] == before["indirect"]


async def test_a_taken_down_dependent_waits_for_its_provider_and_does_not_back_off(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    components = [provider(marker, takes_down_dependents=True), client("direct", ["provider"])]
    async with running(components) as supervisor:
        for _ in range(3):
            provider_pid = supervisor.components["provider"].pid
            assert provider_pid is not None
            os.killpg(provider_pid, signal.SIGKILL)
            await until(lambda old=provider_pid: supervisor.components["provider"].pid != old)
            # Each round trip is quick: a backoff would add 0.1, 0.25, then 0.5 s.
            started = time.monotonic()
            assert await supervisor.wait_ready(10)
            assert time.monotonic() - started < 2
        direct = supervisor.components["direct"]
        assert direct.restarts == 3 and direct.state == "ready"


async def test_a_failing_component_says_why_in_the_status_and_on_health(tmp_path: Path) -> None:
    """Its exit and the last lines it wrote reach the status file, and /health shows them."""
    import httpx

    from deskbox.desktop import Desktop
    from deskbox.server import Settings, create_app

    broken = Component("vnc", ["sh", "-c", "echo 'cannot open display :9' >&2; exit 3"])
    status = tmp_path / "status.json"
    supervisor = Supervisor([broken], status_file=status, log_dir=tmp_path)
    await supervisor.start()
    try:
        await until(lambda: broken.last_error is not None)
        assert "exited with 3" in broken.last_error and "cannot open display :9" in broken.last_error
        desktop = Desktop(":9999")  # a display that never opens
        app = create_app(Settings(token="t", display=":9999", status_file=status), desktop=desktop)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as http:
            anonymous = (await http.get("/health")).json()
            health = (await http.get("/health", headers={"Authorization": "Bearer t"})).json()
        await desktop.close()
        assert anonymous["status"] == "degraded" and "errors" not in anonymous  # logs need the token
        assert health["status"] == "degraded"
        assert "cannot open display :9" in health["errors"]["vnc"]
        assert "cannot open X display :9999" in health["errors"]["display"]
    finally:
        await supervisor.stop()


async def test_the_first_ready_hook_runs_once_before_the_status_says_ready(tmp_path: Path) -> None:
    marker, status = tmp_path / "marker", tmp_path / "status.json"
    seen: list[bool] = []

    def hook() -> None:
        seen.append(json.loads(status.read_text())["ready"] if status.exists() else False)

    supervisor = Supervisor(
        [provider(marker, takes_down_dependents=True), client("client", ["provider"])],
        status_file=status,
        on_first_ready=hook,
    )
    await supervisor.start()
    try:
        assert await supervisor.wait_ready(10)
        assert seen == [False]  # called once, while the status still said "not ready"
        assert json.loads(status.read_text())["ready"] is True
        # Ready again after a restart: the hook is not called again.
        os.kill(supervisor.components["provider"].pid or 0, signal.SIGKILL)
        await until(lambda: supervisor.components["provider"].restarts >= 1)
        assert await supervisor.wait_ready(10)
        assert seen == [False]
    finally:
        await supervisor.stop()


def test_a_timeout_given_at_creation_becomes_the_deadline_once(tmp_path: Path) -> None:
    config = StackConfig(runtime_dir=tmp_path)
    (tmp_path / "timeout").write_text("120")
    start_deadline(config)
    assert abs(float(config.deadline_file.read_text()) - (time.time() + 120)) < 5
    assert not (tmp_path / "timeout").exists()
    # A supervisor started again in the same container keeps the deadline it has.
    config.deadline_file.write_text("12345")
    start_deadline(config)
    assert config.deadline_file.read_text() == "12345"
    # Nonsense is ignored rather than turned into a deadline.
    (tmp_path / "timeout").write_text("soon")
    start_deadline(config)
    assert config.deadline_file.read_text() == "12345"
