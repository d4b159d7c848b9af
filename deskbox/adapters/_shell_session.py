"""A persistent bash in the sandbox, for tools that expect one shell across calls.

The shell is one background process whose input stays open; each command is written to
it followed by a line that prints a fresh random marker with the exit status. Output is
followed over one server-sent-event stream for the shell's lifetime, so reading a result
costs no polling and state (the working directory, variables, functions) carries over.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass

from .. import errors
from ..client import AsyncSandbox
from ..client._commands import AsyncCommandHandle

SHELL = ["bash", "--noprofile", "--norc", "-s"]
DEFAULT_TIMEOUT = 120.0
OUTPUT_LIMIT = 30_000
"""Characters of output kept per command; the middle of a longer output is cut."""


class ShellSessionError(Exception):
    """The shell cannot take commands: it timed out or ended. Restart it."""


@dataclass(frozen=True)
class ShellOutput:
    output: str
    """stdout and stderr interleaved, as a terminal shows them."""
    exit_code: int


class ShellSession:
    def __init__(
        self, sandbox: AsyncSandbox, *, timeout: float = DEFAULT_TIMEOUT, user: str | None = None
    ) -> None:
        self._sandbox = sandbox
        self._timeout = timeout
        self._user = user
        self._handle: AsyncCommandHandle | None = None
        self._reader: asyncio.Task[None] | None = None
        self._output = ""
        self._changed = asyncio.Event()
        self._ended = False
        self._broken: str | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._handle is not None and not self._ended and self._broken is None

    async def start(self) -> None:
        # stderr joins stdout inside the shell, so the two keep their real order.
        handle = await self._sandbox.commands.run(
            SHELL, background=True, timeout=None, user=self._user, stdin="exec 2>&1\n", open_stdin=True
        )
        self._handle, self._output, self._ended, self._broken = handle, "", False, None
        self._reader = asyncio.create_task(self._follow(handle))

    async def _follow(self, handle: AsyncCommandHandle) -> None:
        try:
            async for _, data in handle.stream():
                self._output += data
                self._wake()
        except errors.DeskboxError:
            pass
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def run(self, command: str, timeout: float | None = None) -> ShellOutput:
        """Run one command line (or several) in the shell and wait for it to finish."""
        async with self._lock:
            if self._broken is not None:
                raise ShellSessionError(self._broken)
            if self._handle is None:
                await self.start()
            if self._ended:
                raise ShellSessionError("the shell has exited; restart it")
            assert self._handle is not None
            marker = f"__deskbox_done_{secrets.token_hex(8)}__"
            start = len(self._output)
            script = f"{command}\nprintf '%s:%s\\n' '{marker}' \"$?\"\n"
            await self._handle.send_stdin(script)
            limit = self._timeout if timeout is None else timeout
            try:
                async with asyncio.timeout(limit):
                    while marker not in self._output[start:] and not self._ended:
                        await self._changed.wait()
            except TimeoutError:
                self._broken = (
                    f"the command timed out after {limit:g} s and the shell was stopped; restart it"
                )
                await self._stop()
                raise ShellSessionError(self._broken) from None
            produced = self._output[start:]
            if marker not in produced:
                raise ShellSessionError(f"the shell exited while running the command: {_clip(produced)}")
            text, _, rest = produced.partition(marker)
            status = rest[1:].split("\n", 1)[0]
            self._output = ""  # every byte up to the marker belongs to this command
            return ShellOutput(_clip(text), int(status) if status.isdigit() else -1)

    async def restart(self) -> None:
        async with self._lock:
            await self._stop()
            await self.start()

    async def close(self) -> None:
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(errors.DeskboxError):
                await self._handle.kill()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._handle, self._reader = None, None


def _clip(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    half = OUTPUT_LIMIT // 2
    return f"{text[:half]}\n[... {len(text) - OUTPUT_LIMIT} characters cut ...]\n{text[-half:]}"
