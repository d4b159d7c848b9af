"""Commands in a terminal (``sandbox.pty``): a real pseudo-terminal with its line
discipline, job control and size, on a real local sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from deskbox import AsyncCommandHandle, AsyncSandbox, ConflictError, InvalidActionError

pytestmark = pytest.mark.integration


class Screen:
    """Everything a terminal has written, collected as it arrives."""

    def __init__(self, handle: AsyncCommandHandle) -> None:
        self.text = ""
        self._task = asyncio.ensure_future(self._collect(handle))

    async def _collect(self, handle: AsyncCommandHandle) -> None:
        async for _, chunk in handle.stream():
            self.text += chunk

    async def shows(self, needle: str, after: int = 0, timeout: float = 15) -> int:
        """Wait until ``needle`` appears past position ``after``; where it ends."""
        async with asyncio.timeout(timeout):
            while (found := self.text.find(needle, after)) < 0:
                await asyncio.sleep(0.02)
        return found + len(needle)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@pytest_asyncio.fixture(loop_scope="session")
async def shell(sandbox: AsyncSandbox) -> AsyncIterator[tuple[AsyncCommandHandle, Screen]]:
    handle = await sandbox.pty.create(80, 24, ["/bin/bash", "--norc", "-i"], envs={"PS1": "READY> "})
    screen = Screen(handle)
    await screen.shows("READY> ")
    yield handle, screen
    await screen.close()
    await handle.kill()


async def test_the_terminal_has_its_size_and_a_resize_reaches_the_program(
    sandbox: AsyncSandbox, shell: tuple[AsyncCommandHandle, Screen]
) -> None:
    handle, screen = shell
    await handle.send_stdin("echo size=$(tput cols)x$(tput lines)\n")
    mark = await screen.shows("size=80x24")
    await sandbox.pty.resize(handle.pid, 132, 43)
    await handle.send_stdin("echo size=$(tput cols)x$(tput lines)\n")
    await screen.shows("size=132x43", after=mark)
    info = next(p for p in await sandbox.commands.list() if p.pid == handle.pid)
    assert info.pty is not None and (info.pty.cols, info.pty.rows) == (132, 43)


async def holds_the_terminal(sandbox: AsyncSandbox, shell_pid: int) -> None:
    """Wait until a job of the shell's, not the shell, is the terminal's foreground group.

    Until then a Ctrl+C goes to the shell alone: between its fork and the job taking the
    terminal the job would miss it and sleep on (a real terminal has the same window)."""
    async with asyncio.timeout(15):
        while True:
            stat = (await sandbox.commands.run(f"cat /proc/{shell_pid}/stat")).stdout
            # After the command's name: state, ppid, pgrp, session, tty_nr, tpgid.
            _, _, pgrp, _, _, foreground = stat.rpartition(")")[2].split()[:6]
            if foreground != pgrp:
                return
            await asyncio.sleep(0.02)


async def test_ctrl_c_interrupts_the_foreground_job_and_the_shell_lives_on(
    sandbox: AsyncSandbox, shell: tuple[AsyncCommandHandle, Screen]
) -> None:
    handle, screen = shell
    await handle.send_stdin("sleep 300; echo slept\n")
    await holds_the_terminal(sandbox, handle.pid)
    await handle.send_stdin(b"\x03")
    await handle.send_stdin("echo status=$?\n")
    end = await screen.shows("status=130")
    assert re.search(r"(?m)^slept", screen.text[:end]) is None  # the job never finished
    assert await handle.is_running()


async def test_a_full_screen_program_draws_and_quits_on_a_key(sandbox: AsyncSandbox) -> None:
    top = await sandbox.pty.create(100, 30, ["top", "-d", "0.3"])
    screen = Screen(top)
    try:
        await screen.shows("load average")
        assert "\x1b[" in screen.text  # drawn with the terminal's escape sequences
        await sandbox.pty.send_stdin(top.pid, "q")
        result = await top.wait(timeout=15)
        assert result.exit_code == 0
    finally:
        await screen.close()
        await top.kill()


async def test_terminal_mistakes_are_clear(sandbox: AsyncSandbox) -> None:
    with pytest.raises(InvalidActionError, match="cols"):
        await sandbox.pty.create(0, 24)
    plain = await sandbox.commands.run("sleep 30", background=True)
    try:
        with pytest.raises(ConflictError, match="no terminal"):
            await plain.resize(80, 24)
    finally:
        await plain.kill()
    with pytest.raises(InvalidActionError, match="pty"):
        await sandbox._connection.request(
            "POST", "/shell/run", json_body={"cmd": "true", "pty": {"cols": 80, "rows": 24}}
        )


async def test_input_that_is_not_base64_is_a_clear_error(sandbox: AsyncSandbox) -> None:
    job = await sandbox.commands.run("cat", background=True, open_stdin=True)
    try:
        for data in ("%%%", "héllo"):
            with pytest.raises(InvalidActionError, match="not base64"):
                await sandbox._connection.request(
                    "POST", f"/processes/{job.id}/stdin", json_body={"data": data, "encoding": "base64"}
                )
    finally:
        await job.kill()
