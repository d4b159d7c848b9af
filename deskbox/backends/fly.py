"""``backend="fly"``: the deskbox image as Fly Machines, one machine per sandbox.

Fly has no maintained Python SDK; this speaks the Machines REST API over httpx. A sandbox
is a machine of one Fly app, started from the deskbox image in the app's registry
(``deskbox fly push`` puts it there) with our keepalive as its command. The token is
written into the machine as a file through the machine config's ``files`` (never in a URL
or an environment variable Fly shows), and rides in the machine's metadata so that
``connect`` finds it again: only holders of the app's Fly token can read it.

Every machine of the app answers at the app's hostname. The SDK reaches one machine among
them with Fly's ``fly-force-instance-id`` header, on every request and the action
socket's opening; a browser cannot send that header, so the viewer's link names the
machine and our server answers a request meant for another machine with
``fly-replay: instance=<id>`` (see ``server/instance_routing.py``), which Fly's proxy
follows.

The deadline lives inside the sandbox, as on Docker; pause is Fly's suspend (memory kept),
with the deadline's clock stopped while suspended. Fly's rate limits (about one request
per second per action and machine, bursts of three) are met with retries that honour
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import json
import math
import os
import secrets
import time
from typing import Any

import httpx

from .._tls import tls_for
from ..errors import (
    AuthenticationError,
    BackendError,
    InvalidActionError,
    SandboxNotFoundError,
    TimeoutError,
)
from ._base import SandboxInfo, SandboxSpec
from ._health import wait_healthy
from ._remote import DEADLINE_FILE, SandboxFiles

API_URL = "https://api.machines.dev"
PORT = 8000
LABEL = "deskbox"
TOKEN_FILE = "/var/lib/deskbox/token"
COMMAND = ("deskbox-keepalive", "--no-browser-sandbox")
INSTANCE_HEADER = "fly-force-instance-id"
READY_TIMEOUT = 180.0
RETRIES = 6
"""Tries of a request Fly answered 429 (too many) before giving up."""


def authorization(token: str) -> str:
    """Fly's tokens: macaroons ("FlyV1 fm2_...") go as they are, older ones as Bearer."""
    token = token.strip()
    return token if token.startswith("FlyV1 ") else f"Bearer {token}"


