"""The process manager on its own: real subprocesses, no display needed."""

from __future__ import annotations

import asyncio

import pytest

from deskbox.desktop.shell import OutputBuffer, ProcessManager
from deskbox.errors import ConflictError, InvalidActionError, NotFoundError
from deskbox.models import CommandRequest


def test_output_buffer_keeps_offsets_when_trimming() -> None:
    buffer = OutputBuffer(limit=10)
    buffer.append(b"0123456789")
    buffer.append(b"abcde")
    assert buffer.dropped == 5 and buffer.end == 15
    assert buffer.read(0) == (b"56789abcde", 15)
    assert buffer.read(12) == (b"cde", 15)
    assert buffer.read(15) == (b"", 15)


async def test_run_returns_output_and_code() -> None:
    result = await ProcessManager().run(CommandRequest(cmd="printf 'a\\nb'; exit 4"))
    assert (result.stdout, result.exit_code, result.timed_out) == ("a\nb", 4, False)


async def test_invalid_output_bytes_are_replaced_not_fatal() -> None:
    result = await ProcessManager().run(CommandRequest(cmd=["printf", "\\377ok"]))
    assert result.stdout == "\ufffdok"


async def test_follow_yields_output_then_exit() -> None:
    manager = ProcessManager()
    process = await manager.start(CommandRequest(cmd="echo a; echo b >&2; echo c"))
    seen = [item async for item in process.follow()]
    assert seen[-1] == ("exit", "0")
    assert "".join(text for kind, text in seen if kind == "stdout") == "a\nc\n"
    assert "".join(text for kind, text in seen if kind == "stderr") == "b\n"


async def test_many_concurrent_commands() -> None:
    manager = ProcessManager()
    results = await asyncio.gather(
        *(manager.run(CommandRequest(cmd=["sh", "-c", f"echo {i}"])) for i in range(50))
    )
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(50)]


async def test_forget_rules() -> None:
    manager = ProcessManager()
    process = await manager.start(CommandRequest(cmd=["sleep", "10"]))
    with pytest.raises(ConflictError):
        manager.forget(process.id)
    process.signal()
    assert await process.wait(5)
    manager.forget(process.id)
    with pytest.raises(NotFoundError):
        manager.get(process.id)


async def test_bad_commands() -> None:
    manager = ProcessManager()
    with pytest.raises(InvalidActionError) as missing:
        await manager.run(CommandRequest(cmd=["definitely-not-a-program"]))
    assert missing.value.details[0]["loc"] == ["body", "cmd"]
    with pytest.raises(InvalidActionError):
        await manager.run(CommandRequest(cmd="  "))


async def test_large_stdin_is_fed_without_blocking() -> None:
    data = "x" * (4 * 1024 * 1024)  # far more than a pipe holds
    result = await ProcessManager().run(CommandRequest(cmd="wc -c", stdin=data))
    assert result.stdout.strip() == str(len(data))


async def test_a_child_that_never_reads_stdin_holds_no_thread() -> None:
    manager = ProcessManager()
    sleepers = [
        await manager.start(CommandRequest(cmd=["sleep", "30"], stdin="y" * (1024 * 1024), timeout=None))
        for _ in range(12)
    ]
    try:
        # Twelve blocked feeders in threads would exhaust the default pool.
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), timeout=5) == "free"
    finally:
        for sleeper in sleepers:
            sleeper.signal()


async def test_a_restarted_server_ends_what_its_predecessor_left_running() -> None:
    first = ProcessManager(owner="sandbox-a")
    neighbour = ProcessManager(owner="sandbox-b")
    left = await first.start(CommandRequest(cmd="sleep 300", timeout=None))
    theirs = await neighbour.start(CommandRequest(cmd="sleep 300", timeout=None))
    try:
        successor = ProcessManager(owner="sandbox-a")  # the same sandbox's server, run again
        assert await successor.end_orphans() == 1
        assert await left.wait(5)
        assert theirs.running, "another sandbox's command was ended"
        assert await first.end_orphans() == 0  # a server never ends its own
    finally:
        await theirs.end()
        await left.end()
