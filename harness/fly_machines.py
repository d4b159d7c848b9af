"""A local stand-in for Fly Machines: the slice of the Machines REST API that deskbox's fly
backend calls, and Fly's proxy in front of an app's machines.

No network reaches Fly from here, so the backend is tested against two HTTP servers on
127.0.0.1. The API server follows Fly's documented requests and answers: a machine is a
Docker container of the image named in its config (a tag in this machine's Docker, as
``deskbox fly push`` leaves it), with the config's command, environment, files and
metadata; ``wait`` waits for a state; stop, suspend (docker pause), start and destroy do
what they say. It refuses what Fly refuses: a missing or wrong token (``Bearer`` or
``FlyV1``), an unknown app, memory that is not a multiple of 256 MB, a CPU count or kind
Fly does not offer, files that are not base64, a running machine deleted without
``force``, and too many requests (about one a second per action and machine, bursts of
three: 429 with Retry-After).

The proxy is the app's hostname: it sends a request to the machine named by
``fly-force-instance-id``, or else to any started machine, and follows a
``fly-replay: instance=<id>`` answer to the machine it names, websockets included.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import secrets
import tarfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from deskbox._ports import free_port
from deskbox.backends.docker import COMPOSE_LABELS

CPUS = {"shared": (1, 2, 4, 8), "performance": (1, 2, 4, 8, 16)}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "content-length", "host"}
LIMITS = {"get": (5.0, 10), "list": (5.0, 10), "wait": (5.0, 10)}
"""Requests per second and burst, per action; every other action: 1/s, bursts of 3."""


@dataclass
class Machine:
    id: str
    app: str
    name: str
    region: str
    config: dict[str, Any]
    container: Any
    port: int
    state: str = "created"
    created_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "region": self.region,
            "instance_id": "01" + self.id.upper(),
            "private_ip": "fdaa::3",
            "config": self.config,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }


class _Bucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class FlyMachines:
    """Fly's API and proxy for the apps named, on this machine's Docker engine. ``labels``
    go on every machine's container; ``close()`` removes them all."""

    def __init__(
        self, apps: tuple[str, ...] = ("deskbox-tests",), labels: dict[str, str] | None = None
    ) -> None:
        import docker

        self.token = "FlyV1 fm2_" + secrets.token_urlsafe(32)
        self.apps = set(apps)
        self._docker = docker.from_env()
        self._labels = {**dict.fromkeys(COMPOSE_LABELS, ""), **(labels or {}), "deskbox.standin": "fly"}
        self.machines: dict[str, Machine] = {}
        self.replays = 0
        """Requests the proxy sent on to the machine a fly-replay named."""
        self.rate_limited = 0
        """Requests the API refused with 429."""
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._turn = 0
        self.api_url = f"http://127.0.0.1:{free_port()}"
        self.proxy_url = f"http://127.0.0.1:{free_port()}"
        self._servers: list[uvicorn.Server] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fly-standin", daemon=True)

    # ---- running ------------------------------------------------------------------------

    def __enter__(self) -> FlyMachines:
        self._thread.start()
        for app, url in ((self._api_app(), self.api_url), (self._proxy_app(), self.proxy_url)):
            port = int(url.rsplit(":", 1)[1])
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
            self._servers.append(server)
            asyncio.run_coroutine_threadsafe(server.serve(), self._loop)
        deadline = time.monotonic() + 10
        while not all(server.started for server in self._servers):
            if time.monotonic() > deadline:
                raise RuntimeError("the Fly stand-in did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        import docker

        for server in self._servers:
            server.should_exit = True
        for machine in list(self.machines.values()):
            with contextlib.suppress(docker.errors.APIError):
                machine.container.remove(force=True)
        time.sleep(0.2)  # the servers' loops see should_exit
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._docker.close()

    # ---- the Machines API ---------------------------------------------------------------

    def _api_app(self) -> Starlette:
        base = "/v1/apps/{app}/machines"
        return Starlette(
            routes=[
                Route(base, self._create, methods=["POST"]),
                Route(base, self._list, methods=["GET"]),
                Route(base + "/{id}", self._get, methods=["GET"]),
                Route(base + "/{id}", self._delete, methods=["DELETE"]),
                Route(base + "/{id}/wait", self._wait, methods=["GET"]),
                Route(base + "/{id}/{verb:str}", self._verb, methods=["POST"]),
                Route(base + "/{id}/metadata/{key}", self._metadata, methods=["POST"]),
            ]
        )

    def _refusal(self, request: Request, action: str) -> Response | None:
        """401 for a wrong token, 404 for an unknown app, 429 past the rate limit."""
        if request.headers.get("authorization") not in (
            self.token,
            "Bearer " + self.token.removeprefix("FlyV1 "),
        ):
            return _fail(401, "You must be authenticated to view this.")
        if request.path_params["app"] not in self.apps:
            return _fail(404, "app not found")
        rate, burst = LIMITS.get(action, (1.0, 3))
        bucket = self._buckets.setdefault((action, request.path_params.get("id", "")), _Bucket(rate, burst))
        if not bucket.take():
            self.rate_limited += 1
            return JSONResponse(
                {"error": "rate limit exceeded"}, status_code=429, headers={"Retry-After": "1"}
            )
        return None

    def _machine(self, request: Request) -> Machine | Response:
        machine = self.machines.get(request.path_params["id"])
        if machine is None or machine.app != request.path_params["app"]:
            return _fail(404, "machine not found")
        return machine

    async def _create(self, request: Request) -> Response:
        refused = self._refusal(request, "create")
        if refused is not None:
            return refused
        body = await request.json()
        config = body.get("config")
        problem = _check_config(config)
        if problem is not None:
            return _fail(422, problem)
        try:
            machine = await asyncio.to_thread(self._start, request.path_params["app"], body)
        except LookupError as exc:
            return _fail(422, str(exc))
        return JSONResponse(machine.public())

    def _start(self, app: str, body: dict[str, Any]) -> Machine:
        import docker

        config = body["config"]
        machine_id = secrets.token_hex(7)
        try:
            self._docker.images.get(config["image"])
        except docker.errors.ImageNotFound:
            raise LookupError(
                f"failed to get manifest {config['image']}: not found in the app's registry"
            ) from None
        environment = {
            **config.get("env", {}),
            "FLY_MACHINE_ID": machine_id,
            "FLY_APP_NAME": app,
            "FLY_REGION": body.get("region", "ams"),
        }
        ports = {
            f"{service['internal_port']}/tcp": ("127.0.0.1", None) for service in config.get("services", [])
        }
        guest = config.get("guest", {})
        container = self._docker.containers.create(
            config["image"],
            command=config.get("init", {}).get("cmd"),
            environment=environment,
            ports=ports,
            labels={**self._labels, "deskbox.standin.machine": machine_id},
            shm_size="1g",
            tmpfs={"/tmp": "size=1g,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            nano_cpus=int(guest.get("cpus", 1) * 1e9),
            mem_limit=f"{guest.get('memory_mb', 256)}m",
        )
        try:
            for file in config.get("files", []):
                _put_file(
                    container, file["guest_path"], base64.b64decode(file["raw_value"]), file.get("mode")
                )
            container.start()
            container.reload()
            port = int(container.ports["8000/tcp"][0]["HostPort"])
        except BaseException:
            container.remove(force=True)
            raise
        machine = Machine(
            machine_id,
            app,
            body.get("name") or machine_id,
            body.get("region", "ams"),
            config,
            container,
            port,
        )
        machine.state = "started"
        self.machines[machine_id] = machine
        return machine

    async def _list(self, request: Request) -> Response:
        refused = self._refusal(request, "list")
        if refused is not None:
            return refused
        wanted = {
            k.removeprefix("metadata."): v
            for k, v in request.query_params.items()
            if k.startswith("metadata.")
        }
        found = [
            machine.public()
            for machine in self.machines.values()
            if machine.app == request.path_params["app"]
            and machine.state != "destroyed"
            and all(machine.config.get("metadata", {}).get(k) == v for k, v in wanted.items())
        ]
        return JSONResponse(found)

    async def _get(self, request: Request) -> Response:
        refused = self._refusal(request, "get")
        if refused is not None:
            return refused
        machine = self._machine(request)
        return machine if isinstance(machine, Response) else JSONResponse(machine.public())

    async def _wait(self, request: Request) -> Response:
        refused = self._refusal(request, "wait")
        if refused is not None:
            return refused
        machine = self._machine(request)
        if isinstance(machine, Response):
            return machine
        state = request.query_params.get("state", "started")
        if state not in ("started", "stopped", "suspended", "destroyed"):
            return _fail(400, f"invalid state {state!r}")
        deadline = time.monotonic() + min(float(request.query_params.get("timeout", 60)), 60)
        while machine.state != state:
            if time.monotonic() > deadline:
                return _fail(408, f"timeout waiting for machine to be {state}")
            await asyncio.sleep(0.05)
        return JSONResponse({"ok": True})

    async def _verb(self, request: Request) -> Response:
        verb = request.path_params["verb"]
        if verb not in ("stop", "start", "suspend"):
            return _fail(404, "not found")
        refused = self._refusal(request, verb)
        if refused is not None:
            return refused
        machine = self._machine(request)
        if isinstance(machine, Response):
            return machine
        if verb == "suspend":
            if machine.state != "started":
                return _fail(412, f"machine is {machine.state}, not started")
            await asyncio.to_thread(machine.container.pause)
            machine.state = "suspended"
        elif verb == "start":
            if machine.state == "suspended":
                await asyncio.to_thread(machine.container.unpause)
            elif machine.state == "stopped":
                await asyncio.to_thread(machine.container.start)
            machine.state = "started"
        else:
            await asyncio.to_thread(machine.container.stop, timeout=10)
            machine.state = "stopped"
            if machine.config.get("auto_destroy"):
                await asyncio.to_thread(machine.container.remove, force=True)
                machine.state = "destroyed"
        return JSONResponse({"ok": True})

    async def _delete(self, request: Request) -> Response:
        refused = self._refusal(request, "delete")
        if refused is not None:
            return refused
        machine = self._machine(request)
        if isinstance(machine, Response):
            return machine
        if machine.state in ("started", "suspended") and request.query_params.get("force") != "true":
            return _fail(412, "machine still active, refusing to delete")
        if machine.state != "destroyed":
            await asyncio.to_thread(machine.container.remove, force=True)
        machine.state = "destroyed"
        return JSONResponse({"ok": True})

    async def _metadata(self, request: Request) -> Response:
        refused = self._refusal(request, "metadata")
        if refused is not None:
            return refused
        machine = self._machine(request)
        if isinstance(machine, Response):
            return machine
        value = (await request.json()).get("value")
        if not isinstance(value, str):
            return _fail(400, "value must be a string")
        machine.config.setdefault("metadata", {})[request.path_params["key"]] = value
        return Response(status_code=204)

    # ---- the proxy ----------------------------------------------------------------------

    def _proxy_app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return Starlette(
            routes=[
                Route("/{path:path}", self._forward, methods=methods),
                WebSocketRoute("/{path:path}", self._forward_socket),
            ]
        )

    def _pick(self, named: str | None) -> Machine | None:
        if named is not None:
            machine = self.machines.get(named)
            return machine if machine is not None and machine.state == "started" else None
        started = [m for m in self.machines.values() if m.state == "started"]
        if not started:
            return None
        self._turn += 1
        return started[self._turn % len(started)]

    async def _forward(self, request: Request) -> Response:
        machine = self._pick(request.headers.get("fly-force-instance-id"))
        if machine is None:
            return Response("no machine of this app can take the request", status_code=503)
        body = await request.body()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("host", request.headers.get("host", "")))
        client = httpx.AsyncClient(timeout=None, trust_env=False)
        for _ in range(2):  # the first machine, and the one a fly-replay names
            try:
                upstream = await client.send(
                    client.build_request(
                        request.method,
                        f"http://127.0.0.1:{machine.port}{request.url.path}",
                        params=request.query_params,
                        headers=headers,
                        content=body,
                    ),
                    stream=True,
                )
            except httpx.HTTPError as exc:  # nothing listens in the machine yet, or it ended
                await client.aclose()
                return Response(f"the machine did not answer: {exc}", status_code=502)
            replay = _replayed_to(upstream.headers.get("fly-replay"))
            if replay is None or replay == machine.id:
                break
            await upstream.aclose()
            self.replays += 1
            target = self._pick(replay)
            if target is None:
                await client.aclose()
                return Response(f"machine {replay} is not running", status_code=503)
            machine = target

        async def close() -> None:
            await upstream.aclose()
            await client.aclose()

        answer = StreamingResponse(
            upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(close)
        )
        # Every header as it came, repeated ones (two Set-Cookie) included.
        answer.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ]
        return answer

    async def _forward_socket(self, websocket: WebSocket) -> None:
        machine = self._pick(websocket.headers.get("fly-force-instance-id"))
        if machine is None:
            await websocket.close(code=1013)
            return
        path = websocket.url.path + (f"?{websocket.url.query}" if websocket.url.query else "")
        headers = [
            (k, v)
            for k, v in websocket.headers.items()
            if k.lower() not in HOP_BY_HOP and not k.lower().startswith("sec-websocket")
        ]
        protocols = websocket.scope.get("subprotocols") or None
        host = websocket.headers.get("host", "127.0.0.1")
        upstream = None
        for _ in range(2):
            try:
                # The client's own Host, as Fly's proxy keeps it; the connection goes to the machine.
                upstream = await connect(
                    f"ws://{host}{path}",
                    additional_headers=headers,
                    subprotocols=protocols,
                    host="127.0.0.1",
                    port=machine.port,
                    proxy=None,
                    max_size=None,
                )
                break
            except InvalidStatus as refused:
                replay = _replayed_to(refused.response.headers.get("fly-replay"))
                target = self._pick(replay) if replay is not None and replay != machine.id else None
                if target is None:
                    await websocket.close(code=1008)
                    return
                self.replays += 1
                machine = target
        if upstream is None:
            await websocket.close(code=1013)
            return
        await websocket.accept(subprotocol=upstream.subprotocol)
        async with upstream:
            await _pump(websocket, upstream)