class FlyBackend:
    """Sandboxes on Fly Machines. ``FLY_API_TOKEN`` and ``FLY_APP`` (or ``token=``, ``app=``)."""

    name = "fly"

    def __init__(
        self,
        *,
        app: str | None = None,
        token: str | None = None,
        image: str | None = None,
        region: str | None = None,
        api_url: str = API_URL,
        public_url: str | None = None,
        cpus: int = 2,
        cpu_kind: str = "shared",
        memory_mb: int = 2048,
    ) -> None:
        self.app = app or os.environ.get("FLY_APP", "")
        if not self.app:
            raise InvalidActionError.at(("app",), "name the Fly app: pass app= or set FLY_APP")
        found = token or os.environ.get("FLY_API_TOKEN", "")
        if not found:
            raise AuthenticationError("the fly backend needs a token: set FLY_API_TOKEN or pass token=")
        if memory_mb % 256:
            raise InvalidActionError.at(("memory_mb",), "Fly gives memory in multiples of 256 MB")
        self._authorization = authorization(found)
        self.image = image or f"registry.fly.io/{self.app}:deskbox"
        self.region = region
        self.api_url = api_url.rstrip("/")
        self.public_url = (public_url or f"https://{self.app}.fly.dev").rstrip("/")
        self.cpus = cpus
        self.cpu_kind = cpu_kind
        self.memory_mb = memory_mb
        self._api: httpx.AsyncClient | None = None
        self._files = SandboxFiles()

    # ---- lifecycle ----------------------------------------------------------------------

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        token = secrets.token_urlsafe(24)
        width, height = spec.resolution
        memory = spec.memory_mb or self.memory_mb
        config = {
            "image": self.image,
            "guest": {
                "cpu_kind": self.cpu_kind,
                "cpus": math.ceil(spec.cpu) if spec.cpu is not None else self.cpus,
                "memory_mb": math.ceil(memory / 256) * 256,
            },
            "init": {"cmd": list(COMMAND)},
            "env": {
                **spec.envs,
                "DESKBOX_RESOLUTION": f"{width}x{height}",
                "DESKBOX_TIMEOUT": str(math.ceil(spec.timeout)),
                "DESKBOX_TOKEN_FILE": TOKEN_FILE,
            },
            # Readable by the sandbox's user, who runs the server (Fly writes files as root).
            "files": [
                {
                    "guest_path": TOKEN_FILE,
                    "raw_value": base64.b64encode(token.encode()).decode(),
                    "mode": 0o644,
                }
            ],
            "services": [
                {
                    "protocol": "tcp",
                    "internal_port": PORT,
                    "ports": [{"port": 443, "handlers": ["tls", "http"]}],
                    "autostop": "off",
                    "autostart": False,
                }
            ],
            "checks": {
                "deskbox": {
                    "type": "http",
                    "port": PORT,
                    "method": "GET",
                    "path": "/health",
                    "interval": "15s",
                    "timeout": "2s",
                    "grace_period": "60s",
                },
            },
            "auto_destroy": True,
            "restart": {"policy": "no"},
            "metadata": {
                LABEL: "1",
                "deskbox_token": token,
                "deskbox_metadata": json.dumps(spec.metadata, separators=(",", ":")),
                "deskbox_deadline": f"{time.time() + spec.timeout:.0f}",
            },
        }
        body: dict[str, Any] = {"config": config, "name": f"deskbox-{secrets.token_hex(5)}"}
        if self.region:
            body["region"] = self.region
        machine = await self._call("POST", self._path(), "create a machine", json=body)
        machine_id = str(machine["id"])
        try:
            await self._wait_state(machine_id, "started")
            info = self._info(machine)
            await self._wait_serving(info)
        except BaseException:
            await self._destroy(machine_id)
            raise
        return info

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        machine = await self._machine(sandbox_id)
        if machine.get("state") not in ("started", "starting", "suspended", "suspending"):
            raise SandboxNotFoundError(f"Fly machine {sandbox_id} is {machine.get('state')}, not running")
        return self._info(machine)

    async def list(self) -> builtins.list[SandboxInfo]:
        machines = await self._call("GET", self._path(), "list machines", params={f"metadata.{LABEL}": "1"})
        return [
            self._info(machine)
            for machine in machines
            if _metadata(machine).get(LABEL) == "1" and machine.get("state") in ("started", "suspended")
        ]

    async def kill(self, sandbox_id: str) -> None:
        await self._machine(sandbox_id)  # a missing one is SandboxNotFoundError
        await self._destroy(sandbox_id)

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        info = await self.connect(sandbox_id)
        deadline = await self._files.set_deadline(info, timeout)
        await self._set_metadata(sandbox_id, "deskbox_deadline", f"{deadline or 0:.0f}")

    async def logs(self, sandbox_id: str) -> str:
        return await self._files.logs(await self.connect(sandbox_id))

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        return None  # HTTP and the action socket to the app's hostname, with info.headers

    async def aclose(self) -> None:
        await self._files.aclose()
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    # ---- pause: Fly's suspend -----------------------------------------------------------

    async def pause(self, sandbox_id: str) -> None:
        """Suspend the machine (its memory kept); the deadline's clock stops with it."""
        info = await self.connect(sandbox_id)
        held = await self._files.freeze_deadline(info)
        try:
            await self._call(
                "POST", self._path(sandbox_id, "suspend"), f"suspend machine {sandbox_id}", sandbox_id
            )
        except BaseException:
            await self._files.write(info, DEADLINE_FILE, held)
            raise
        await self._wait_state(sandbox_id, "suspended")

    async def resume(self, sandbox_id: str) -> SandboxInfo:
        machine = await self._machine(sandbox_id)
        if machine.get("state") in ("suspended", "stopped"):
            await self._call(
                "POST", self._path(sandbox_id, "start"), f"start machine {sandbox_id}", sandbox_id
            )
            await self._wait_state(sandbox_id, "started")
        info = self._info(await self._machine(sandbox_id))
        await self._wait_serving(info)
        if await self._files.thaw_deadline(info):
            deadline = await self._files.deadline(info)
            await self._set_metadata(sandbox_id, "deskbox_deadline", f"{deadline or 0:.0f}")
        return self._info(await self._machine(sandbox_id))

    # ---- internals ----------------------------------------------------------------------

    def _path(self, machine_id: str | None = None, *rest: str) -> str:
        path = f"/v1/apps/{self.app}/machines"
        return "/".join([path, *([machine_id] if machine_id else []), *rest])

    def _client(self) -> httpx.AsyncClient:
        if self._api is None:
            self._api = httpx.AsyncClient(
                base_url=self.api_url,
                headers={"Authorization": self._authorization},
                timeout=httpx.Timeout(70.0, connect=10.0),
                trust_env=False,
                verify=tls_for(self.api_url),
            )
        return self._api

    async def _call(
        self, method: str, path: str, doing: str, sandbox_id: str | None = None, **options: Any
    ) -> Any:
        """One Machines API request, retried while Fly says too many; Fly's error as ours."""
        wait = 1.0
        for attempt in range(RETRIES):
            try:
                response = await self._client().request(method, path, **options)
            except httpx.HTTPError as exc:
                raise BackendError(f"cannot {doing}: the Machines API is unreachable ({exc})") from exc
            if response.status_code == 429 and attempt + 1 < RETRIES:
                await asyncio.sleep(_retry_after(response, wait))
                wait = min(wait * 2, 8.0)
                continue
            break
        if response.status_code < 300:
            return response.json() if response.content else None
        raise _error(response, doing, sandbox_id)

    async def _machine(self, machine_id: str) -> dict[str, Any]:
        machine: dict[str, Any] = await self._call(
            "GET", self._path(machine_id), f"find machine {machine_id}", machine_id
        )
        if _metadata(machine).get(LABEL) != "1":
            raise SandboxNotFoundError(f"{machine_id} is a Fly machine, but not a deskbox one")
        if machine.get("state") in ("destroyed", "destroying"):
            raise SandboxNotFoundError(f"Fly machine {machine_id} is {machine['state']}")
        return machine

    async def _wait_state(self, machine_id: str, state: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                await self._call(
                    "GET",
                    self._path(machine_id, "wait"),
                    f"wait for machine {machine_id} to be {state}",
                    machine_id,
                    params={"state": state, "timeout": 60},
                )
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    async def _set_metadata(self, machine_id: str, key: str, value: str) -> None:
        await self._call(
            "POST", self._path(machine_id, "metadata", key), f"label machine {machine_id}", machine_id,
            json={"value": value},
        )  # fmt: skip

    async def _destroy(self, machine_id: str) -> None:
        await self._call(
            "DELETE",
            self._path(machine_id),
            f"destroy machine {machine_id}",
            machine_id,
            params={"force": "true"},
        )

    def _info(self, machine: dict[str, Any]) -> SandboxInfo:
        metadata = _metadata(machine)
        try:
            theirs = json.loads(metadata.get("deskbox_metadata") or "{}")
        except ValueError:
            theirs = {}
        deadline = float(metadata.get("deskbox_deadline") or 0) or None
        state = "paused" if machine.get("state") in ("suspended", "suspending") else "running"
        return SandboxInfo(
            sandbox_id=str(machine["id"]),
            url=self.public_url,
            token=metadata.get("deskbox_token", ""),
            backend=self.name,
            metadata=theirs,
            deadline=deadline,
            state=state,
            headers={INSTANCE_HEADER: str(machine["id"])},
        )

    async def _wait_serving(self, info: SandboxInfo) -> None:
        async def ended() -> str | None:
            machine = await self._call(
                "GET", self._path(info.sandbox_id), f"find machine {info.sandbox_id}", info.sandbox_id
            )
            state = machine.get("state")
            return None if state in ("started", "starting") else f"the machine is {state}"

        async with httpx.AsyncClient(
            timeout=5, trust_env=False, verify=tls_for(info.url), headers=info.headers
        ) as client:
            await wait_healthy(info.url, READY_TIMEOUT, client=client, gone=ended, token=info.token)


def _metadata(machine: dict[str, Any]) -> dict[str, str]:
    config = machine.get("config") or {}
    return dict(config.get("metadata") or {})


def _retry_after(response: httpx.Response, fallback: float) -> float:
    try:
        return min(float(response.headers.get("retry-after", "")), 30.0)
    except ValueError:
        return fallback


def _error(response: httpx.Response, doing: str, sandbox_id: str | None) -> Exception:
    try:
        said = response.json().get("error") or response.text
    except ValueError:
        said = response.text
    message = f"cannot {doing}: Fly answered {response.status_code}: {str(said)[:300]}"
    status = response.status_code
    if status in (401, 403):
        return AuthenticationError(message + " (check FLY_API_TOKEN)")
    if status == 404:
        return SandboxNotFoundError(message) if sandbox_id is not None else BackendError(message)
    if status == 408:
        return TimeoutError(message)
    if status in (400, 422):
        return InvalidActionError(message)
    return BackendError(message)
