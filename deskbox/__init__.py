"""deskbox: a desktop in a box for computer-use agents.

    from deskbox import Sandbox
    with Sandbox.create(backend="docker") as sbx:
        sbx.left_click(100, 200)
        sbx.write("héllo")
        png = sbx.screenshot()

Names load on first use, so processes that only need part of deskbox (the sandbox
supervisor, for one) do not pay for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AsyncSandbox": "deskbox.client",
    "Sandbox": "deskbox.client",
    "CommandResult": "deskbox.client",
    "CommandHandle": "deskbox.client",
    "AsyncCommandHandle": "deskbox.client",
    "SandboxInfo": "deskbox.backends",
    "DeskboxError": "deskbox.errors",
    "AuthenticationError": "deskbox.errors",
    "InvalidActionError": "deskbox.errors",
    "TimeoutError": "deskbox.errors",
    "SandboxNotFoundError": "deskbox.errors",
    "CommandExitError": "deskbox.errors",
    "BackendError": "deskbox.errors",
    "NotFoundError": "deskbox.errors",
    "ActionFailedError": "deskbox.errors",
    "DesktopUnavailableError": "deskbox.errors",
}

if TYPE_CHECKING:
    from .backends import SandboxInfo
    from .client import AsyncCommandHandle, AsyncSandbox, CommandHandle, CommandResult, Sandbox
    from .errors import (
        ActionFailedError,
        AuthenticationError,
        BackendError,
        CommandExitError,
        DeskboxError,
        DesktopUnavailableError,
        InvalidActionError,
        NotFoundError,
        SandboxNotFoundError,
        TimeoutError,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'deskbox' has no attribute {name!r}")


__all__ = [
    "ActionFailedError",
    "AsyncCommandHandle",
    "AsyncSandbox",
    "AuthenticationError",
    "BackendError",
    "CommandExitError",
    "CommandHandle",
    "CommandResult",
    "DeskboxError",
    "DesktopUnavailableError",
    "InvalidActionError",
    "NotFoundError",
    "Sandbox",
    "SandboxInfo",
    "SandboxNotFoundError",
    "TimeoutError",
]
