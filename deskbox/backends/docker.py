"""Sandboxes as Docker containers of the deskbox image, through the docker SDK.

Each container gets a random token, CPU (below the engine's core count), memory and pids
limits, no capabilities, a network on which sandboxes cannot reach each other, and its
port published on 127.0.0.1 at a free host port. Labels make them findable
(``deskbox.sandbox``) and carry the creation metadata. The deadline is kept inside the
sandbox (its supervisor stops at the time in its runtime folder's deadline file, and the container
is removed when it stops), so a sandbox outlives no one's timeout, even if the process
that created it died; a reaper at every create and list removes anything stopped or late.

A warm pool (``pool_size=N``) keeps N containers started and healthy; create() claims
one by renaming it, which Docker does atomically, so two creators never get the same one.

``labels`` scope a backend: its containers carry them, and it lists, sweeps and pools
only containers that do, so two users (or a test run and a user) on one engine never
touch each other's sandboxes.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .._ports import free_port
from ..errors import BackendError, SandboxNotFoundError
from ._base import SandboxInfo, SandboxSpec
from ._health import wait_healthy

T = TypeVar("T")
IMAGE = "deskbox/desktop:latest"
LABEL = "deskbox.sandbox"
NETWORK = "deskbox-sandboxes"
"""A bridge with traffic between its containers turned off: each sandbox reaches the
outside, and the host's published ports, but never another sandbox."""
COMPOSE_LABELS = ("com.docker.compose.project", "com.docker.compose.service", "com.docker.compose.version")
"""An image built by `docker compose build` carries compose's labels, and containers
inherit them: blanked, so `docker compose down` in a checkout never takes SDK sandboxes."""
RUNTIME_DIR = "/var/lib/deskbox"
"""The image's runtime folder (DESKBOX_RUNTIME_DIR): status, logs, the deadline."""
DEADLINE_FILE = f"{RUNTIME_DIR}/deadline"
PAUSED = "paused"
"""Written into the deadline file, with the seconds left, while the sandbox is paused
(the sandbox's deadline watcher reads it as no deadline)."""
TMP_SIZE = "1g"
"""/tmp is a tmpfs of this size: what an agent writes there is bounded (and counted in the
sandbox's memory), and filling it leaves the sandbox's own state untouched."""
DEFAULT_MEMORY = "2g"
DEFAULT_PIDS = 1024
MAX_DEFAULT_CPUS = 2.0
READY_TIMEOUT = 90.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def _docker() -> Any:
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


