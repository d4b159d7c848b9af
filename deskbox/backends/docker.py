"""Sandboxes as Docker containers of the deskbox image, through the docker SDK.

Each container gets a random token, CPU (below the engine's core count), memory and pids
limits, no capabilities, a network on which sandboxes cannot reach each other, and its
port published on 127.0.0.1 at a free host port. Labels make them findable
(``deskbox.sandbox``) and carry the creation metadata. The deadline is kept inside the
sandbox (its supervisor stops at the time in its runtime folder's deadline file, and the container
is removed when it stops), so a sandbox outlives no one's timeout, even if the process
that created it died; a reaper at every create and list removes anything stopped or late.

Warm pools (``pool={"base": N, snapshot: M}``, or ``pool_size=N``) keep containers of
each image started and healthy, within ``pool_memory_mb``; create() and reset() claim one
by renaming it, which Docker does atomically, so two creators never get the same one.

pause() is the cgroup freezer, with the deadline stopped while frozen. snapshot() commits
the container's files as an image (``_docker_snapshots``), fork() starts copies from a
commit, and reset() swaps a fresh container of the sandbox's origin in under its name.

``labels`` scope a backend: its containers carry them, and it lists, sweeps and pools
only containers that do, so two users (or a test run and a user) on one engine never
touch each other's sandboxes.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import math
import secrets
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from .._ports import free_port
from .._tls import tls_for
from ..errors import BackendError, SandboxNotFoundError
from . import _docker_snapshots as snapshots
from ._base import SandboxInfo, SandboxSpec, SnapshotInfo
from ._docker_support import (
    DEFAULT_MEMORY_MB,
    blocking,
    docker_client,
    freeze,
    pool_counts,
    pooled_memory,
    progress,
    remove,
    report_failure,
    snapshot_name,
    spec_fields,
    translated,
)
from ._health import take_first_requests, wait_healthy
from ._remote import DEADLINE_FILE, PAUSED, SandboxFiles

IMAGE = "deskbox/desktop:latest"
LABEL = "deskbox.sandbox"
NETWORK = "deskbox-sandboxes"
"""A bridge with traffic between its containers turned off: each sandbox reaches the
outside, and the host's published ports, but never another sandbox."""
COMPOSE_LABELS = ("com.docker.compose.project", "com.docker.compose.service", "com.docker.compose.version")
"""An image built by `docker compose build` carries compose's labels, and containers
inherit them: blanked, so `docker compose down` in a checkout never takes SDK sandboxes."""
TMP_SIZE = "1g"
"""/tmp is a tmpfs of this size: what an agent writes there is bounded (and counted in the
sandbox's memory), and filling it leaves the sandbox's own state untouched."""
ORIGIN = "deskbox.origin"
"""The image a sandbox was started from (the base image or a snapshot's): reset() starts
that again."""
SPEC = "deskbox.spec"
"""What a sandbox was created with (resolution, cpu, memory), for reset() and fork()."""
ADDED_ENV = ("DESKBOX_TOKEN", "DESKBOX_RESOLUTION", "DESKBOX_PUBLIC_URL", "DESKBOX_TIMEOUT")
"""Variables the backend sets itself; the rest of a container's own are the user's."""
BROWSER_PROFILE = "/home/user/.config/deskbox-chromium"
RESTORE_TABS = f"{BROWSER_PROFILE}/deskbox-restore-tabs"
DEFAULT_PIDS = 1024
MAX_DEFAULT_CPUS = 2.0
CPU_PERIOD = 100_000
"""Microseconds: the kernel's CFS period, over which a CPU quota is counted."""
READY_TIMEOUT = 90.0
REPO_ROOT = Path(__file__).resolve().parents[2]


