"""``sandbox.commands``: run commands, stream their output, keep background ones by handle."""

from __future__ import annotations

import asyncio
import base64
import builtins
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, overload

from pydantic import Field, ValidationError

from .. import errors
from ..models import CommandRequest, ProcessInfo, ProcessOutput, PtySize
from ..models import CommandResult as _ServerResult
from ._connection import Connection
from ._validation import checked

OutputCallback = Callable[[str], Any]
OutputChunk = tuple[Literal["stdout", "stderr"], str]


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    duration: float = 0.0

    @property
    def error(self) -> str | None:
        """E2B's name for the error output of a failed command."""
        return self.stderr if self.exit_code != 0 else None


def _check(result: CommandResult, cmd: str | builtins.list[str], check: bool) -> CommandResult:
    if result.timed_out:
        raise errors.TimeoutError(f"command timed out and was killed: {cmd!r}")
    if check and result.exit_code != 0:
        exc = errors.CommandExitError(f"command exited with code {result.exit_code}: {cmd!r}", result=result)
        raise exc
    return result


class AsyncCommandHandle:
    """A background command: wait for it, kill it, read its output."""

    id: str
    """The server's id for the process."""
    pid: int
    cmd: str | builtins.list[str]

    def __init__(
        self, connection: Connection, process_id: str, pid: int, cmd: str | builtins.list[str]
    ) -> None:
        self._connection = connection
        self.id = process_id
        self.pid = pid
        self.cmd = cmd
        self._follower: asyncio.Task[CommandResult] | None = None

    def __repr__(self) -> str:
        return f"AsyncCommandHandle(id={self.id!r}, pid={self.pid}, cmd={self.cmd!r})"

    @checked
    async def output(self) -> tuple[str, str]:
        """Everything the command has written so far: (stdout, stderr)."""
        body = ProcessOutput.model_validate(
            await self._connection.json("GET", f"/processes/{self.id}/output")
        )
        return body.stdout, body.stderr

    async def _info(self) -> ProcessInfo:
        return ProcessInfo.model_validate(await self._connection.json("GET", f"/processes/{self.id}"))

    @checked
    async def is_running(self) -> bool:
        return (await self._info()).running

    @checked
    async def wait(self, timeout: float | None = None, check: bool = True) -> CommandResult:
        """Wait for the end (up to ``timeout`` s); raises CommandExitError on a non-zero exit."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = 30.0 if deadline is None else max(0.0, min(30.0, deadline - loop.time()))
            body = ProcessOutput.model_validate(
                await self._connection.json(
                    "GET", f"/processes/{self.id}/output", params={"wait": remaining}, timeout=remaining + 10
                )
            )
            if not body.running:
                break
            if deadline is not None and loop.time() >= deadline:
                raise errors.TimeoutError(f"command still running after {timeout} s: {self.cmd!r}")
        if self._follower is not None:
            await self._follower
        info = await self._info()
        exit_code = -1 if body.exit_code is None else body.exit_code
        result = CommandResult(body.stdout, body.stderr, exit_code, info.timed_out)
        return _check(result, self.cmd, check)

    async def stream(self) -> AsyncGenerator[OutputChunk, None]:
        """The command's output as it arrives, from its first byte: ``("stdout", text)`` or
        ``("stderr", text)`` pairs, ending when the command does."""
        async for event, data in self._connection.events(f"/processes/{self.id}/stream"):
            if event == "stdout":
                yield "stdout", data
            elif event == "stderr":
                yield "stderr", data

    @checked
    async def send_stdin(self, data: str | bytes) -> None:
        """Write to the command's input (started with ``open_stdin=True``, or in a terminal)."""
        body = (
            {"data": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
            if isinstance(data, bytes)
            else {"data": data}
        )
        await self._connection.request("POST", f"/processes/{self.id}/stdin", json_body=body)

    @checked
    async def resize(
        self, cols: Annotated[int, Field(ge=1, le=1000)], rows: Annotated[int, Field(ge=1, le=1000)]
    ) -> None:
        """Change the size of the command's terminal (a ``pty`` command only)."""
        size = PtySize(cols=cols, rows=rows).model_dump()
        await self._connection.json("POST", f"/processes/{self.id}/resize", json_body=size)

    @checked
    async def close_stdin(self) -> None:
        """Close the command's input, so it reads end-of-file."""
        await self._connection.request("POST", f"/processes/{self.id}/stdin", json_body={"close": True})

    @checked
    async def kill(self) -> bool:
        """Kill the command's whole process group; False if it had already ended."""
        running = await self.is_running()
        await self._connection.json("POST", f"/processes/{self.id}/signal", json_body={"signal": "KILL"})
        return running


class AsyncCommands:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @checked
    async def list(self) -> builtins.list[ProcessInfo]:
        """The background commands the sandbox's server started, running or ended."""
        processes = await self._connection.json("GET", "/processes")
        return [ProcessInfo.model_validate(process) for process in processes]

    async def _by_pid(self, pid: int) -> ProcessInfo:
        for process in await self.list():
            if process.pid == pid:
                return process
        raise errors.NotFoundError(f"no background command with pid {pid}")

    @checked
    async def connect(self, pid: int) -> AsyncCommandHandle:
        """A handle on a background command started earlier, from any client."""
        process = await self._by_pid(pid)
        return AsyncCommandHandle(self._connection, process.id, process.pid, process.command)

    @checked
    async def kill(self, pid: int) -> bool:
        """Kill a background command's process group; False if it had already ended."""
        return await (await self.connect(pid)).kill()

    @checked
    async def send_stdin(self, pid: int, data: str | bytes) -> None:
        """Write to a background command's input (started with ``open_stdin=True``)."""
        await (await self.connect(pid)).send_stdin(data)

    @checked
    async def close_stdin(self, pid: int) -> None:
        await (await self.connect(pid)).close_stdin()

    async def _start_in_terminal(
        self,
        cmd: str | builtins.list[str],
        size: PtySize,
        *,
        cwd: str | None,
        envs: dict[str, str] | None,
        timeout: float | None,
    ) -> AsyncCommandHandle:
        body = self._request(cmd, timeout, envs, cwd, None, None)
        body["pty"] = size.model_dump()
        started = ProcessInfo.model_validate(
            await self._connection.json("POST", "/processes", json_body=body)
        )
        return AsyncCommandHandle(self._connection, started.id, started.pid, cmd)

    def _request(
        self,
        cmd: str | builtins.list[str],
        timeout: float | None,
        envs: dict[str, str] | None,
        cwd: str | None,
        user: str | None,
        stdin: str | None,
        open_stdin: bool = False,
    ) -> dict[str, Any]:
        try:
            request = CommandRequest(
                cmd=cmd,
                timeout=timeout,
                env=envs or {},
                cwd=cwd,
                user=user,
                stdin=stdin,
                open_stdin=open_stdin,
            )
        except ValidationError as exc:
            raise errors.InvalidActionError.from_validation(exc, ("body",)) from None
        return request.model_dump(exclude_none=True)

    @overload
    async def run(
        self,
        cmd: str | builtins.list[str],
        background: Literal[False] = False,
        *,
        timeout: float | None = 60,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stdin: str | None = None,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        check: bool = True,
    ) -> CommandResult: ...

    @overload
    async def run(
        self,
        cmd: str | builtins.list[str],
        background: Literal[True],
        *,
        timeout: float | None = 60,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stdin: str | None = None,
        open_stdin: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        check: bool = True,
    ) -> AsyncCommandHandle: ...

    @overload
    async def run(
        self,
        cmd: str | builtins.list[str],
        background: bool,
        *,
        timeout: float | None = 60,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stdin: str | None = None,
        open_stdin: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        check: bool = True,
    ) -> CommandResult | AsyncCommandHandle: ...

    @checked
    async def run(
        self,
        cmd: str | builtins.list[str],
        background: bool = False,
        *,
        timeout: float | None = 60,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stdin: str | None = None,
        open_stdin: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        check: bool = True,
    ) -> CommandResult | AsyncCommandHandle:
        """Run ``cmd`` (a shell string or an argv list) in the sandbox.

        In the foreground it returns the result, raising CommandExitError for a non-zero
        exit unless ``check=False``. With ``background=True`` it returns a handle at once.
        ``on_stdout``/``on_stderr`` receive output as it arrives, in either mode.
        ``open_stdin=True`` (background only) keeps the input open for ``handle.send_stdin``.
        """
        if open_stdin and not background:
            raise errors.InvalidActionError.at(
                ("open_stdin",), "only a background command keeps its input open"
            )
        body = self._request(cmd, timeout, envs, cwd, user, stdin, open_stdin)
        if background:
            started = ProcessInfo.model_validate(
                await self._connection.json("POST", "/processes", json_body=body)
            )
            handle = AsyncCommandHandle(self._connection, started.id, started.pid, cmd)
            if on_stdout is not None or on_stderr is not None:
                handle._follower = asyncio.create_task(
                    _deliver(self._connection.events(f"/processes/{handle.id}/stream"), on_stdout, on_stderr)
                )
            return handle
        if on_stdout is None and on_stderr is None:
            raw = _ServerResult.model_validate(
                await self._connection.json("POST", "/shell/run", json_body=body)
            )
            return _check(
                CommandResult(raw.stdout, raw.stderr, raw.exit_code, raw.timed_out, raw.duration), cmd, check
            )
        outcome = await _deliver(self._connection.events("/shell/stream", body), on_stdout, on_stderr)
        return _check(outcome, cmd, check)


async def _deliver(
    events: Any, on_stdout: OutputCallback | None, on_stderr: OutputCallback | None
) -> CommandResult:
    stdout: builtins.list[str] = []
    stderr: builtins.list[str] = []
    exit_code, timed_out = -1, False
    async for event, data in events:
        if event == "stdout":
            stdout.append(data)
            if on_stdout is not None:
                await _call(on_stdout, data)
        elif event == "stderr":
            stderr.append(data)
            if on_stderr is not None:
                await _call(on_stderr, data)
        elif event == "exit":
            exit_code, timed_out = int(data["exit_code"]), bool(data["timed_out"])
    return CommandResult("".join(stdout), "".join(stderr), exit_code, timed_out)


async def _call(callback: OutputCallback, data: str) -> None:
    outcome = callback(data)
    if asyncio.iscoroutine(outcome):
        await outcome
