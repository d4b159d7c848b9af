"""What every backend provides: where a sandbox lives, never what it does.

A backend creates, finds, lists and kills sandboxes and hands back a URL and a token.
Actions never pass through it: the SDK talks to the sandbox's control server directly,
so every backend runs the same code path.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SandboxSpec:
    """What to create."""

    resolution: tuple[int, int] = (1280, 800)
    timeout: float = 300.0
    """Seconds until the sandbox is killed, even if its creator has died."""
    metadata: dict[str, str] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)
    """Environment for the sandbox's processes, commands included."""
    cpu: float | None = None
    memory_mb: int | None = None


@dataclass(frozen=True)
class SandboxInfo:
    """Where a sandbox is, and how to talk to it."""

    sandbox_id: str
    url: str
    token: str
    backend: str
    metadata: dict[str, str] = field(default_factory=dict)
    deadline: float | None = None
    """Unix time at which the sandbox is killed; None for no limit."""

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"SandboxInfo(sandbox_id={self.sandbox_id!r}, url={self.url!r}, backend={self.backend!r})"


class Backend(Protocol):
    name: str

    async def create(self, spec: SandboxSpec) -> SandboxInfo: ...

    async def connect(self, sandbox_id: str) -> SandboxInfo: ...

    async def list(self) -> builtins.list[SandboxInfo]: ...

    async def kill(self, sandbox_id: str) -> None: ...

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None: ...

    async def logs(self, sandbox_id: str) -> str: ...
