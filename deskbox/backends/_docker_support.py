"""The docker backend's plumbing: docker-py calls off the event loop, Docker's errors
translated, containers removed and frozen, and the pool settings checked."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import pydantic

from ..errors import BackendError, InvalidActionError, SandboxNotFoundError
from . import _docker_snapshots as snapshots
from ._base import SandboxSpec, SnapshotInfo, SnapshotName

T = TypeVar("T")
DEFAULT_MEMORY_MB = 2048
MIN_POOLED_MEMORY_MB = 768
"""Below this, a pooled desktop with its browser is at risk of the OOM killer."""
BASE = "base"
"""The base image's key in ``pool=``."""


def docker_client() -> Any:
    try:
        import docker
    except ImportError as exc:
        raise BackendError(
            "the docker backend needs the docker package: pip install 'deskbox[docker]'"
        ) from exc
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:
        raise BackendError(f"cannot reach the Docker engine: {exc}") from exc


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A docker-py call, off the event loop. When the interpreter is shutting down (an
    ``atexit`` handler killing its sandboxes) thread pools take no new work; the call then
    runs right here, since nothing else is left to wait on the loop."""
    call = functools.partial(fn, *args, **kwargs)
    try:
        pending = asyncio.get_running_loop().run_in_executor(None, call)
    except RuntimeError:  # refused at submit: only the pool's refusal, never fn's own error
        return call()
    return await pending


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Docker's errors, as deskbox's, with Docker's kept as the cause."""
    import docker

    try:
        yield
    except docker.errors.NotFound as exc:
        raise SandboxNotFoundError(f"cannot {what}: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        raise BackendError(f"cannot {what}: {exc}") from exc


def remove(container: Any) -> None:
    """Remove a container and return once Docker no longer lists it."""
    import docker

    with contextlib.suppress(docker.errors.APIError):
        container.remove(force=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            container.reload()
        except docker.errors.NotFound:
            return
        time.sleep(0.05)


FREEZE_TRIES = 5


def freeze(container: Any) -> None:
    """``docker pause``, again when the freezer gives up: on cgroup v1 it fails while a
    process of the container is between states (forking, exiting), which passes."""
    import docker

    for attempt in range(FREEZE_TRIES):
        try:
            container.pause()
            return
        except docker.errors.APIError as exc:
            if "unable to freeze" not in str(exc) or attempt == FREEZE_TRIES - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def pool_counts(image: str, pool_size: int, pool: Mapping[str | SnapshotInfo, int] | None) -> dict[str, int]:
    """``pool=`` (and the older ``pool_size``) as counts by the image each pool runs."""
    wanted: dict[str, int] = {image: pool_size} if pool_size else {}
    for key, count in (pool or {}).items():
        name = key.name if isinstance(key, SnapshotInfo) else key
        if not isinstance(count, int) or count < 0:
            raise InvalidActionError.at(("pool", str(name)), f"a pool's size is a count, not {count!r}")
        origin = image if name == BASE else snapshots.reference(snapshot_name(name))
        wanted[origin] = count
    return {origin: count for origin, count in wanted.items() if count}


def pooled_memory(pools: Mapping[str, int], budget_mb: int | None) -> int:
    if budget_mb is None or not pools:
        return DEFAULT_MEMORY_MB
    share = budget_mb // sum(pools.values())
    if share < MIN_POOLED_MEMORY_MB:
        raise InvalidActionError.at(
            ("pool_memory_mb",),
            f"{budget_mb} MB for {sum(pools.values())} pooled sandboxes is {share} MB each;"
            f" each needs at least {MIN_POOLED_MEMORY_MB} MB",
        )
    return min(share, DEFAULT_MEMORY_MB)


SNAPSHOT_NAME_CHECK: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(SnapshotName)


def snapshot_name(name: str) -> str:
    try:
        return SNAPSHOT_NAME_CHECK.validate_python(name)
    except pydantic.ValidationError:
        raise InvalidActionError.at(
            ("name",), f"{name!r} is not a snapshot name: lower-case letters, digits and _.- (up to 64)"
        ) from None


def spec_fields(spec: SandboxSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in SandboxSpec.__dataclass_fields__}


def report_failure(task: asyncio.Task[None]) -> None:
    """Background work (a pool refill, a sweep) has no caller to raise to: say it failed."""
    if not task.cancelled() and task.exception() is not None:
        progress(f"background work failed: {task.exception()}")


def progress(message: str) -> None:
    print(f"deskbox: {message}", file=sys.stderr, flush=True)
