"""What an agent can do to its sandbox, and the sandbox survives: a fork bomb, a memory
bomb, a full /tmp and a full /dev/shm, in a docker sandbox with its real limits.

Each ends at its command's timeout or at a limit; the API answers throughout or soon
after; /health is 200 again within 10 s; and what the user wrote before is still there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from deskbox import AsyncSandbox, DeskboxError, DesktopUnavailableError, StorageFullError
from tests.e2e.conftest import RUN_LABELS
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

KEPT = "/home/user/before-the-abuse.txt"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def victim(foreign_sandboxes: list[str]) -> AsyncIterator[AsyncSandbox]:
    sbx = await AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=900)
    await sbx.files.write(KEPT, "the user's work")
    try:
        yield sbx
    finally:
        await sbx.kill()


async def healthy_within(sbx: AsyncSandbox, seconds: float) -> float:
    """Seconds until /health is 200 (failing the test past ``seconds``)."""
    import httpx

    started = time.monotonic()
    async with httpx.AsyncClient(trust_env=False, timeout=2) as http:

        async def ok() -> bool:
            try:
                return (await http.get(f"{sbx.url}/health")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ok, bool, timeout=seconds)
    return time.monotonic() - started


async def answers(sbx: AsyncSandbox) -> bool:
    try:
        return await asyncio.wait_for(sbx.get_screen_size(), 5) == (1280, 800)
    except (DeskboxError, TimeoutError):
        return False


async def still_has_the_users_work(sbx: AsyncSandbox) -> None:
    assert await sbx.files.read(KEPT) == "the user's work"


async def test_a_fork_bomb_ends_at_its_timeout(victim: AsyncSandbox) -> None:
    started = time.monotonic()
    # perl's fork answers a full pids table with undef and the loop goes on; a bash bomb's
    # shells exit on a failed fork, so it could die out on its own before the timeout
    bomb = await victim.commands.run("perl -e 'fork while 1' &", timeout=8, check=False)
    assert bomb.exit_code == 0  # the first shell returns at once; its offspring live on
    await asyncio.sleep(2)  # the bomb is at the pids limit by now
    assert await answers(victim), "the API stopped answering under the fork bomb"
    try:
        await victim.commands.run("true", timeout=5)
    except DesktopUnavailableError as exc:  # while the bomb holds every pid: a clear 503
        assert "no room for another process" in exc.message

    async def processes() -> int:
        try:
            return int((await victim.commands.run("ls /proc | grep -c '^[0-9]'", timeout=5)).stdout)
        except DeskboxError:
            return 10_000  # no room even to count: still full

    left = await eventually(processes, lambda count: count < 200, timeout=8 + 10)
    assert time.monotonic() - started >= 8, f"down to {left} processes before the timeout"
    await healthy_within(victim, 10)
    await still_has_the_users_work(victim)


async def test_a_memory_bomb_is_killed_not_the_desktop(victim: AsyncSandbox) -> None:
    server = "pgrep -f '[d]eskbox serve' | head -1"
    server_pid = (await victim.commands.run(server)).stdout.strip()
    assert server_pid.isdigit()
    bomb = await victim.commands.run(
        ["python3", "-c", "b = bytearray(3 * 1024 ** 3)"], timeout=60, check=False
    )
    assert bomb.exit_code in (137, 1), bomb  # killed by the OOM killer (or MemoryError)
    await healthy_within(victim, 10)
    assert await answers(victim)
    after = (await victim.commands.run(server)).stdout.strip()
    assert after == server_pid, "the control server was killed instead of the bomb"
    await still_has_the_users_work(victim)


@pytest.mark.parametrize("folder", ["/tmp", "/dev/shm"])
async def test_a_full_scratch_folder_is_survived(victim: AsyncSandbox, folder: str) -> None:
    filled = await victim.commands.run(
        f"dd if=/dev/zero of={folder}/fill bs=1M count=4096 2>&1", timeout=60, check=False
    )
    assert filled.exit_code != 0 and "No space left" in filled.stdout
    try:
        with pytest.raises(StorageFullError):
            await victim.files.write(f"{folder}/one-more.bin", b"x" * (2 * 1024 * 1024))
        await healthy_within(victim, 10)
        assert await answers(victim)
        shot = await victim.screenshot()
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        await still_has_the_users_work(victim)
    finally:
        await victim.commands.run(f"rm -f {folder}/fill {folder}/one-more.bin", check=False)