class DockerBackend:
    name = "docker"

    def __init__(
        self,
        image: str = IMAGE,
        pool_size: int = 0,
        build: bool = True,
        *,
        labels: Mapping[str, str] | None = None,
        pool: str = "default",
        disk_quota: str | None = "10G",
    ) -> None:
        self.image = image
        self.pool_size = pool_size
        self.pool = pool
        self.labels = dict(labels or {})
        self.disk_quota = disk_quota
        self._build = build
        self._client: Any = None
        self._image_ready = False
        self._http: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._network_ready = False

    def _filters(self, *more: str) -> dict[str, list[str]]:
        """Docker label filters for this backend's containers (and ``more``)."""
        return {"label": [LABEL, *(f"{k}={v}" for k, v in self.labels.items()), *more]}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _docker()
        return self._client

    # ---- lifecycle ----------------------------------------------------------------------

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        with _translated("create a sandbox"):
            return await self._create(spec)

    async def _create(self, spec: SandboxSpec) -> SandboxInfo:
        if not self._image_ready:
            await _blocking(self._ensure_image)
            self._image_ready = True
        if self.pool_size and not spec.envs and spec.resolution == (1280, 800):
            claimed = await self._claim(spec)
            if claimed is not None:
                # Refill and sweep after answering: a pooled create must stay fast.
                self._background(self.fill_pool())
                self._background(self.reap())
                return claimed
        await self.reap()
        info = await _blocking(self._run, spec, None)
        try:
            await wait_healthy(info.url, READY_TIMEOUT, gone=lambda: _blocking(self._ended, info.sandbox_id))
        except BaseException:
            await _blocking(self._remove_by_name, info.sandbox_id)
            raise
        await self._set_deadline(info, spec.timeout)
        if self.pool_size:
            self._background(self.fill_pool())
        return info

    async def aclose(self) -> None:
        """Wait for background work (pool refills, sweeps) to finish, and close."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        return None  # HTTP to the sandbox's own server

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        """Attach to a sandbox; a paused one is thawed first."""
        container = await _blocking(self._get, sandbox_id)
        if container.status == "paused":
            return await self.resume(sandbox_id)
        return self._info_of(container)

    async def pause(self, sandbox_id: str) -> None:
        """Freeze every process of the sandbox (the cgroup freezer): memory kept, no CPU
        used. Its deadline stops with it: the time left is kept in the deadline file and
        counts again from ``resume()``, so a paused sandbox is never ended by its timeout
        (a paused E2B sandbox is kept the same way); ``kill()`` ends it."""
        with _translated(f"pause sandbox {sandbox_id}"):
            container = await _blocking(self._get, sandbox_id)
            if container.status == "paused":
                return
            if container.status != "running":
                raise BackendError(f"cannot pause sandbox {sandbox_id}: it is {container.status}")
            deadline = await _blocking(_read_file, container, DEADLINE_FILE)
            if not deadline.startswith(PAUSED):  # else a pause that did not finish froze it
                left = "none" if not deadline else f"{max(0.0, float(deadline) - time.time()):.3f}"
                await _blocking(_write_file, container, DEADLINE_FILE, f"{PAUSED} {left}")
            try:
                await _blocking(container.pause)
            except BaseException:
                await _blocking(_write_file, container, DEADLINE_FILE, deadline)
                raise

    async def resume(self, sandbox_id: str) -> SandboxInfo:
        """Thaw a paused sandbox; its deadline is the time it had left when paused."""
        with _translated(f"resume sandbox {sandbox_id}"):
            container = await _blocking(self._get, sandbox_id)
            if container.status == "paused":
                await _blocking(container.unpause)
            elif container.status != "running":
                raise BackendError(f"cannot resume sandbox {sandbox_id}: it is {container.status}")
            frozen = await _blocking(_read_file, container, DEADLINE_FILE)
            if frozen.startswith(PAUSED):
                left = frozen.split()[-1]
                deadline = "" if left == "none" else str(time.time() + float(left))
                await _blocking(_write_file, container, DEADLINE_FILE, deadline)
            await _blocking(container.reload)
            info = self._info_of(container)
        await wait_healthy(info.url, READY_TIMEOUT, client=self._client_for_http())
        return info

    async def list(self) -> builtins.list[SandboxInfo]:
        with _translated("list sandboxes"):
            return await self._list()

    async def _list(self) -> builtins.list[SandboxInfo]:
        await self.reap()
        containers = await _blocking(
            self.client.containers.list, filters={**self._filters(), "status": ["running", "paused"]}
        )
        return [self._info_of(c) for c in containers if not c.name.startswith("deskbox-pool-")]

    async def kill(self, sandbox_id: str) -> None:
        container = await _blocking(self._get, sandbox_id)
        await _blocking(_remove, container)

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        """End the sandbox ``timeout`` seconds from now; for a paused one, ``timeout``
        seconds after it is resumed (it thaws for the write, and freezes again)."""
        container = await _blocking(self._get, sandbox_id)
        if container.status != "paused":
            await self._set_deadline(self._info_of(container), timeout)
            return
        with _translated(f"set the timeout of paused sandbox {sandbox_id}"):
            await _blocking(container.unpause)
            try:
                left = f"{timeout:.3f}" if timeout else "none"
                await _blocking(_write_file, container, DEADLINE_FILE, f"{PAUSED} {left}")
            finally:
                await _blocking(container.pause)

    async def logs(self, sandbox_id: str) -> str:
        container = await _blocking(self._get, sandbox_id)
        output: bytes = await _blocking(container.logs)
        return output.decode("utf-8", "replace")

    async def reap(self) -> None:
        """Remove deskbox containers that have stopped (their deadline passed, or they died)."""

        def sweep() -> None:
            # sparse: no inspect per container, which races with containers going away.
            for container in self.client.containers.list(all=True, sparse=True, filters=self._filters()):
                # Not "created": a concurrent create's container passes through it.
                if container.status in ("exited", "dead"):
                    _remove(container)

        await _blocking(sweep)

    async def fill_pool(self) -> None:
        """Start pool containers until ``pool_size`` are waiting."""
        waiting = await _blocking(self._pooled)
        missing = self.pool_size - len(waiting)
        if missing > 0:
            started = await asyncio.gather(
                *(_blocking(self._run, SandboxSpec(), "pool") for _ in range(missing))
            )
            await asyncio.gather(*(wait_healthy(info.url, READY_TIMEOUT) for info in started))

    # ---- internals ----------------------------------------------------------------------

    def _ensure_image(self) -> None:
        import docker

        try:
            self.client.images.get(self.image)
            return
        except docker.errors.ImageNotFound:
            if not self._build:
                raise BackendError(
                    f"image {self.image} is missing; build it with `docker compose build`"
                ) from None
        dockerfile = REPO_ROOT / "images" / "desktop" / "Dockerfile"
        if not dockerfile.exists():
            raise BackendError(f"image {self.image} is missing and {dockerfile} is not here to build it")
        print(
            f"deskbox: building {self.image} (first run only, a few minutes)...", file=sys.stderr, flush=True
        )
        try:
            for chunk in self.client.api.build(
                path=str(REPO_ROOT),
                dockerfile=str(dockerfile.relative_to(REPO_ROOT)),
                tag=self.image,
                network_mode="host",
                decode=True,
                rm=True,
            ):
                if "stream" in chunk and chunk["stream"].strip():
                    print(f"  {chunk['stream'].rstrip()}", file=sys.stderr, flush=True)
                if "error" in chunk:
                    raise BackendError(f"building {self.image} failed: {chunk['error']}")
        except docker.errors.APIError as exc:
            raise BackendError(f"building {self.image} failed: {exc}") from exc

    def _ensure_network(self) -> None:
        import docker

        if self._network_ready:
            return
        try:
            self.client.networks.get(NETWORK)
        except docker.errors.NotFound:
            with contextlib.suppress(docker.errors.APIError):  # a concurrent create made it
                self.client.networks.create(
                    NETWORK,
                    driver="bridge",
                    options={"com.docker.network.bridge.enable_icc": "false"},
                    labels={LABEL: "network"},
                )
        self._network_ready = True

    def _disk_quota(self) -> dict[str, str]:
        """A size limit for the container's own files where the storage driver takes one
        (overlay2 on xfs with project quotas); elsewhere Docker has none to offer."""
        if self.disk_quota is None:
            return {}
        info = self.client.info()
        backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem", "")
        if info.get("Driver") == "overlay2" and backing == "xfs":
            return {"size": self.disk_quota}
        return {}

    def _default_cpus(self) -> float:
        """Below the engine's core count, so a runaway sandbox never holds the whole host."""
        cores = int(self.client.info().get("NCPU") or 1)
        return max(0.5, min(MAX_DEFAULT_CPUS, cores - 0.5))

    def _run(self, spec: SandboxSpec, role: str | None) -> SandboxInfo:
        import docker

        self._ensure_network()
        token, port = secrets.token_urlsafe(24), free_port()
        width, height = spec.resolution
        name = f"deskbox-{role + '-' if role else ''}{secrets.token_hex(4)}"
        labels = {
            **dict.fromkeys(COMPOSE_LABELS, ""),
            **self.labels,
            LABEL: "1",
            "deskbox.metadata": json.dumps(spec.metadata),
            **({"deskbox.pool": self.pool} if role else {}),
        }
        try:
            container = self.client.containers.run(
                self.image,
                name=name,
                detach=True,
                # Removed when it ends (its deadline); if its supervisor dies instead, the
                # image's deskbox-keepalive starts it again in place, files kept.
                auto_remove=True,
                network=NETWORK,
                init=True,
                labels=labels,
                environment={
                    **spec.envs,
                    "DESKBOX_TOKEN": token,
                    "DESKBOX_RESOLUTION": f"{width}x{height}",
                    "DESKBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
                },
                ports={"8000/tcp": ("127.0.0.1", port)},
                shm_size="1g",
                tmpfs={"/tmp": f"size={TMP_SIZE},mode=1777"},
                mem_limit=f"{spec.memory_mb}m" if spec.memory_mb else DEFAULT_MEMORY,
                nano_cpus=int((spec.cpu or self._default_cpus()) * 1e9),
                pids_limit=DEFAULT_PIDS,
                storage_opt=self._disk_quota() or None,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges:true"],
            )
        except docker.errors.APIError as exc:
            raise BackendError(f"cannot start a sandbox container: {exc}") from exc
        return SandboxInfo(
            sandbox_id=container.name,
            url=f"http://127.0.0.1:{port}",
            token=token,
            backend=self.name,
            metadata=spec.metadata,
        )

    def _get(self, sandbox_id: str) -> Any:
        import docker

        try:
            container = self.client.containers.get(sandbox_id)
        except docker.errors.NotFound:
            raise SandboxNotFoundError(f"no sandbox {sandbox_id!r}") from None
        except docker.errors.APIError as exc:
            raise BackendError(f"cannot look up sandbox {sandbox_id!r}: {exc}") from exc
        labels = container.labels or {}
        if LABEL not in labels:
            raise SandboxNotFoundError(f"{sandbox_id!r} is not a deskbox sandbox")
        if any(labels.get(key) != value for key, value in self.labels.items()):
            raise SandboxNotFoundError(f"{sandbox_id!r} is not one of this backend's sandboxes")
        return container

    def _info_of(self, container: Any) -> SandboxInfo:
        env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"] if "=" in item)
        binding = container.attrs["HostConfig"]["PortBindings"]["8000/tcp"][0]
        return SandboxInfo(
            sandbox_id=container.name,
            url=f"http://{binding['HostIp']}:{binding['HostPort']}",
            token=env["DESKBOX_TOKEN"],
            backend=self.name,
            metadata=json.loads(container.labels.get("deskbox.metadata") or "{}"),
            state="paused" if container.status == "paused" else "running",
        )

    async def _claim(self, spec: SandboxSpec) -> SandboxInfo | None:
        waiting = await _blocking(self._pooled)
        # Oldest first: a refill may still be starting the newest ones.
        for container in sorted(waiting, key=lambda c: c.attrs.get("Created", "")):
            new_name = f"deskbox-{secrets.token_hex(4)}"
            try:
                await _blocking(container.rename, new_name)
            except Exception:
                continue  # someone else claimed it first
            # The listing already holds the port and token; only the name changed.
            pooled = self._info_of(container)
            info = SandboxInfo(new_name, pooled.url, pooled.token, self.name, spec.metadata)
            await wait_healthy(info.url, READY_TIMEOUT, client=self._client_for_http())
            await self._set_deadline(info, spec.timeout)
            return info
        return None

    def _pooled(self) -> builtins.list[Any]:
        filters = {**self._filters(f"deskbox.pool={self.pool}"), "name": ["deskbox-pool-"]}
        return list(self.client.containers.list(filters=filters))

    def _ended(self, name: str) -> str | None:
        """Why the container has ended, with the end of its log; None while it lives
        (created and restarting count: a container passes through both)."""
        import docker

        try:
            container = self.client.containers.get(name)
        except docker.errors.NotFound:
            return "its container is gone"
        if container.status in ("created", "running", "restarting"):
            return None
        tail = container.logs(tail=5).decode("utf-8", "replace").strip().replace("\n", " | ")
        return f"its container is {container.status}: {tail}"

    def _remove_by_name(self, name: str) -> None:
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            _remove(self.client.containers.get(name))

    def _client_for_http(self) -> httpx.AsyncClient:
        if self._http is None:
            # One client for the backend's life (opening one costs more than the request),
            # but no idle connections: a later sandbox may get a dead one's port.
            self._http = httpx.AsyncClient(
                trust_env=False, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
            )
        return self._http

    async def _set_deadline(self, info: SandboxInfo, timeout: float) -> None:
        deadline = str(time.time() + timeout) if timeout else ""
        response = await self._client_for_http().post(
            f"{info.url}/files/write",
            headers={"Authorization": f"Bearer {info.token}"},
            json={"path": DEADLINE_FILE, "content": deadline},
        )
        if response.status_code != 200:
            raise BackendError(f"cannot set the timeout of {info.sandbox_id}: {response.text[:200]}")


async def _blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
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
def _translated(what: str) -> Iterator[None]:
    """Docker's errors, as deskbox's, with Docker's kept as the cause."""
    import docker

    try:
        yield
    except docker.errors.NotFound as exc:
        raise SandboxNotFoundError(f"cannot {what}: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        raise BackendError(f"cannot {what}: {exc}") from exc


def _remove(container: Any) -> None:
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


def _read_file(container: Any, path: str) -> str:
    """A small file of the sandbox's own state, read with ``docker exec`` (it answers
    whatever the control server is doing); empty when absent."""
    result = container.exec_run(["cat", path], demux=False)
    return result.output.decode("utf-8", "replace").strip() if result.exit_code == 0 else ""


def _write_file(container: Any, path: str, content: str) -> None:
    result = container.exec_run(["sh", "-c", 'printf %s "$1" > "$2"', "sh", content, path])
    if result.exit_code != 0:
        raise BackendError(
            f"cannot write {path} in {container.name}: {result.output.decode('utf-8', 'replace')[:200]}"
        )