async def _pump(websocket: WebSocket, upstream: Any) -> None:
    async def down() -> None:
        with contextlib.suppress(ConnectionClosed, WebSocketDisconnect, RuntimeError):
            async for message in upstream:
                if isinstance(message, bytes):
                    await websocket.send_bytes(message)
                else:
                    await websocket.send_text(message)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()

    async def up() -> None:
        with contextlib.suppress(WebSocketDisconnect, ConnectionClosed, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    await upstream.send(message["bytes"])
                elif message.get("text") is not None:
                    await upstream.send(message["text"])
        await upstream.close()

    await asyncio.gather(down(), up())


def _replayed_to(value: str | None) -> str | None:
    if not value:
        return None
    for part in value.split(";"):
        key, _, named = part.strip().partition("=")
        if key == "instance" and named:
            return named
    return None


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _check_config(config: Any) -> str | None:
    """What Fly refuses in a machine config, in its words where they are known."""
    if not isinstance(config, dict):
        return "config is required"
    if not isinstance(config.get("image"), str) or not config["image"]:
        return "config.image is required"
    guest = config.get("guest", {})
    kind = guest.get("cpu_kind", "shared")
    if kind not in CPUS:
        return f"invalid cpu_kind {kind!r}"
    if guest.get("cpus", 1) not in CPUS[kind]:
        return f"invalid number of CPUs {guest.get('cpus')} for {kind}"
    memory = guest.get("memory_mb", 256)
    if not isinstance(memory, int) or memory < 256 or memory % 256:
        return f"invalid memory size {memory}: a multiple of 256 MB"
    command = config.get("init", {}).get("cmd")
    if command is not None and not (isinstance(command, list) and all(isinstance(a, str) for a in command)):
        return "init.cmd must be a list of strings"
    for file in config.get("files", []):
        if not str(file.get("guest_path", "")).startswith("/"):
            return "files: guest_path must be an absolute path"
        try:
            base64.b64decode(file.get("raw_value", ""), validate=True)
        except (binascii.Error, ValueError):
            return "files: raw_value must be base64"
    for service in config.get("services", []):
        if not isinstance(service.get("internal_port"), int):
            return "services: internal_port is required"
    if not all(isinstance(v, str) for v in config.get("metadata", {}).values()):
        return "metadata values must be strings"
    return None


def _put_file(container: Any, path: str, content: bytes, mode: int | None) -> None:
    """A file Fly writes into the machine: root's, 0600 unless the config gives a mode."""
    folder, _, name = path.rpartition("/")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        entry = tarfile.TarInfo(name)
        entry.size = len(content)
        entry.mode = mode if mode is not None else 0o600
        entry.mtime = int(time.time())
        tar.addfile(entry, io.BytesIO(content))
    container.put_archive(folder or "/", archive.getvalue())
