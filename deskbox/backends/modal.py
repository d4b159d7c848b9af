"""``backend="modal"``: the deskbox image as a Modal Sandbox, reached through its tunnel.

Modal runs the image (built by Modal from ``images/desktop/Dockerfile``, or pulled from a
registry) with our keepalive as its command; port 8000 is an encrypted tunnel (TLS over
TCP, so the viewer's and DevTools' websockets pass), and a TCP probe says when it is
up. The token goes in as a Modal secret (an environment variable of the sandbox, never
in a URL), and rides in the sandbox's tags so that ``connect`` finds it again: only the
holders of the workspace's Modal token can read tags, and they can already do anything
to the sandbox.

Modal fixes a sandbox's lifetime when it is created (at most 24 hours). deskbox keeps
its own deadline inside the sandbox, as on Docker, so ``set_timeout`` moves it freely
within that lifetime (``max_lifetime``, 24 h by default) and refuses past it.

Snapshots are ``snapshot_filesystem``: the sandbox's files as a Modal image that a later
``create(snapshot=name)`` starts from. Memory is not kept (Modal's memory snapshots are
for Functions; its sandbox pause and memory snapshot are experimental calls deskbox does
not use); a sandbox from a snapshot starts its desktop afresh. Names are kept in a Modal
Dict (``deskbox-snapshots``).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import math
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from .._tls import tls_for
from ..errors import (
    AuthenticationError,
    BackendError,
    CapabilityError,
    InvalidActionError,
    NotFoundError,
    SandboxNotFoundError,
    TimeoutError,
)
from ._base import SandboxInfo, SandboxSpec, SnapshotInfo
from ._health import wait_healthy
from ._remote import SandboxFiles

PORT = 8000
LABEL = "deskbox"
COMMAND = ("deskbox-keepalive", "--no-browser-sandbox")
"""The image's own command: Modal runs the arguments it is given instead of the CMD."""
MAX_LIFETIME = 24 * 3600
"""The longest a Modal Sandbox may live (its ``timeout``)."""
READY_TIMEOUT = 300.0
"""A first start builds the image on Modal; later starts take seconds."""
SNAPSHOTS = "deskbox-snapshots"
DOCKERFILE = Path(__file__).resolve().parents[2] / "images" / "desktop" / "Dockerfile"


