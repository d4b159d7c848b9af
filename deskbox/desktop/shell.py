"""Commands in the sandbox: run to completion, or in the background with an id.

Every command is a session of its own, and its timeout and a kill end the whole session
(``sessions.py``): the children a shell started, backgrounded ones that outlive the
shell, and a fork bomb's offspring too. The timeout runs from the start whether or not
the first process has exited, so ``sleep 300 &`` under ``timeout=5`` ends at 5 s;
``timeout=None`` lets leftovers run on. Output goes into bounded buffers with absolute offsets: a caller can
read a background process's output later from where it left off, and a streaming reader
follows the same buffers, so a slow reader never blocks the process.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import os
import pwd
import secrets
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from .._process import fd_ready, wait_exit
from ..errors import (
    ConflictError,
    DesktopUnavailableError,
    InvalidActionError,
    NotFoundError,
    PermissionDeniedError,
)
from ..models import CommandRequest, CommandResult, PtySize
from .sessions import end_session, signal_session

OUTPUT_LIMIT = 8 * 1024 * 1024
"""Bytes of each stream kept per process; older output is dropped first."""
DRAIN_AFTER_EXIT = 0.2
"""How long to keep reading after exit: a backgrounded grandchild may hold the pipe forever."""
MAX_FINISHED_KEPT = 200


def _field_error(field_name: str, message: str) -> InvalidActionError:
    return InvalidActionError.at(("body", field_name), message)


class OutputBuffer:
    """Append-only bytes with absolute offsets, keeping at most ``limit`` recent bytes."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self._data = bytearray()
        self._start = 0
        self._limit = limit

    @property
    def end(self) -> int:
        return self._start + len(self._data)

    @property
    def dropped(self) -> int:
        """Bytes dropped from the front to stay within the limit."""
        return self._start

    def append(self, chunk: bytes) -> None:
        self._data += chunk
        excess = len(self._data) - self._limit
        if excess > 0:
            del self._data[:excess]
            self._start += excess

    def read(self, offset: int = 0) -> tuple[bytes, int]:
        """Bytes from ``offset`` on (or from the oldest kept byte), and the next offset."""
        offset = max(offset, self._start)
        return bytes(self._data[offset - self._start :]), self.end


@dataclass(eq=False)
class Process:
    id: str
    command: str | list[str]
    pid: int
    started_at: float
    timeout: float | None
    stdout: OutputBuffer = field(default_factory=OutputBuffer)
    stderr: OutputBuffer = field(default_factory=OutputBuffer)
    exit_code: int | None = None
    timed_out: bool = False
    finished_at: float | None = None
    stdin: StdinPipe | None = None
    """Open while the process takes input through ``write_stdin``."""
    pty: PtySize | None = None
    """The terminal's size, for a process run in one."""
    terminal_fd: int | None = None
    """The terminal's controlling side (its master), while the process runs."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def _notify(self) -> None:
        """Wake every follower; each waits on the event that was current when it read."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def resize(self, size: PtySize) -> None:
        """Change the terminal's size; the kernel tells the program (SIGWINCH)."""
        if self.terminal_fd is None:
            raise ConflictError(f"process {self.id} has no terminal to resize")
        if not self.running:
            raise ConflictError(f"process {self.id} has ended")
        set_terminal_size(self.terminal_fd, size)
        self.pty = size

    async def write_stdin(self, data: str | bytes, close: bool = False) -> None:
        """Write to a process started with ``open_stdin``; ``close`` sends end-of-file after."""
        if self.stdin is None or self.stdin.closed:
            raise ConflictError(
                f"process {self.id} takes no input: start it with open_stdin, or it was closed"
            )
        if not self.running:
            raise ConflictError(f"process {self.id} has ended")
        await self.stdin.write(data)
        if close:
            self.stdin.close()

    def signal(self, signum: int = signal.SIGKILL) -> bool:
        """Signal every process of the command's session; False if none was left."""
        return signal_session(self.pid, signum)

    async def end(self) -> bool:
        """Kill every process of the command's session, forks that race the kill included;
        False if some could not be ended in time."""
        return await end_session(self.pid)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end; True if it ended within ``timeout``."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def result(self) -> CommandResult:
        end = self.finished_at or time.monotonic()
        return CommandResult(
            stdout=self.stdout.read()[0].decode("utf-8", "replace"),
            stderr=self.stderr.read()[0].decode("utf-8", "replace"),
            exit_code=self.exit_code if self.exit_code is not None else -1,
            timed_out=self.timed_out,
            duration=end - self.started_at,
        )

    async def follow(self, stdout_offset: int = 0, stderr_offset: int = 0) -> AsyncIterator[tuple[str, str]]:
        """Yield ("stdout"|"stderr", text) as output arrives, then ("exit", code)."""
        decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        offsets = {"stdout": stdout_offset, "stderr": stderr_offset}
        while True:
            changed = self._changed
            chunks = {}
            for name, buffer in (("stdout", self.stdout), ("stderr", self.stderr)):
                chunks[name], offsets[name] = buffer.read(offsets[name])
            finished = not self.running
            if not any(chunks.values()) and not finished:
                await changed.wait()
                continue
            for name, data in chunks.items():
                text = decoders[name].decode(data, final=finished)
                if text:
                    yield name, text
            if finished:
                yield "exit", str(self.exit_code)
                return


