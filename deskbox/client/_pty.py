"""``sandbox.pty``: commands in a terminal, the way a person at the desktop runs them.

A terminal command is a background command whose output is the terminal's screen stream
(escape sequences included) and whose input is typed into it, with a line discipline,
job control and a size that programs like ``vim`` and ``top`` draw to. Its handle is an
ordinary command handle: stream its output, send input, resize, kill, wait.
"""

from __future__ import annotations

import builtins
from typing import Annotated

from pydantic import Field

from ..models import PtySize
from ._commands import AsyncCommandHandle, AsyncCommands
from ._connection import Connection
from ._validation import checked

LOGIN_SHELL = ["/bin/bash", "-i", "-l"]
Columns = Annotated[int, Field(ge=1, le=1000)]
Rows = Annotated[int, Field(ge=1, le=1000)]


class AsyncPty:
    def __init__(self, connection: Connection, commands: AsyncCommands) -> None:
        self._connection = connection
        self._commands = commands

    @checked
    async def create(
        self,
        cols: Columns = 80,
        rows: Rows = 24,
        cmd: str | builtins.list[str] | None = None,
        *,
        cwd: str | None = None,
        envs: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncCommandHandle:
        """Start ``cmd`` (a login shell by default) in a terminal of ``cols`` x ``rows``."""
        return await self._commands._start_in_terminal(
            cmd or LOGIN_SHELL, PtySize(cols=cols, rows=rows), cwd=cwd, envs=envs, timeout=timeout
        )

    @checked
    async def connect(self, pid: int) -> AsyncCommandHandle:
        return await self._commands.connect(pid)

    @checked
    async def send_stdin(self, pid: int, data: str | bytes) -> None:
        """Type ``data`` into the terminal: text, or bytes such as b"\\x03" (Ctrl+C)."""
        await (await self._commands.connect(pid)).send_stdin(data)

    @checked
    async def resize(self, pid: int, cols: Columns, rows: Rows) -> None:
        await (await self._commands.connect(pid)).resize(cols, rows)

    @checked
    async def kill(self, pid: int) -> bool:
        return await self._commands.kill(pid)
