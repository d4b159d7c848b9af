"""deskbox: a desktop in a box for computer-use agents.

    from deskbox import Sandbox
    with Sandbox.create(backend="docker") as sbx:
        sbx.left_click(100, 200)
        sbx.write("héllo")
        png = sbx.screenshot()

Every error class is exported (``deskbox.errors.__all__``, the one list of them). The SDK's
names load on first use, so processes that only need part of deskbox (the sandbox
supervisor, for one) do not pay for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors as _errors
from .errors import *  # noqa: F403  (the error tree, listed once in errors.__all__)

__version__ = "0.1.0"

_LAZY = {
    "AsyncSandbox": "deskbox.client",
    "Sandbox": "deskbox.client",
    "CommandResult": "deskbox.client",
    "CommandHandle": "deskbox.client",
    "AsyncCommandHandle": "deskbox.client",
    "SandboxInfo": "deskbox.backends",
    "SnapshotInfo": "deskbox.backends",
}

if TYPE_CHECKING:  # the same names as _LAZY, for type checkers (tests/unit/test_exports.py)
    from .backends import SandboxInfo as SandboxInfo
    from .backends import SnapshotInfo as SnapshotInfo
    from .client import AsyncCommandHandle as AsyncCommandHandle
    from .client import AsyncSandbox as AsyncSandbox
    from .client import CommandHandle as CommandHandle
    from .client import CommandResult as CommandResult
    from .client import Sandbox as Sandbox


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'deskbox' has no attribute {name!r}")


__all__ = [*_errors.__all__, *_LAZY]