OWNER_VARIABLE = "DESKBOX_COMMAND_OWNER"
"""Marks every command with the sandbox that started it and that server's run, so a
restarted server can end what its dead predecessor left running (their timeouts died
with it)."""


class ProcessManager:
    """Starts commands and remembers the background ones by id.

    ``owner`` names the sandbox (its status file, say): commands carry it, and
    ``end_orphans`` ends those of an earlier run of the same sandbox's server.
    """

    def __init__(self, display: str | None = None, owner: str | None = None) -> None:
        self._display = display
        self._owner = owner
        self._run = secrets.token_hex(6)
        self._processes: dict[str, Process] = {}
        self._supervisors: set[asyncio.Task[None]] = set()

    async def end_orphans(self) -> int:
        """End the sessions a previous run of this sandbox's server started; how many."""
        if self._owner is None:
            return 0
        mark = f"{OWNER_VARIABLE}={self._owner}#".encode()
        mine = mark + self._run.encode()
        sessions = set()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    variables = environ.read().split(b"\0")
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    session = int(stat.read().rsplit(b")", 1)[1].split()[3])
            except (OSError, ValueError, IndexError):
                continue
            if any(v.startswith(mark) and v != mine for v in variables):
                sessions.add(session)
        await asyncio.gather(*(end_session(session) for session in sessions))
        return len(sessions)

    def get(self, process_id: str) -> Process:
        try:
            return self._processes[process_id]
        except KeyError:
            raise NotFoundError(f"no process with id {process_id!r}") from None

    def list(self) -> list[Process]:
        return list(self._processes.values())

    def forget(self, process_id: str) -> None:
        process = self.get(process_id)
        if process.running:
            raise ConflictError(f"process {process_id} is still running; kill it first")
        del self._processes[process_id]

    async def run(self, request: CommandRequest) -> CommandResult:
        """Run a command to completion; it is not remembered by id."""
        process = await self.start(request, background=False)
        await process.wait()
        return process.result()

    async def start(self, request: CommandRequest, background: bool = True) -> Process:
        """Start a command; background ones are listed and can be read and killed later."""
        command, timeout, cwd, user, stdin = (
            request.cmd,
            request.timeout,
            request.cwd,
            request.user,
            request.stdin,
        )
        if request.open_stdin and not background:
            raise _field_error("open_stdin", "only a background process can keep its input open")
        if request.pty is not None and not background:
            raise _field_error("pty", "only a background process runs in a terminal")
        if isinstance(command, str):
            if not command.strip():
                raise _field_error("cmd", "the command is empty")
            argv = ["/bin/sh", "-c", command]
        else:
            argv = list(command)
            if not argv or not argv[0]:
                raise _field_error("cmd", "the argument list is empty")
        identity = _identity(user)
        child_env = {**os.environ}
        if self._display is not None:
            child_env["DISPLAY"] = self._display
        if identity is not None:
            child_env.update(HOME=identity.pw_dir, USER=identity.pw_name, LOGNAME=identity.pw_name)
        child_env.update(request.env)
        if self._owner is not None:
            child_env[OWNER_VARIABLE] = f"{self._owner}#{self._run}"
        workdir = cwd or (identity.pw_dir if identity is not None else None)
        if cwd is not None and not os.path.isdir(cwd):
            raise _field_error("cwd", f"{cwd!r} is not a directory")
        started_at = time.monotonic()
        terminal = _Terminal.open(request.pty, child_env) if request.pty is not None else None
        try:
            popen = subprocess.Popen(
                argv if terminal is None else terminal.argv(argv),
                stdin=terminal.child_fd
                if terminal is not None
                else subprocess.PIPE
                if stdin is not None or request.open_stdin
                else subprocess.DEVNULL,
                stdout=subprocess.PIPE if terminal is None else terminal.child_fd,
                stderr=subprocess.PIPE if terminal is None else terminal.child_fd,
                cwd=workdir,
                env=child_env,
                # A terminal's command makes its own session, with the terminal as its
                # controlling one (setsid -c), so it must not be a session leader yet.
                start_new_session=terminal is None,
                user=identity.pw_uid if identity is not None else None,
                group=identity.pw_gid if identity is not None else None,
                extra_groups=os.getgrouplist(identity.pw_name, identity.pw_gid)
                if identity is not None
                else None,
            )
        except FileNotFoundError:
            raise _field_error("cmd", f"no such program: {argv[0]!r}") from None
        except PermissionError as exc:
            raise PermissionDeniedError(f"cannot run {argv[0]!r}: {exc.strerror}") from None
        except BlockingIOError:
            raise no_room_for_a_process() from None
        finally:
            if terminal is not None:
                terminal.close_child_side()
        _first_to_go(popen.pid)
        process = Process(
            id=secrets.token_hex(6),
            command=command if isinstance(command, str) else argv,
            pid=popen.pid,
            started_at=started_at,
            timeout=timeout,
            stdin=StdinPipe(popen.stdin)
            if popen.stdin is not None
            else terminal.input()
            if terminal is not None
            else None,
            pty=request.pty,
            terminal_fd=terminal.fd if terminal is not None else None,
        )
        if background:
            self._remember(process)
        task = asyncio.get_running_loop().create_task(
            _supervise(
                popen,
                process,
                stdin,
                (request.open_stdin or terminal is not None) and background,
                [terminal.output()] if terminal is not None else None,
            )
        )
        self._supervisors.add(task)
        task.add_done_callback(self._supervisors.discard)
        return process

    def _remember(self, process: Process) -> None:
        self._processes[process.id] = process
        finished = sorted(
            (p for p in self._processes.values() if not p.running), key=lambda p: p.finished_at or 0
        )
        for old in finished[: max(0, len(finished) - MAX_FINISHED_KEPT)]:
            del self._processes[old.id]

    async def shutdown(self) -> None:
        await asyncio.gather(*(process.end() for process in self._processes.values() if process.running))