class ModalBackend:
    """Sandboxes on Modal. Credentials: ``MODAL_TOKEN_ID``/``MODAL_TOKEN_SECRET`` (or
    Modal's own config file), or ``token_id``/``token_secret``."""

    name = "modal"

    def __init__(
        self,
        *,
        app: str = "deskbox",
        image: str | None = None,
        dockerfile: str | Path | None = None,
        token_id: str | None = None,
        token_secret: str | None = None,
        region: str | None = None,
        idle_timeout: int | None = None,
        max_lifetime: int = MAX_LIFETIME,
        sdk: ModuleType | None = None,
    ) -> None:
        if not 60 <= max_lifetime <= MAX_LIFETIME:
            raise InvalidActionError.at(("max_lifetime",), f"Modal allows 60 to {MAX_LIFETIME} seconds")
        if (token_id is None) != (token_secret is None):
            raise InvalidActionError.at(("token_secret",), "give token_id and token_secret together")
        self._sdk = sdk or _import()
        self.app_name = app
        self.image_ref = image
        self.dockerfile = Path(dockerfile) if dockerfile is not None else None
        self.region = region
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self._credentials = (token_id, token_secret) if token_id is not None else None
        self._client: Any = None
        self._app: Any = None
        self._image: Any = None
        self._files = SandboxFiles()

    # ---- lifecycle ----------------------------------------------------------------------

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        token = secrets.token_urlsafe(24)
        deadline = time.time() + spec.timeout
        tags = {
            LABEL: "1",
            "deskbox_token": token,
            "deskbox_metadata": json.dumps(spec.metadata, separators=(",", ":")),
            "deskbox_deadline": f"{deadline:.0f}",
            # Modal's lifetime counts from about now: the bound set_timeout keeps within.
            "deskbox_started": f"{time.time():.0f}",
        }
        width, height = spec.resolution
        env = {
            **spec.envs,
            "DESKBOX_RESOLUTION": f"{width}x{height}",
            "DESKBOX_TIMEOUT": str(math.ceil(spec.timeout)),
        }
        image = await self._image_for(spec.snapshot)
        async with self._translated("create a sandbox"):
            sandbox = await self._sdk.Sandbox.create.aio(
                *COMMAND,
                app=await self._the_app(),
                image=image,
                secrets=[self._sdk.Secret.from_dict({"DESKBOX_TOKEN": token})],
                env=env,
                timeout=self.max_lifetime,
                idle_timeout=self.idle_timeout,
                cpu=spec.cpu,
                memory=spec.memory_mb,
                region=self.region,
                encrypted_ports=[PORT],
                readiness_probe=self._sdk.Probe.with_tcp(PORT),
                tags=tags,
                client=await self._the_client(),
            )
        try:
            async with self._translated(f"start sandbox {sandbox.object_id}", sandbox.object_id):
                await sandbox.wait_until_ready.aio(timeout=int(READY_TIMEOUT))
                url = await self._url(sandbox)
            info = self._info(sandbox.object_id, url, token, tags)
            await self._wait_serving(sandbox, info)
        except BaseException:
            with contextlib.suppress(Exception):
                await sandbox.terminate.aio()
            raise
        return info

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        sandbox = await self._running(sandbox_id)
        async with self._translated(f"connect to sandbox {sandbox_id}", sandbox_id):
            tags = await sandbox.get_tags.aio()
            if tags.get(LABEL) != "1" or not tags.get("deskbox_token"):
                raise SandboxNotFoundError(f"{sandbox_id} is a Modal sandbox, but not a deskbox one")
            return self._info(sandbox_id, await self._url(sandbox), tags["deskbox_token"], tags)

    async def list(self) -> builtins.list[SandboxInfo]:
        found: builtins.list[SandboxInfo] = []
        app = await self._the_app()
        async with self._translated("list sandboxes"):
            async for sandbox in self._sdk.Sandbox.list.aio(
                app_id=app.app_id, tags={LABEL: "1"}, client=await self._the_client()
            ):
                if await sandbox.poll.aio() is not None:
                    continue  # ended, still listed for a while
                tags = await sandbox.get_tags.aio()
                found.append(
                    self._info(sandbox.object_id, await self._url(sandbox), tags["deskbox_token"], tags)
                )
        return found

    async def kill(self, sandbox_id: str) -> None:
        sandbox = await self._running(sandbox_id)
        async with self._translated(f"kill sandbox {sandbox_id}", sandbox_id):
            await sandbox.terminate.aio()

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        """Move the deadline the sandbox keeps; Modal's own lifetime for it cannot move."""
        sandbox = await self._running(sandbox_id)
        async with self._translated(f"set the timeout of sandbox {sandbox_id}", sandbox_id):
            tags = await sandbox.get_tags.aio()
            url = await self._url(sandbox)
        if tags.get(LABEL) != "1":
            raise SandboxNotFoundError(f"{sandbox_id} is a Modal sandbox, but not a deskbox one")
        ends = float(tags.get("deskbox_started") or 0) + self.max_lifetime
        if timeout == 0 or time.time() + timeout > ends:
            raise CapabilityError(
                f"Modal ends sandbox {sandbox_id} {self.max_lifetime} s after it started "
                f"(ModalBackend(max_lifetime=), at most {MAX_LIFETIME}), {ends - time.time():.0f} s "
                "from now: it cannot live longer",
                capability="set_timeout",
            )
        info = self._info(sandbox_id, url, tags["deskbox_token"], tags)
        deadline = await self._files.set_deadline(info, timeout)
        async with self._translated(f"set the timeout of sandbox {sandbox_id}", sandbox_id):
            await sandbox.set_tags.aio({**tags, "deskbox_deadline": f"{deadline or 0:.0f}"})

    async def logs(self, sandbox_id: str) -> str:
        return await self._files.logs(await self.connect(sandbox_id))

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        return None  # HTTP and the action socket to the tunnel, as to any server of ours

    async def aclose(self) -> None:
        await self._files.aclose()

    # ---- snapshots: the sandbox's files as a Modal image ----------------------------------

    async def snapshot(self, sandbox_id: str, name: str | None) -> SnapshotInfo:
        sandbox = await self._running(sandbox_id)
        name = name or f"{sandbox_id.lower().replace('-', '')[:40]}-{int(time.time())}"
        store = await self._snapshots()
        async with self._translated(f"snapshot sandbox {sandbox_id}", sandbox_id):
            if await store.contains.aio(name):
                raise InvalidActionError.at(("name",), f"a snapshot named {name!r} exists")
            image = await sandbox.snapshot_filesystem.aio()
            record = {"image_id": image.object_id, "source": sandbox_id, "created": time.time()}
            await store.put.aio(name, record)
        return SnapshotInfo(name=name, source=sandbox_id, created=record["created"], backend=self.name)

    async def list_snapshots(self) -> builtins.list[SnapshotInfo]:
        store = await self._snapshots()
        found = []
        async with self._translated("list snapshots"):
            async for name, record in store.items.aio():
                found.append(
                    SnapshotInfo(
                        name=name, source=record["source"], created=record["created"], backend=self.name
                    )
                )
        return sorted(found, key=lambda snapshot: snapshot.created)

    async def delete_snapshot(self, name: str) -> None:
        store = await self._snapshots()
        async with self._translated(f"delete snapshot {name}"):
            if not await store.contains.aio(name):
                raise NotFoundError(f"no snapshot named {name!r}")
            await store.pop.aio(name)

    async def fork(self, sandbox_id: str, count: int) -> builtins.list[SandboxInfo]:
        info = await self.connect(sandbox_id)
        snapshot = await self.snapshot(sandbox_id, None)
        left = (info.deadline or time.time() + 300) - time.time()
        spec = SandboxSpec(timeout=max(60.0, left), metadata=info.metadata, snapshot=snapshot.name)
        try:
            return [await self.create(spec) for _ in range(count)]
        finally:
            with contextlib.suppress(NotFoundError):
                await self.delete_snapshot(snapshot.name)

    # ---- internals ----------------------------------------------------------------------

    async def _the_client(self) -> Any:
        if self._client is None and self._credentials is not None:
            token_id, token_secret = self._credentials
            async with self._translated("sign in to Modal"):
                self._client = await self._sdk.Client.from_credentials.aio(token_id, token_secret)
        return self._client

    async def _the_app(self) -> Any:
        if self._app is None:
            async with self._translated(f"find the Modal app {self.app_name!r}"):
                self._app = await self._sdk.App.lookup.aio(
                    self.app_name, create_if_missing=True, client=await self._the_client()
                )
        return self._app

    async def _image_for(self, snapshot: str | None) -> Any:
        if snapshot is not None:
            store = await self._snapshots()
            async with self._translated(f"find snapshot {snapshot}"):
                record = await store.get.aio(snapshot)
            if record is None:
                raise NotFoundError(f"no snapshot named {snapshot!r}")
            return self._sdk.Image.from_id(record["image_id"], client=await self._the_client())
        if self._image is None:
            if self.image_ref is not None:
                self._image = self._sdk.Image.from_registry(self.image_ref)
            else:
                dockerfile = self.dockerfile or DOCKERFILE
                if not dockerfile.is_file():
                    raise BackendError(
                        "the modal backend needs the deskbox image: pass image= (a registry reference "
                        "to the image pushed there) or dockerfile= (images/desktop/Dockerfile of a checkout)"
                    )
                context = dockerfile.resolve().parents[2]
                self._image = self._sdk.Image.from_dockerfile(dockerfile, context_dir=context)
        return self._image

    async def _snapshots(self) -> Any:
        return self._sdk.Dict.from_name(SNAPSHOTS, create_if_missing=True, client=await self._the_client())

    async def _running(self, sandbox_id: str) -> Any:
        async with self._translated(f"find sandbox {sandbox_id}", sandbox_id):
            sandbox = await self._sdk.Sandbox.from_id.aio(sandbox_id, client=await self._the_client())
            if await sandbox.poll.aio() is not None:
                raise SandboxNotFoundError(f"Modal sandbox {sandbox_id} has ended")
        return sandbox

    async def _url(self, sandbox: Any) -> str:
        tunnels = await sandbox.tunnels.aio()
        if PORT not in tunnels:
            raise BackendError(f"sandbox {sandbox.object_id} has no tunnel to port {PORT}")
        return str(tunnels[PORT].url).rstrip("/")

    def _info(self, sandbox_id: str, url: str, token: str, tags: dict[str, str]) -> SandboxInfo:
        deadline = float(tags.get("deskbox_deadline") or 0) or None
        try:
            metadata = json.loads(tags.get("deskbox_metadata") or "{}")
        except ValueError:
            metadata = {}
        return SandboxInfo(
            sandbox_id=sandbox_id,
            url=url,
            token=token,
            backend=self.name,
            metadata=metadata,
            deadline=deadline,
        )

    async def _wait_serving(self, sandbox: Any, info: SandboxInfo) -> None:
        async def ended() -> str | None:
            code = await sandbox.poll.aio()
            return None if code is None else f"it exited with status {code}"

        async with httpx.AsyncClient(timeout=5, trust_env=False, verify=tls_for(info.url)) as client:
            await wait_healthy(info.url, READY_TIMEOUT, client=client, gone=ended, token=info.token)

    @contextlib.asynccontextmanager
    async def _translated(self, doing: str, sandbox_id: str | None = None) -> AsyncIterator[None]:
        """Modal's exceptions as DeskboxErrors, the original kept as the cause."""
        exception = self._sdk.exception
        try:
            yield
        except exception.NotFoundError as exc:
            missing = SandboxNotFoundError if sandbox_id is not None else NotFoundError
            raise missing(f"cannot {doing}: Modal has no such object ({exc})") from exc
        except exception.AuthError as exc:
            raise AuthenticationError(
                f"cannot {doing}: Modal refused the credentials (set MODAL_TOKEN_ID and "
                f"MODAL_TOKEN_SECRET, or pass token_id= and token_secret=): {exc}"
            ) from exc
        except exception.TimeoutError as exc:
            raise TimeoutError(f"cannot {doing}: Modal timed out ({exc})") from exc
        except exception.InvalidError as exc:
            raise InvalidActionError(f"cannot {doing}: Modal refused it: {exc}") from exc
        except exception.Error as exc:
            raise BackendError(f"cannot {doing}: {exc}") from exc


def _import() -> ModuleType:
    try:
        return importlib.import_module("modal")
    except ImportError as exc:
        raise BackendError("the modal backend needs the modal package: pip install 'deskbox[modal]'") from exc


def credentials_in_environment() -> bool:
    """Whether Modal's credentials are set (the live tests run only then)."""
    return bool(os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"))
