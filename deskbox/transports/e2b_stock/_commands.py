"""Stock mode's command routes: /shell/run and /shell/stream, through e2b's commands."""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ... import errors
from ...models import CommandRequest, CommandResult
from .._router import Call, EventStream, respond
from ._refusal import refuse
from ._remote import Remote


def _command(call: Call) -> tuple[str, dict[str, Any]]:
    request: CommandRequest = call.model(CommandRequest)
    if request.stdin is not None:
        raise refuse("stdin for a command")
    if request.open_stdin:
        raise refuse("a command with its input kept open")
    command = request.cmd if isinstance(request.cmd, str) else shlex.join(request.cmd)
    options = {
        "envs": request.env or None,
        "cwd": request.cwd,
        "user": request.user,
        "timeout": 0 if request.timeout is None else request.timeout,  # e2b: 0 is no limit
    }
    return command, {k: v for k, v in options.items() if v is not None}


async def shell_run(remote: Remote, call: Call) -> httpx.Response:
    command, options = _command(call)
    started = time.monotonic()
    try:
        raw = await remote.run(command, **options)
    except errors.TimeoutError:
        return respond(CommandResult(stdout="", stderr="", exit_code=-1, timed_out=True, duration=0))
    result = CommandResult(
        stdout=str(raw.stdout),
        stderr=str(raw.stderr),
        exit_code=int(raw.exit_code),
        duration=time.monotonic() - started,
    )
    return respond(result)


async def shell_stream(remote: Remote, call: Call) -> httpx.Response:
    command, options = _command(call)
    events = EventStream(_follow(remote, command, options))
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=events)


async def _follow(remote: Remote, command: str, options: dict[str, Any]) -> AsyncIterator[tuple[str, Any]]:
    """A command's output as events, as /shell/stream sends them."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str) -> Any:
        # e2b calls back from its own thread.
        return lambda text: loop.call_soon_threadsafe(queue.put_nowait, (kind, text))

    running = asyncio.ensure_future(
        remote.run(command, on_stdout=emit("stdout"), on_stderr=emit("stderr"), **options)
    )
    yield "start", {"command": command}
    try:
        while not (running.done() and queue.empty()):
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, running}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        try:
            raw = running.result()
        except errors.TimeoutError:
            yield "exit", {"exit_code": -1, "timed_out": True}
            return
        yield "exit", {"exit_code": int(raw.exit_code), "timed_out": False}
    finally:
        running.cancel()
