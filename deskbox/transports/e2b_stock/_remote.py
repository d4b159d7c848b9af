"""One e2b_desktop sandbox, called from asyncio, with E2B's errors translated."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, TypeVar

from ... import errors

T = TypeVar("T")


class Remote:
    """The stock sandbox: ``e2b_desktop.Sandbox``'s blocking calls, run in a thread.

    ``sdk`` is the ``e2b`` package (or a stand-in for it): its exception classes are the
    ones translated here, each into the DeskboxError it stands for, kept as the cause.
    """

    def __init__(self, desktop: Any, sdk: ModuleType) -> None:
        self.desktop = desktop
        self._sdk = sdk

    async def call(self, work: Callable[[Any], T]) -> T:
        exceptions = self._sdk.exceptions
        try:
            return await asyncio.to_thread(work, self.desktop)
        except self._sdk.CommandExitException as exc:
            raise errors.ActionFailedError(
                f"a command on the stock desktop failed: {exc}", index=0, action_type=""
            ) from exc
        except exceptions.NotFoundException as exc:
            raise errors.NotFoundError(str(exc)) from exc
        except exceptions.TimeoutException as exc:
            raise errors.TimeoutError(f"E2B timed out: {exc}") from exc
        except exceptions.SandboxException as exc:
            raise errors.BackendError(f"E2B: {exc}") from exc

    async def run(self, command: str, **options: Any) -> Any:
        """A command's result; a non-zero exit is returned, not raised (it has stdout,
        stderr and exit_code, like a result)."""
        exit_exception = self._sdk.CommandExitException

        def work(desktop: Any) -> Any:
            try:
                return desktop.commands.run(command, **options)
            except exit_exception as exited:
                return exited

        return await self.call(work)

    async def check(self, command: str) -> str:
        """Run a command that must succeed; its stdout."""
        result = await self.run(command)
        if int(result.exit_code) != 0:
            raise errors.ActionFailedError(
                f"the stock desktop's `{command.split()[0]}` failed: {str(result.stderr).strip()}",
                index=0,
                action_type="",
            )
        return str(result.stdout)

    async def xdotool(self, steps: Sequence[str]) -> str:
        """One xdotool command line of chained steps: one round trip, however many steps."""
        return await self.check("xdotool " + " ".join(steps))

    async def spawn(self, argv: Sequence[str]) -> int:
        """Start a program detached from the command, and return its pid."""
        line = "setsid " + shlex.join(argv) + " >/dev/null 2>&1 </dev/null & echo $!"
        return int((await self.check(line)).strip())