def no_room_for_a_process() -> DesktopUnavailableError:
    """fork() said EAGAIN: the sandbox is at its pids limit (a fork bomb, say). Transient:
    the runaway command's timeout or a kill ends it."""
    return DesktopUnavailableError(
        "the sandbox has no room for another process (its pids limit is reached); "
        "try again once the command holding them ends or is killed"
    )


def set_terminal_size(fd: int, size: PtySize) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.rows, size.cols, 0, 0))


class _Terminal:
    """A pseudo-terminal for one command: the command gets the terminal side as its input,
    output and controlling terminal; the server keeps the other side, reading the screen
    stream from it and typing into it."""

    def __init__(self, fd: int, child_fd: int) -> None:
        self.fd = fd
        self.child_fd = child_fd

    @classmethod
    def open(cls, size: PtySize, env: dict[str, str]) -> _Terminal:
        if shutil.which("setsid") is None:
            raise DesktopUnavailableError(
                "this machine has no setsid (util-linux) to start a terminal's command"
            )
        fd, child_fd = os.openpty()
        set_terminal_size(child_fd, size)
        env.setdefault("TERM", "xterm-256color")
        return cls(fd, child_fd)

    @staticmethod
    def argv(argv: list[str]) -> list[str]:
        # setsid -c: a new session whose controlling terminal is its input, then exec, so
        # the pid stays the command's own and is its session's id.
        return ["setsid", "-c", *argv]

    def close_child_side(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.child_fd)

    def output(self) -> IO[bytes]:
        return os.fdopen(self.fd, "rb", buffering=0, closefd=True)

    def input(self) -> StdinPipe:
        return StdinPipe(os.fdopen(os.dup(self.fd), "wb", buffering=0))


