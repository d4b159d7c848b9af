"""e2b's ``commands`` and command handles over deskbox's background processes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import errors
from ..client._sync import CommandHandle as NativeHandle
from ..client._sync import Commands as NativeCommands
from ..client._sync import Pty as NativePty
from ._errors import (
    CommandExitException,
    CommandResult,
    InvalidArgumentException,
    translated,
    translated_iterator,
)
from ._types import ProcessInfo, PtySize, process_info

SANDBOX_USER = "user"
"""The one account commands run as: the container has no root to switch to, by design."""

Output = tuple[str | None, str | None, bytes | None]


def _seconds(timeout: float | None) -> float | None:
    """e2b's timeout: seconds, with 0 meaning no limit."""
    return None if timeout is None or timeout == 0 else timeout


def _user(user: str | None) -> None:
    if user not in (None, SANDBOX_USER):
        raise InvalidArgumentException(
            f"user: commands run as {SANDBOX_USER!r}; a deskbox sandbox has no {user!r} to switch to "
            "(it runs unprivileged, by design)"
        )


class CommandHandle:
    """A running command: e2b's handle, iterable as (stdout, stderr, pty) triples."""

    def __init__(self, native: NativeHandle, cmd: str, *, pty: bool = False) -> None:
        self._native = native
        self._cmd = cmd
        self._pty = pty
        self._disconnected = threading.Event()

    @property
    def pid(self) -> int:
        return self._native.pid

    def __iter__(self) -> Iterator[Output]:
        for kind, text in translated_iterator(iter(self._native.stream())):
            if self._disconnected.is_set():
                return
            if self._pty:
                yield None, None, text.encode("utf-8")
            else:
                yield (text, None, None) if kind == "stdout" else (None, text, None)

    def disconnect(self) -> None:
        """Stop receiving the command's output here; the command goes on running."""
        self._disconnected.set()

    @translated
    def wait(
        self,
        on_pty: Callable[[bytes], None] | None = None,
        on_stdout: Callable[[str], None] | None = None,
        on_stderr: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Until the command ends; raises CommandExitException on a non-zero exit."""
        if on_stdout is not None or on_stderr is not None or on_pty is not None:
            for stdout, stderr, screen in self:
                if stdout is not None and on_stdout is not None:
                    on_stdout(stdout)
                if stderr is not None and on_stderr is not None:
                    on_stderr(stderr)
                if screen is not None and on_pty is not None:
                    on_pty(screen)
        result = self._native.wait(check=False)
        return _result(self._cmd, result.stdout, result.stderr, result.exit_code, result.timed_out)

    @translated
    def kill(self) -> bool:
        return self._native.kill()

    @translated
    def send_stdin(self, data: str | bytes, request_timeout: float | None = None) -> None:
        self._native.send_stdin(data)

    @translated
    def close_stdin(self, request_timeout: float | None = None) -> None:
        self._native.close_stdin()


class Commands:
    """e2b's ``sandbox.commands``."""

    def __init__(self, native: NativeCommands) -> None:
        self._native = native

    @translated
    def run(
        self,
        cmd: str,
        background: bool | None = None,
        envs: dict[str, str] | None = None,
        user: str | None = None,
        cwd: str | None = None,
        on_stdout: Callable[[str], None] | None = None,
        on_stderr: Callable[[str], None] | None = None,
        stdin: bool | None = None,
        timeout: float | None = 60,
        request_timeout: float | None = None,
        *,
        retain_output: bool = True,
    ) -> Any:
        """``cmd`` in a shell; the result, or with ``background=True`` a handle at once.
        ``stdin=True`` keeps the command's input open for ``send_stdin``."""
        _user(user)
        if stdin is not None and not isinstance(stdin, bool):
            raise InvalidArgumentException("stdin: True keeps the input open; send data with send_stdin")
        if not background and not stdin:
            done = self._native.run(
                cmd,
                timeout=_seconds(timeout),
                envs=envs,
                cwd=cwd,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
                check=False,
            )
            return _result(cmd, done.stdout, done.stderr, done.exit_code, done.timed_out)
        native = self._native.run(
            cmd, True, timeout=_seconds(timeout), envs=envs, cwd=cwd, open_stdin=bool(stdin)
        )
        handle = CommandHandle(native, cmd)
        if background:
            if on_stdout is not None or on_stderr is not None:
                threading.Thread(target=_follow, args=(handle, on_stdout, on_stderr), daemon=True).start()
            return handle
        return handle.wait(on_stdout=on_stdout, on_stderr=on_stderr)

    @translated
    def list(self, request_timeout: float | None = None) -> list[ProcessInfo]:
        """The commands still running."""
        return [process_info(p) for p in self._native.list() if p.running]

    @translated
    def kill(self, pid: int, request_timeout: float | None = None) -> bool:
        return _kill(self._native.kill, pid)

    @translated
    def connect(
        self,
        pid: int,
        timeout: float | None = 60,
        request_timeout: float | None = None,
        *,
        retain_output: bool = True,
    ) -> CommandHandle:
        return _connected(self._native, pid)

    @translated
    def send_stdin(self, pid: int, data: str | bytes, request_timeout: float | None = None) -> None:
        self._native.send_stdin(pid, data)

    @translated
    def close_stdin(self, pid: int, request_timeout: float | None = None) -> None:
        self._native.close_stdin(pid)

    @translated
    def stream_input(self, pid: int, data: Any, *, timeout: float | None = 60.0) -> None:
        """Send each chunk of ``data`` to the command's input, then close it."""
        for chunk in data:
            self.send_stdin(pid, chunk)
        self.close_stdin(pid)


def _kill(kill: Callable[[int], bool], pid: int) -> bool:
    """e2b's answer to a kill by pid: False, not an error, for a command already gone."""
    try:
        return kill(pid)
    except errors.NotFoundError:
        return False


def _connected(native_commands: NativeCommands, pid: int) -> CommandHandle:
    native = native_commands.connect(pid)
    info = next((p for p in native_commands.list() if p.pid == pid), None)
    cmd = native.cmd if isinstance(native.cmd, str) else " ".join(native.cmd)
    return CommandHandle(native, cmd, pty=info is not None and info.pty is not None)


def _result(cmd: str, stdout: str, stderr: str, exit_code: int, timed_out: bool) -> CommandResult:
    if timed_out:
        raise errors.TimeoutError(f"command timed out and was killed: {cmd!r}")
    if exit_code != 0:
        raise CommandExitException(stderr=stderr, stdout=stdout, exit_code=exit_code, error=stderr, cmd=cmd)
    return CommandResult(stderr=stderr, stdout=stdout, exit_code=0, error=None)


def _follow(
    handle: CommandHandle, on_stdout: Callable[[str], None] | None, on_stderr: Callable[[str], None] | None
) -> None:
    try:
        for stdout, stderr, _ in handle:
            if stdout is not None and on_stdout is not None:
                on_stdout(stdout)
            if stderr is not None and on_stderr is not None:
                on_stderr(stderr)
    except errors.DeskboxError:
        return


class Pty:
    """e2b's ``sandbox.pty``: a login shell in a terminal of the given size."""

    def __init__(self, native: NativePty, commands: NativeCommands) -> None:
        self._native = native
        self._commands = commands

    @translated
    def create(
        self,
        size: PtySize,
        user: str | None = None,
        cwd: str | None = None,
        envs: dict[str, str] | None = None,
        timeout: float | None = 60,
        request_timeout: float | None = None,
    ) -> CommandHandle:
        """``bash -i -l`` in a terminal of ``size``; its output comes to ``wait(on_pty=)``."""
        _user(user)
        variables = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **(envs or {})}
        native = self._native.create(size.cols, size.rows, cwd=cwd, envs=variables, timeout=_seconds(timeout))
        return CommandHandle(native, "/bin/bash -i -l", pty=True)

    @translated
    def connect(
        self, pid: int, timeout: float | None = 60, request_timeout: float | None = None
    ) -> CommandHandle:
        return _connected(self._commands, pid)

    @translated
    def kill(self, pid: int, request_timeout: float | None = None) -> bool:
        return _kill(self._native.kill, pid)

    @translated
    def resize(self, pid: int, size: PtySize, request_timeout: float | None = None) -> None:
        self._native.resize(pid, size.cols, size.rows)

    @translated
    def send_stdin(self, pid: int, data: bytes, request_timeout: float | None = None) -> None:
        self._native.send_stdin(pid, data)

    @translated
    def stream_input(self, pid: int, data: Any, *, timeout: float | None = 60.0) -> None:
        for chunk in data:
            self.send_stdin(pid, chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
