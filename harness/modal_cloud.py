"""A local stand-in for the slice of the ``modal`` package that deskbox's modal backend calls.

No network reaches Modal from here, so the backend is tested against this object, passed
as ``ModalBackend(sdk=ModalCloud(...))``. It does the real thing locally: a Sandbox is a
Docker container of the deskbox image, run with the arguments, environment and secrets it
is given; its encrypted tunnel is the container's port 8000 published on 127.0.0.1; its
``timeout`` kills it; ``snapshot_filesystem`` commits its files to an image that a later
sandbox starts from; a Dict is a dictionary that outlives the calls.

What it keeps from Modal: the calls' names, their ``.aio`` form and keyword arguments, the
credentials check (a client from ``Client.from_credentials``, or the MODAL_TOKEN_ID and
MODAL_TOKEN_SECRET variables), what Modal refuses (no app, a lifetime over 24 hours,
waiting for readiness without a probe, a tunnel to an undeclared port, unknown ids,
non-string tags), and Modal's own exception classes, imported from the real package, so
the backend's error translation is exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from secrets import token_hex
from typing import Any

import httpx
from modal import exception

from deskbox.backends.docker import COMPOSE_LABELS

IMAGE = "deskbox/desktop:latest"
"""What building images/desktop/Dockerfile gives (the compose file's tag)."""
DOCKERFILE = Path(__file__).resolve().parents[1] / "images" / "desktop" / "Dockerfile"
MAX_TIMEOUT = 24 * 3600
PORT_INSIDE = 8000


class _Call:
    """Modal's calling convention: ``thing.method.aio(...)`` is the coroutine."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.aio = function


@dataclass
class Tunnel:
    host: str
    port: int

    @property
    def url(self) -> str:
        # Modal's tunnels are TLS on 443; here, plain HTTP on loopback.
        return f"http://{self.host}:{self.port}"


@dataclass
class _Image:
    object_id: str
    tag: str


@dataclass
class _Client:
    token_id: str


@dataclass
class _App:
    app_id: str
    name: str


@dataclass
class _Secret:
    env: dict[str, str]


@dataclass
class _Probe:
    port: int


@dataclass
class _Record:
    object_id: str
    app_id: str
    container: Any
    tags: dict[str, str]
    ports: dict[int, int]
    probe: _Probe | None
    timer: threading.Timer
    exit_code: int | None = None
    killed: bool = False


class ModalCloud:
    """One Modal workspace, on this machine's Docker engine. ``labels`` go on every
    container and image it makes (a test run's), and ``close()`` removes them all."""

    TOKEN_ID = "ak-standin" + token_hex(6)
    TOKEN_SECRET = "as-standin" + token_hex(12)

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        import docker

        self.exception = exception
        self._docker = docker.from_env()
        # An image built by compose carries compose's labels; blanked as the docker backend
        # blanks them, so `docker compose down` in the checkout never takes these.
        self._labels = {**dict.fromkeys(COMPOSE_LABELS, ""), **(labels or {}), "deskbox.standin": "modal"}
        self._apps: dict[str, _App] = {}
        self._sandboxes: dict[str, _Record] = {}
        self._images: dict[str, _Image] = {}
        self._dicts: dict[str, dict[Any, Any]] = {}
        self._lock = threading.Lock()
        cloud = self

        class Client:
            from_credentials = _Call(cloud._from_credentials)

        class App:
            lookup = _Call(cloud._lookup)

        class Image:
            from_registry = staticmethod(cloud._from_registry)
            from_dockerfile = staticmethod(cloud._from_dockerfile)
            from_id = staticmethod(cloud._image_from_id)

        class Secret:
            @staticmethod
            def from_dict(env_dict: dict[str, str | None]) -> _Secret:
                return _Secret({k: v for k, v in env_dict.items() if v is not None})

        class Probe:
            @staticmethod
            def with_tcp(port: int, *, interval_ms: int = 100) -> _Probe:
                return _Probe(port)

        class Sandbox:
            create = _Call(cloud._create)
            from_id = _Call(cloud._from_id)
            list = _Call(cloud._list)

        class Dict:
            from_name = staticmethod(cloud._dict_from_name)

        self.Client, self.App, self.Image, self.Secret = Client, App, Image, Secret
        self.Probe, self.Sandbox, self.Dict = Probe, Sandbox, Dict

    # ---- credentials and apps -----------------------------------------------------------

    async def _from_credentials(self, token_id: str, token_secret: str) -> _Client:
        if (token_id, token_secret) != (self.TOKEN_ID, self.TOKEN_SECRET):
            raise exception.AuthError("Token ID or secret is invalid")
        return _Client(token_id)

    def _check(self, client: _Client | None) -> None:
        if client is not None:
            return
        if (os.environ.get("MODAL_TOKEN_ID"), os.environ.get("MODAL_TOKEN_SECRET")) != (
            self.TOKEN_ID,
            self.TOKEN_SECRET,
        ):
            raise exception.AuthError("Token missing. Could not authenticate client.")

    async def _lookup(
        self, name: str, *, client: _Client | None = None, create_if_missing: bool = False, **_: Any
    ) -> _App:
        self._check(client)
        if name not in self._apps:
            if not create_if_missing:
                raise exception.NotFoundError(f"App '{name}' not found")
            self._apps[name] = _App("ap-" + token_hex(8), name)
        return self._apps[name]

    # ---- images -------------------------------------------------------------------------

    def _from_registry(self, tag: str, secret: Any = None, **_: Any) -> _Image:
        return _Image("im-" + token_hex(8), tag)

    def _from_dockerfile(
        self, path: str | Path, *, context_dir: Path | str | None = None, **_: Any
    ) -> _Image:
        # Building it here would take minutes; the run has built this very Dockerfile.
        if Path(path).resolve() != DOCKERFILE:
            raise exception.InvalidError(f"the stand-in builds only the deskbox image, not {path}")
        if context_dir is None or not (Path(context_dir) / "deskbox").is_dir():
            raise exception.InvalidError("the Dockerfile's context must be the repository")
        return _Image("im-" + token_hex(8), IMAGE)

    def _image_from_id(self, image_id: str, client: _Client | None = None) -> _Image:
        image = self._images.get(image_id)
        if image is None:
            raise exception.NotFoundError(f"Image {image_id} not found")
        return image

    # ---- sandboxes ----------------------------------------------------------------------

    async def _create(
        self,
        *args: str,
        app: _App | None = None,
        image: _Image | None = None,
        secrets: list[_Secret] | None = None,
        env: dict[str, str] | None = None,
        timeout: int = 300,
        idle_timeout: int | None = None,
        cpu: float | None = None,
        memory: int | None = None,
        region: str | None = None,
        encrypted_ports: list[int] | None = None,
        readiness_probe: _Probe | None = None,
        tags: dict[str, str] | None = None,
        client: _Client | None = None,
        **unused: Any,
    ) -> SandboxHandle:
        self._check(client)
        if unused:
            raise TypeError(f"the stand-in does not take {sorted(unused)}")
        if app is None:
            raise exception.InvalidError("App has not been initialized: pass app=")
        if not 1 <= timeout <= MAX_TIMEOUT:
            raise exception.InvalidError(f"Timeout must be between 1 and {MAX_TIMEOUT} seconds")
        for key, value in (tags or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise exception.InvalidError("Sandbox tags must be strings")
        if image is None:
            raise exception.InvalidError("the stand-in needs an image")
        import docker

        environment = {k: v for secret in secrets or [] for k, v in secret.env.items()}
        environment.update(env or {})
        ports = list(encrypted_ports or [])
        try:
            container = self._docker.containers.run(
                image.tag,
                command=list(args) or None,
                environment=environment,
                detach=True,
                ports={f"{port}/tcp": ("127.0.0.1", None) for port in ports},
                labels=self._labels,
                shm_size="1g",
                tmpfs={"/tmp": "size=1g,mode=1777"},
                cap_drop=["ALL"],
                security_opt=["no-new-privileges:true"],
                nano_cpus=int(cpu * 1e9) if cpu else None,
                mem_limit=f"{memory}m" if memory else None,
            )
        except docker.errors.ImageNotFound as exc:
            raise exception.NotFoundError(f"Image {image.tag} not found") from exc
        try:
            container.reload()
            published = {port: int(container.ports[f"{port}/tcp"][0]["HostPort"]) for port in ports}
        except BaseException:
            container.remove(force=True)
            raise
        object_id = "sb-" + token_hex(10)
        timer = threading.Timer(timeout, self._expire, (object_id,))
        timer.daemon = True
        record = _Record(
            object_id, app.app_id, container, dict(tags or {}), published, readiness_probe, timer
        )
        with self._lock:
            self._sandboxes[object_id] = record
        timer.start()
        return SandboxHandle(self, record)

    async def _from_id(self, sandbox_id: str, client: _Client | None = None) -> SandboxHandle:
        self._check(client)
        record = self._sandboxes.get(sandbox_id)
        if record is None:
            raise exception.NotFoundError(f"Sandbox with id {sandbox_id} not found")
        return SandboxHandle(self, record)

    async def _list(
        self, *, app_id: str | None = None, tags: dict[str, str] | None = None, client: _Client | None = None
    ) -> AsyncIterator[SandboxHandle]:
        self._check(client)
        for record in list(self._sandboxes.values()):
            if app_id is not None and record.app_id != app_id:
                continue
            if any(record.tags.get(k) != v for k, v in (tags or {}).items()):
                continue
            if self._exit_code(record) is None:
                yield SandboxHandle(self, record)

    def _exit_code(self, record: _Record) -> int | None:
        if record.exit_code is not None:
            return record.exit_code
        import docker

        try:
            record.container.reload()
        except docker.errors.NotFound:
            record.exit_code = 137
            return record.exit_code
        if record.container.status in ("exited", "dead"):
            record.exit_code = int(record.container.attrs["State"]["ExitCode"])
        return record.exit_code

    def _expire(self, sandbox_id: str) -> None:
        record = self._sandboxes.get(sandbox_id)
        if record is not None:
            self._end(record)

    def _end(self, record: _Record) -> None:
        import docker

        record.timer.cancel()
        if record.killed:
            return
        record.killed = True
        with contextlib.suppress(docker.errors.APIError):
            record.container.remove(force=True)
        if record.exit_code is None:
            record.exit_code = 137

    # ---- dicts --------------------------------------------------------------------------

    def _dict_from_name(
        self, name: str, *, create_if_missing: bool = False, client: _Client | None = None, **_: Any
    ) -> DictHandle:
        self._check(client)
        if name not in self._dicts:
            if not create_if_missing:
                raise exception.NotFoundError(f"Dict '{name}' not found")
            self._dicts[name] = {}
        return DictHandle(self._dicts[name])

    # ---- the end of a test run ----------------------------------------------------------

    def close(self) -> None:
        """Remove every container and image this stand-in made."""
        import docker

        for record in list(self._sandboxes.values()):
            self._end(record)
        for image in self._images.values():
            with contextlib.suppress(docker.errors.APIError):
                self._docker.images.remove(image.tag, force=True)
        self._docker.close()


class SandboxHandle:
    def __init__(self, cloud: ModalCloud, record: _Record) -> None:
        self._cloud = cloud
        self._record = record
        self.object_id = record.object_id
        self.wait_until_ready = _Call(self._wait_until_ready)
        self.tunnels = _Call(self._tunnels)
        self.poll = _Call(self._poll)
        self.terminate = _Call(self._terminate)
        self.get_tags = _Call(self._get_tags)
        self.set_tags = _Call(self._set_tags)
        self.snapshot_filesystem = _Call(self._snapshot_filesystem)

    async def _wait_until_ready(self, *, timeout: int = 300) -> None:
        probe = self._record.probe
        if probe is None:
            raise exception.InvalidError("wait_until_ready needs a readiness_probe at creation")
        if probe.port not in self._record.ports:
            raise exception.InvalidError(f"the probe's port {probe.port} is not exposed")
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self._record.ports[probe.port]}/health"
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self._cloud._exit_code(self._record) is not None:
                    raise exception.SandboxTerminatedError("Sandbox terminated before it was ready")
                try:
                    await client.get(url)  # any answer: the port accepts connections
                    return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise exception.SandboxTimeoutError("Sandbox was not ready in time")

    async def _tunnels(self, timeout: int = 50) -> dict[int, Tunnel]:
        self._alive()
        return {inside: Tunnel("127.0.0.1", outside) for inside, outside in self._record.ports.items()}

    async def _poll(self) -> int | None:
        return self._cloud._exit_code(self._record)

    async def _terminate(self) -> None:
        self._cloud._end(self._record)

    async def _get_tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    async def _set_tags(self, tags: dict[str, str], *, client: _Client | None = None) -> None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise exception.InvalidError("Sandbox tags must be strings")
        self._record.tags = dict(tags)

    async def _snapshot_filesystem(self, timeout: int = 55) -> _Image:
        self._alive()
        object_id = "im-" + token_hex(8)
        tag = f"deskbox-modal-standin:{object_id}"
        self._record.container.commit(
            repository="deskbox-modal-standin",
            tag=object_id,
            changes=[f'LABEL {k}="{v}"' for k, v in self._cloud._labels.items()],
        )
        image = _Image(object_id, tag)
        self._cloud._images[object_id] = image
        return image

    def _alive(self) -> None:
        if self._cloud._exit_code(self._record) is not None:
            raise exception.SandboxTerminatedError(f"Sandbox {self.object_id} has terminated")


class DictHandle:
    def __init__(self, store: dict[Any, Any]) -> None:
        self._store = store
        self.put = _Call(self._put)
        self.get = _Call(self._get)
        self.pop = _Call(self._pop)
        self.contains = _Call(self._contains)
        self.items = _Call(self._items)

    async def _put(self, key: Any, value: Any, *, skip_if_exists: bool = False) -> bool:
        if skip_if_exists and key in self._store:
            return False
        self._store[key] = value
        return True

    async def _get(self, key: Any, default: Any = None) -> Any:
        return self._store.get(key, default)

    async def _pop(self, key: Any) -> Any:
        if key not in self._store:
            raise KeyError(key)
        return self._store.pop(key)

    async def _contains(self, key: Any) -> bool:
        return key in self._store

    async def _items(self) -> AsyncIterator[tuple[Any, Any]]:
        for item in list(self._store.items()):
            yield item