def _first_to_go(pid: int) -> None:
    """Make a command, and everything it starts later, the out-of-memory killer's first
    choice: a memory bomb dies, not the desktop or this server. Raising the score needs
    no privilege; it is best effort (the command may already have ended)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/oom_score_adj", "w") as score:
        score.write("1000")


def _identity(user: str | None) -> pwd.struct_passwd | None:
    """The account to run as, or None to run as the server's own user."""
    if user is None:
        return None
    try:
        identity = pwd.getpwnam(user)
    except KeyError:
        raise _field_error("user", f"no such user: {user!r}") from None
    if identity.pw_uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise PermissionDeniedError(f"the server runs as uid {os.geteuid()} and cannot run as {user!r}")
    return identity


def _read_into(fd: int, buffer: OutputBuffer, process: Process, eof: asyncio.Event) -> None:
    """Reader callback: move what the pipe has into the buffer."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return
    except OSError:
        chunk = b""
    if chunk:
        buffer.append(chunk)
        process._notify()
    else:
        asyncio.get_running_loop().remove_reader(fd)
        eof.set()


class StdinPipe:
    """The write end of a child's input, written without blocking the event loop.

    Non-blocking writes on the loop rather than a blocking write in a thread: a child that
    never reads its input would otherwise hold a pool thread until it ends. Writes are
    serialized, so two callers cannot interleave their bytes.
    """

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._fd = pipe.fileno()
        os.set_blocking(self._fd, False)
        self._lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self._pipe.closed

    async def write(self, data: str | bytes) -> None:
        pending = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
        async with self._lock:
            try:
                while pending and not self.closed:
                    try:
                        written = os.write(self._fd, pending)
                    except BlockingIOError:
                        await fd_ready(self._fd, write=True)
                        continue
                    pending = pending[written:]
            except (BrokenPipeError, ConnectionResetError):
                self.close()  # the child closed its input or ended; what it did not read is dropped

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.close()


async def _feed(pipe: StdinPipe, data: str | None, keep_open: bool) -> None:
    if data:
        await pipe.write(data)
    if not keep_open:
        pipe.close()


_ENDING: set[asyncio.Task[bool]] = set()
"""Session kills under way at deadlines, kept referenced until they finish."""


async def _supervise(
    popen: subprocess.Popen[bytes],
    process: Process,
    stdin: str | None,
    keep_stdin_open: bool,
    terminal_output: list[IO[bytes]] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    if terminal_output is not None:
        pipes = [(terminal_output[0], process.stdout, asyncio.Event())]
    else:
        assert popen.stdout is not None and popen.stderr is not None
        pipes = [
            (popen.stdout, process.stdout, asyncio.Event()),
            (popen.stderr, process.stderr, asyncio.Event()),
        ]
    for pipe, buffer, eof in pipes:
        os.set_blocking(pipe.fileno(), False)
        loop.add_reader(pipe.fileno(), _read_into, pipe.fileno(), buffer, process, eof)
    feeding = None
    if process.stdin is not None:
        feeding = asyncio.ensure_future(_feed(process.stdin, stdin, keep_stdin_open))
    deadline = None
    if process.timeout is not None:

        def on_deadline() -> None:
            # Not cancelled when the first process exits: what it left behind ends now too.
            if process.running:
                process.timed_out = True
            ending = loop.create_task(process.end())
            _ENDING.add(ending)
            ending.add_done_callback(_ENDING.discard)

        deadline = loop.call_later(process.timeout, on_deadline)
    try:
        code = await wait_exit(popen)
    except BaseException:
        if deadline is not None:
            deadline.cancel()
        raise
    finally:
        draining = [asyncio.ensure_future(eof.wait()) for _, _, eof in pipes]
        await asyncio.wait(draining, timeout=DRAIN_AFTER_EXIT)
        for waiter in draining:
            waiter.cancel()
        for pipe, _, eof in pipes:
            if not eof.is_set():
                loop.remove_reader(pipe.fileno())
            pipe.close()
        if feeding is not None:
            feeding.cancel()
        if process.stdin is not None:
            process.stdin.close()
    process.terminal_fd = None
    # Report a death by signal N as 128 + N, the way shells do.
    process.exit_code = 128 - code if code < 0 else code
    process.finished_at = time.monotonic()
    process._done.set()
    process._notify()
