"""The SDK: AsyncSandbox is the source of truth, Sandbox its blocking twin."""

from ._commands import AsyncCommandHandle, CommandResult
from ._sandbox import AsyncSandbox
from ._sync import CommandHandle, Sandbox

__all__ = ["AsyncCommandHandle", "AsyncSandbox", "CommandHandle", "CommandResult", "Sandbox"]