class DockerBackend:
    name = "docker"

    def __init__(
        self,
        image: str = IMAGE,
        pool_size: int = 0,
        build: bool = True,
        *,
        labels: Mapping[str, str] | None = None,
        pool: Mapping[str | SnapshotInfo, int] | None = None,
        pool_name: str = "default",
        pool_memory_mb: int | None = None,
        disk_quota: str | None = "10G",
    ) -> None:
        self.image = image
        self.pool_name = pool_name
        self.labels = dict(labels or {})
        self.pools = pool_counts(image, pool_size, pool)
        """Pooled sandboxes to keep started, by the image they run (the base's or a snapshot's)."""
        self.pooled_memory_mb = pooled_memory(self.pools, pool_memory_mb)
        """Each pooled sandbox's memory limit (raised to the creator's when claimed), so
        that the pool as a whole stays within ``pool_memory_mb``."""
        self.disk_quota = disk_quota
        self._build = build
        self._client: Any = None
        self._image_ready = False
        self._http: httpx.AsyncClient | None = None
        self._files = SandboxFiles(client=self._client_for_http)
        self._tasks: set[asyncio.Task[None]] = set()
        self._network_ready = False
        self._engine_info: dict[str, Any] | None = None
        self._forking: set[str] = set()
        self._image_env: dict[str, dict[str, str]] = {}
        """Fork images committed but not yet run: not unused, only not used yet."""

    def _filters(self, *more: str) -> dict[str, list[str]]:
        """Docker label filters for this backend's containers (and ``more``)."""
        return {"label": [LABEL, *(f"{k}={v}" for k, v in self.labels.items()), *more]}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    # ---- lifecycle ----------------------------------------------------------------------

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        with translated("create a sandbox"):
            return await self._create(spec)

    async def _create(self, spec: SandboxSpec) -> SandboxInfo:
        origin = await self._origin(spec)
        claimed = await self._claim(origin, spec)
        if claimed is not None:
            claimed_info, _ = claimed
            await self._files.set_deadline(claimed_info, spec.timeout)
            return claimed_info
        await self.reap()
        info = await self._started(spec, origin, None)  # its deadline given at creation
        if self.pools:
            self._background(self.fill_pool())
        return info

    async def _origin(self, spec: SandboxSpec) -> str:
        """The image to start: the snapshot's (in this backend's scope), or the base."""
        if spec.snapshot is not None:
            image = await blocking(snapshots.find, self.client, spec.snapshot, self.labels)
            return str(image.tags[0]) if image.tags else str(image.id)
        if not self._image_ready:
            await blocking(self._ensure_image)
            self._image_ready = True
        return self.image

    async def _started(self, spec: SandboxSpec, origin: str, role: str | None) -> SandboxInfo:
        """A new container of ``origin``, once every part of it is ready."""
        info, container_id = await blocking(self._run, spec, role, origin)
        try:
            # By id, not name: a pooled container may be claimed (renamed) while it starts.
            await wait_healthy(info.url, READY_TIMEOUT, gone=lambda: blocking(self._ended, container_id))
            await blocking(self._settle_cpu, container_id, spec)
            if role == "pool":
                await take_first_requests(info.url, info.token, self._client_for_http())
        except BaseException:
            await blocking(self._remove_by_name, container_id)
            raise
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
        task.add_done_callback(report_failure)

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        return None  # HTTP to the sandbox's own server

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        """Attach to a sandbox; a paused one is thawed first."""
        container = await blocking(self._get, sandbox_id)
        if container.status == "paused":
            return await self.resume(sandbox_id)
        return self._info_of(container)

    async def pause(self, sandbox_id: str) -> None:
        """Freeze every process of the sandbox (the cgroup freezer): memory kept, no CPU
        used. Its deadline stops with it: the time left is kept in the deadline file and
        counts again from ``resume()``, so a paused sandbox is never ended by its timeout
        (a paused E2B sandbox is kept the same way); ``kill()`` ends it."""
        with translated(f"pause sandbox {sandbox_id}"):
            container = await blocking(self._get, sandbox_id)
            if container.status == "paused":
                return
            if container.status != "running":
                raise BackendError(f"cannot pause sandbox {sandbox_id}: it is {container.status}")
            # Through the sandbox's own server, not `docker exec`: an exec'd process still
            # exiting can keep the freezer from finishing.
            info = self._info_of(container)
            deadline = await self._files.freeze_deadline(info)
            try:
                await blocking(freeze, container)
            except BaseException:
                await self._files.write(info, DEADLINE_FILE, deadline)
                raise

    async def resume(self, sandbox_id: str) -> SandboxInfo:
        """Thaw a paused sandbox; its deadline is the time it had left when paused."""
        with translated(f"resume sandbox {sandbox_id}"):
            container = await blocking(self._get, sandbox_id)
            if container.status == "paused":
                await blocking(container.unpause)
            elif container.status != "running":
                raise BackendError(f"cannot resume sandbox {sandbox_id}: it is {container.status}")
            await blocking(container.reload)
            info = self._info_of(container)
            await self._files.thaw_deadline(info)
        await wait_healthy(info.url, READY_TIMEOUT, client=self._client_for_http())
        return info

    async def list(self) -> builtins.list[SandboxInfo]:
        with translated("list sandboxes"):
            return await self._list()

    async def _list(self) -> builtins.list[SandboxInfo]:
        await self.reap()
        containers = await blocking(
            self.client.containers.list, filters={**self._filters(), "status": ["running", "paused"]}
        )
        return [self._info_of(c) for c in containers if not c.name.startswith("deskbox-pool-")]

    async def kill(self, sandbox_id: str) -> None:
        container = await blocking(self._get, sandbox_id)
        await blocking(remove, container)
        await blocking(self._drop_unused_forks)

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        """End the sandbox ``timeout`` seconds from now; for a paused one, ``timeout``
        seconds after it is resumed (it thaws for the write, and freezes again)."""
        container = await blocking(self._get, sandbox_id)
        if container.status != "paused":
            await self._files.set_deadline(self._info_of(container), timeout)
            return
        with translated(f"set the timeout of paused sandbox {sandbox_id}"):
            await blocking(container.unpause)
            try:
                left = f"{timeout:.3f}" if timeout else "none"
                await self._files.write(self._info_of(container), DEADLINE_FILE, f"{PAUSED} {left}")
            finally:
                await blocking(freeze, container)

    async def logs(self, sandbox_id: str) -> str:
        container = await blocking(self._get, sandbox_id)
        output: bytes = await blocking(container.logs)
        return output.decode("utf-8", "replace")

    async def reap(self) -> None:
        """Remove deskbox containers that have stopped (their deadline passed, or they died)."""

        def sweep() -> None:
            # sparse: no inspect per container, which races with containers going away.
            for container in self.client.containers.list(all=True, sparse=True, filters=self._filters()):
                # Not "created": a concurrent create's container passes through it.
                if container.status in ("exited", "dead"):
                    remove(container)
            self._drop_unused_forks()

        await blocking(sweep)

    async def fill_pool(self) -> None:
        """Start pooled sandboxes until each pool has its count waiting."""
        starts = []
        for origin, count in self.pools.items():
            waiting = await blocking(self._pooled, origin)
            starts += [origin] * max(0, count - len(waiting))
        if starts:
            await asyncio.gather(*(self._started(SandboxSpec(), origin, "pool") for origin in starts))

    # ---- snapshots, forks, reset -------------------------------------------------------

    async def snapshot(self, sandbox_id: str, name: str | None) -> SnapshotInfo:
        """Commit the sandbox's filesystem as the image ``deskbox/snapshot:<name>``; the
        sandbox is frozen for the commit and carries on after. Its browser's open tabs
        are written into the profile first, so a sandbox started from it opens them."""
        with translated(f"snapshot sandbox {sandbox_id}"):
            container = await blocking(self._get, sandbox_id)
            chosen = snapshot_name(name if name is not None else f"{container.name}-{int(time.time())}")
            return await self._commit(container, chosen, ephemeral=False)

    async def _commit(self, container: Any, name: str, *, ephemeral: bool) -> SnapshotInfo:
        await blocking(snapshots.ensure_free, self.client, name)
        started = time.monotonic()
        progress(f"snapshot {name} of {container.name}: saving its browser tabs, committing")
        info = self._info_of(container)
        tabs = await self._open_tabs(info)
        if tabs:
            await self._files.write(info, RESTORE_TABS, "\n".join(tabs) + "\n")
        try:
            snap = await blocking(
                snapshots.commit, self.client, container, name, scope=self.labels, ephemeral=ephemeral
            )
        finally:
            if tabs:
                await self._files.request(info, "DELETE", "/files", params={"path": RESTORE_TABS})
        took = time.monotonic() - started
        progress(f"snapshot {name}: {snap.size_bytes / 1e6:.0f} MB in {took:.1f} s")
        return snap

    async def _open_tabs(self, info: SandboxInfo) -> builtins.list[str]:
        """The URLs of the sandbox browser's pages; none when it has no browser."""
        try:
            response = await self._client_for_http().get(
                f"{info.url}/cdp/json/list", headers={"Authorization": f"Bearer {info.token}"}
            )
        except httpx.HTTPError:
            return []
        if response.status_code != 200:
            return []
        return [t["url"] for t in response.json() if t.get("type") == "page" and t.get("url")]

    async def list_snapshots(self) -> builtins.list[SnapshotInfo]:
        """This backend's snapshots (not the images of forks), oldest first."""
        with translated("list snapshots"):
            images = await blocking(snapshots.listed, self.client, self.labels)
            found = [await blocking(snapshots.info_of, self.client, image) for image in images]
        return sorted(found, key=lambda snap: snap.created)

    async def delete_snapshot(self, name: str) -> None:
        """Delete a snapshot and this backend's pooled sandboxes of it; a ConflictError
        names the sandboxes that still run from it."""
        with translated(f"delete snapshot {name}"):
            image = await blocking(snapshots.find, self.client, snapshot_name(name), self.labels)
            reference = snapshots.reference(name)
            for pooled in await blocking(self._pooled, reference):
                await blocking(remove, pooled)
            users = await blocking(self.client.containers.list, all=True, filters={"ancestor": image.id})
            await blocking(snapshots.remove, self.client, image, [c.name for c in users])
            self.pools.pop(reference, None)

    async def fork(self, sandbox_id: str, count: int) -> builtins.list[SandboxInfo]:
        """``count`` new sandboxes from the sandbox's filesystem as it is now, created as
        it was (screen, envs, limits, metadata) with the time it has left. Their image is
        removed with the last of them."""
        with translated(f"fork sandbox {sandbox_id}"):
            container = await blocking(self._get, sandbox_id)
            spec = await self._spec_of(container, await self._time_left(self._info_of(container)))
            name = f"fork-{container.name}-{secrets.token_hex(3)}"
            self._forking.add(name)
            try:
                await self._commit(container, name, ephemeral=True)
                forked = SandboxSpec(**{**spec_fields(spec), "snapshot": name})
                results = await asyncio.gather(
                    *(self._create(forked) for _ in range(count)), return_exceptions=True
                )
            finally:
                self._forking.discard(name)
            made = [r for r in results if isinstance(r, SandboxInfo)]
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                for info in made:
                    await blocking(self._remove_by_name, info.sandbox_id)
                await blocking(self._drop_unused_forks)
                raise failed[0]
            return made

    async def reset(self, sandbox_id: str) -> SandboxInfo:
        """Put the sandbox back as it was created (its base image or snapshot), under the
        same id, with the deadline it had: a sandbox of the same origin takes its name,
        from the warm pool when there is one (a rename), else started fresh, and the used
        one is removed. The URL and token are the new sandbox's (Docker cannot move a
        published port), so the SDK's object reconnects."""
        with translated(f"reset sandbox {sandbox_id}"):
            used = await blocking(self._get, sandbox_id)
            if used.status == "paused":
                await blocking(used.unpause)
            origin = (used.labels or {}).get(ORIGIN) or self.image
            left = await self._time_left(self._info_of(used))
            spec = await self._spec_of(used, left)
            retired = f"{sandbox_id}-reset-{secrets.token_hex(3)}"
            claimed = None
            if self.pools.get(origin):
                # From the pool: the used one steps aside and a pooled one is claimed straight
                # into its name (one rename each). The id is missing for that moment only.
                await blocking(used.rename, retired)
                try:
                    claimed = await self._claim(origin, spec, name=sandbox_id, later=False)
                except BaseException:
                    await blocking(used.rename, sandbox_id)
                    raise
                if claimed is None:
                    await blocking(used.rename, sandbox_id)
            if claimed is not None:
                info = claimed[0]
                await self._files.set_deadline(info, left)
            else:
                # Started fresh: the used one keeps its name until the new one is ready, frozen
                # meanwhile, since whatever it still runs would take CPU from the start.
                # Beside the start, not before it; only to spare the start its CPU, so a
                # freeze that fails leaves the used one running until its removal.
                frozen = asyncio.ensure_future(blocking(freeze, used))
                try:
                    started = await self._started(spec, origin, "reset")
                except BaseException:
                    await asyncio.wait([frozen])
                    if frozen.exception() is None:
                        await blocking(used.unpause)
                    raise
                await asyncio.wait([frozen])
                fresh = await blocking(self._get, started.sandbox_id)
                await blocking(used.rename, retired)
                try:
                    await blocking(fresh.rename, sandbox_id)
                except BaseException:
                    await blocking(used.rename, sandbox_id)
                    await blocking(remove, fresh)
                    raise
                info = replace(started, sandbox_id=sandbox_id)  # the deadline given at its start
            self._background(blocking(remove, used))
            if self.pools:
                self._background(self.fill_pool())
            return info

    async def _spec_of(self, container: Any, left: float) -> SandboxSpec:
        """What the sandbox was created with, with the time it has ``left`` as the timeout."""
        recorded = json.loads((container.labels or {}).get(SPEC) or "{}")
        origin = (container.labels or {}).get(ORIGIN) or self.image
        if origin not in self._image_env:
            base = await blocking(self.client.images.get, origin)
            self._image_env[origin] = dict(snapshots.env_pairs(base.attrs["Config"].get("Env") or []))
        base_env = self._image_env[origin]
        envs = {
            key: value
            for key, value in snapshots.env_pairs(container.attrs["Config"].get("Env") or [])
            if key not in ADDED_ENV and base_env.get(key) != value and value
        }
        return SandboxSpec(
            resolution=tuple(recorded.get("resolution") or (1280, 800)),
            timeout=left or 300.0,
            metadata=json.loads((container.labels or {}).get("deskbox.metadata") or "{}"),
            envs=envs,
            cpu=recorded.get("cpu"),
            memory_mb=recorded.get("memory_mb"),
        )

    async def _time_left(self, info: SandboxInfo) -> float:
        """Seconds until the sandbox's deadline; 0 for none."""
        text = await self._files.read(info, DEADLINE_FILE)
        if text.startswith(PAUSED):
            left = text.split()[-1]
            return 0.0 if left == "none" else float(left)
        return max(1.0, float(text) - time.time()) if text else 0.0

    def _drop_unused_forks(self) -> None:
        """Remove fork images that no container runs from any more."""
        import docker

        for image in snapshots.listed(self.client, self.labels, ephemeral=True):
            if snapshots.info_of(self.client, image).name in self._forking:
                continue
            if not self.client.containers.list(all=True, filters={"ancestor": image.id}):
                with contextlib.suppress(docker.errors.APIError):
                    self.client.images.remove(image.id)

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
        info = self._engine()
        backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem", "")
        if info.get("Driver") == "overlay2" and backing == "xfs":
            return {"size": self.disk_quota}
        return {}

    def _engine(self) -> dict[str, Any]:
        """The engine's info (cores, storage driver), read once: it costs a request."""
        if self._engine_info is None:
            self._engine_info = dict(self.client.info())
        return self._engine_info

    def _cores(self) -> int:
        return int(self._engine().get("NCPU") or 1)

    def _steady_cpus(self, spec: SandboxSpec) -> float:
        """Below the engine's core count, so a runaway sandbox never holds the whole host."""
        if spec.cpu is not None:
            return spec.cpu
        return max(0.5, min(MAX_DEFAULT_CPUS, self._cores() - 0.5))

    def _settle_cpu(self, container_id: str, spec: SandboxSpec) -> None:
        """The steady CPU limit, once the sandbox is up. It starts with every core: its
        start is a burst of about 5 CPU-seconds (desktop, browser, server), and under the
        steady limit the kernel throttles it for most of that burst."""
        quota = int(self._steady_cpus(spec) * CPU_PERIOD)
        self.client.api.update_container(container_id, cpu_quota=quota)

    def _run(self, spec: SandboxSpec, role: str | None, origin: str) -> tuple[SandboxInfo, str]:
        import docker

        self._ensure_network()
        token, port = secrets.token_urlsafe(24), free_port()
        width, height = spec.resolution
        name = f"deskbox-{role + '-' if role else ''}{secrets.token_hex(4)}"
        pooled = role == "pool"
        memory_mb = self.pooled_memory_mb if pooled else spec.memory_mb or DEFAULT_MEMORY_MB
        labels = {
            **dict.fromkeys(COMPOSE_LABELS, ""),
            **self.labels,
            LABEL: "1",
            ORIGIN: origin,
            SPEC: json.dumps(
                {"resolution": list(spec.resolution), "cpu": spec.cpu, "memory_mb": spec.memory_mb}
            ),
            "deskbox.metadata": json.dumps(spec.metadata),
            **({"deskbox.pool": self.pool_name} if pooled else {}),
        }
        try:
            container = self.client.containers.run(
                origin,
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
                    # Counted from when it is first ready; a pooled one gets its deadline
                    # when it is claimed.
                    **({} if pooled else {"DESKBOX_TIMEOUT": str(math.ceil(spec.timeout))}),
                },
                ports={"8000/tcp": ("127.0.0.1", port)},
                shm_size="1g",
                tmpfs={"/tmp": f"size={TMP_SIZE},mode=1777"},
                mem_limit=f"{memory_mb}m",
                memswap_limit=f"{memory_mb}m",
                cpu_period=CPU_PERIOD,
                cpu_quota=int(max(self._cores(), self._steady_cpus(spec)) * CPU_PERIOD),
                pids_limit=DEFAULT_PIDS,
                storage_opt=self._disk_quota() or None,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges:true"],
            )
        except docker.errors.APIError as exc:
            raise BackendError(f"cannot start a sandbox container: {exc}") from exc
        info = SandboxInfo(
            sandbox_id=container.name,
            url=f"http://127.0.0.1:{port}",
            token=token,
            backend=self.name,
            metadata=spec.metadata,
        )
        return info, container.id

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

    async def _claim(
        self, origin: str, spec: SandboxSpec, *, name: str | None = None, later: bool = True
    ) -> tuple[SandboxInfo, Any] | None:
        """A pooled sandbox of ``origin`` renamed to be the caller's (``name``, or a new
        one), with its memory limit raised to theirs; None when the pool is empty or
        cannot serve ``spec`` (pooled sandboxes have the default screen, no envs and the
        default CPU). With ``later``, the pool is refilled, and stopped leftovers swept,
        in the background; else that is the caller's to start once it has answered."""
        if not self.pools.get(origin) or spec.envs or spec.cpu is not None or spec.resolution != (1280, 800):
            return None
        waiting = await blocking(self._pooled, origin)
        # Oldest first: a refill may still be starting the newest ones.
        for container in sorted(waiting, key=lambda c: c.attrs.get("Created", "")):
            new_name = name or f"deskbox-{secrets.token_hex(4)}"
            try:
                await blocking(container.rename, new_name)
            except Exception:
                continue  # someone else claimed it first
            wanted = spec.memory_mb or DEFAULT_MEMORY_MB
            if wanted != self.pooled_memory_mb:
                memory = f"{wanted}m"
                await blocking(container.update, mem_limit=memory, memswap_limit=memory)
            # The listing already holds the port and token; only the name changed.
            pooled = self._info_of(container)
            info = SandboxInfo(new_name, pooled.url, pooled.token, self.name, spec.metadata)
            await wait_healthy(info.url, READY_TIMEOUT, client=self._client_for_http())
            if later:
                self._background(self.fill_pool())
                self._background(self.reap())
            return info, container
        return None

    def _pooled(self, origin: str) -> builtins.list[Any]:
        filters = {
            **self._filters(f"deskbox.pool={self.pool_name}", f"{ORIGIN}={origin}"),
            "name": ["deskbox-pool-"],
        }
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
            remove(self.client.containers.get(name))

    def _client_for_http(self) -> httpx.AsyncClient:
        if self._http is None:
            # One client for the backend's life (opening one costs more than the request),
            # but no idle connections: a later sandbox may get a dead one's port.
            self._http = httpx.AsyncClient(
                trust_env=False,
                timeout=10,
                limits=httpx.Limits(max_keepalive_connections=0),
                verify=tls_for("http://127.0.0.1"),  # its sandboxes are all on loopback
            )
        return self._http
