"""What every backend provides: where a sandbox lives, never what it does.

A backend creates, finds, lists and kills sandboxes and hands back a URL and a token.
Actions never pass through it: the SDK talks to the sandbox's control server directly,
so every backend runs the same code path. A platform that cannot run our server hands
the SDK a transport that answers the server's requests (``transport()``) instead.

Optional capabilities are protocols of their own (``SupportsPause``, ``SupportsSnapshots``,
``SupportsReset``), which the SDK checks with ``isinstance``; a backend without one gets
a CapabilityError naming it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Annotated, Protocol, runtime_checkable

import httpx
import pydantic
from pydantic import Field

ScreenSide = Annotated[int, Field(ge=64, le=8192)]
SnapshotName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
"""Lower-case letters, digits and ``_.-``, up to 64: it becomes an image tag."""
MAX_SANDBOX_TIMEOUT = 30 * 24 * 3600.0


@pydantic.dataclasses.dataclass(frozen=True, config=pydantic.ConfigDict(extra="forbid"))
class SandboxSpec:
    """What to create; checked when made (a ValidationError names the field)."""

    resolution: tuple[ScreenSide, ScreenSide] = (1280, 800)
    timeout: Annotated[float, Field(gt=0, le=MAX_SANDBOX_TIMEOUT)] = 300.0
    """Seconds until the sandbox is killed, even if its creator has died."""
    metadata: dict[str, str] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)
    """Environment for the sandbox's processes, commands included."""
    cpu: Annotated[float, Field(gt=0, le=64)] | None = None
    memory_mb: Annotated[int, Field(ge=256, le=1024 * 1024)] | None = None
    snapshot: SnapshotName | None = None
    """Start from this snapshot's filesystem instead of the base image (``SupportsSnapshots``)."""


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
    state: str = "running"
    """"running", or "paused" (frozen by ``pause()``) where the backend can pause."""
    headers: dict[str, str] = field(default_factory=dict)
    """Headers every request to the sandbox carries besides the token: how a platform
    routes to this sandbox among others behind one address (Fly's instance header)."""

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"SandboxInfo(sandbox_id={self.sandbox_id!r}, url={self.url!r}, backend={self.backend!r})"


@dataclass(frozen=True)
class SnapshotInfo:
    """A sandbox's filesystem, kept to start sandboxes from (``create(snapshot=)``)."""

    name: str
    source: str
    """The sandbox it was taken from."""
    created: float
    """Unix time it was taken at."""
    backend: str
    size_bytes: int = 0
    """What it adds to the image it was taken from, where the backend knows."""


@runtime_checkable
class Backend(Protocol):
    """Lifecycle of sandboxes on one platform."""

    name: str

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        """Start a sandbox and return once it is ready."""

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        """Find a running sandbox; SandboxNotFoundError if there is none."""

    async def list(self) -> builtins.list[SandboxInfo]:
        """The platform's running deskbox sandboxes."""

    async def kill(self, sandbox_id: str) -> None:
        """End a sandbox and free what it held; SandboxNotFoundError if there is none."""

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        """End the sandbox ``timeout`` seconds from now instead."""

    async def logs(self, sandbox_id: str) -> str:
        """The sandbox's own log (its supervisor's and server's output)."""

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        """How the SDK reaches the sandbox: None for HTTP to ``info.url`` with its token,
        or a transport that answers the control server's requests itself."""

    async def aclose(self) -> None:
        """Release what the backend holds (clients, background work)."""


@runtime_checkable
class SupportsPause(Protocol):
    """Freeze a sandbox, memory and all, and thaw it later."""

    async def pause(self, sandbox_id: str) -> None: ...

    async def resume(self, sandbox_id: str) -> SandboxInfo: ...


@runtime_checkable
class SupportsSnapshots(Protocol):
    """Keep a sandbox's filesystem, and start sandboxes from it (``SandboxSpec.snapshot``)."""

    async def snapshot(self, sandbox_id: str, name: str | None) -> SnapshotInfo: ...

    async def list_snapshots(self) -> builtins.list[SnapshotInfo]: ...

    async def delete_snapshot(self, name: str) -> None: ...

    async def fork(self, sandbox_id: str, count: int) -> builtins.list[SandboxInfo]:
        """``count`` new sandboxes, each from the sandbox's filesystem as it is now."""


@runtime_checkable
class SupportsReset(Protocol):
    """Put a sandbox back as it was created, under the same id."""

    async def reset(self, sandbox_id: str) -> SandboxInfo: ...
