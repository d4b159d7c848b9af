"""Sandboxes in E2B's cloud, from the deskbox template.

The template (``images/e2b/``, built with ``deskbox e2b build-template``) is the deskbox
image with our supervisor as its start command, so E2B snapshots a sandbox whose desktop
and control server are already running. That snapshot was taken before anyone knew the
sandbox's token: the server reads its token from ``TOKEN_FILE``, which this backend
writes through E2B's own (authenticated) file API right after creating the sandbox.
From then on the SDK talks to our server at the sandbox's public host for our port, the
same API, client and viewer route as with Docker, with our token on top of E2B's access.

The E2B SDK is reached through ``sdk`` (the ``e2b`` package by default), the only slice
of it used here being ``AsyncSandbox`` and its exceptions. Tests pass a local stand-in.
E2B's errors are translated into DeskboxError subclasses at this boundary.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import importlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any, Literal, TypeVar

import httpx

from .._tls import tls_for
from ..errors import AuthenticationError, BackendError, InvalidActionError, SandboxNotFoundError, TimeoutError
from ._base import SandboxInfo, SandboxSpec

T = TypeVar("T")

DEFAULT_TEMPLATE = "deskbox-desktop"
TEMPLATE_RESOLUTION = (1280, 800)
"""The screen size the template's snapshot was started with."""
PORT = 8000
TOKEN_FILE = "/home/user/.deskbox/token"
LABEL = "deskbox"
READY_TIMEOUT = 60.0


class E2BBackend:
    """``backend="e2b"``. Reads ``E2B_API_KEY`` from the environment unless given one."""

    name = "e2b"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        template: str = DEFAULT_TEMPLATE,
        mode: Literal["template", "stock"] = "template",
        sdk: ModuleType | None = None,
        desktop_sdk: ModuleType | None = None,
    ) -> None:
        if mode not in ("template", "stock"):
            raise InvalidActionError.at(("mode",), f"give 'template' or 'stock', not {mode!r}")
        self._sdk = sdk or _import("e2b")
        self._api_key = api_key or os.environ.get("E2B_API_KEY")
        if not self._api_key:
            raise AuthenticationError("the e2b backend needs an API key: set E2B_API_KEY or pass api_key=")
        self.template = template
        self.mode = mode
        self._desktop_sdk = desktop_sdk
        self._desktops: dict[str, Any] = {}

    # ---- stock mode: E2B's own desktop template, driven through e2b_desktop -------------

    def _stock_sdk(self) -> ModuleType:
        if self._desktop_sdk is None:
            self._desktop_sdk = _import("e2b_desktop")
        return self._desktop_sdk

    async def _stock_call(self, doing: str, sandbox_id: str | None, work: Callable[[], T]) -> T:
        async with self._translated(doing, sandbox_id):
            return await asyncio.to_thread(work)

    async def _stock_desktop(self, sandbox_id: str) -> Any:
        """The e2b_desktop sandbox object, connected once per backend."""
        desktop = self._desktops.get(sandbox_id)
        if desktop is None:
            sdk = self._stock_sdk()
            desktop = await self._stock_call(
                f"connect to sandbox {sandbox_id}",
                sandbox_id,
                lambda: sdk.Sandbox.connect(sandbox_id, api_key=self._api_key),
            )
            self._desktops[sandbox_id] = desktop
        return desktop

    async def _stock_create(self, spec: SandboxSpec) -> SandboxInfo:
        sdk = self._stock_sdk()
        metadata = {**spec.metadata, LABEL: "stock"}
        desktop = await self._stock_call(
            "create a stock desktop sandbox",
            None,
            lambda: sdk.Sandbox.create(
                resolution=tuple(spec.resolution),
                timeout=max(1, int(spec.timeout)),
                metadata=metadata,
                envs=dict(spec.envs),
                api_key=self._api_key,
            ),
        )
        self._desktops[desktop.sandbox_id] = desktop
        return _stock_info(desktop.sandbox_id, metadata, time.time() + spec.timeout)

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        """Template mode: HTTP to our server. Stock mode: the transport that answers our
        server's requests with e2b_desktop commands."""
        if self.mode == "template":
            return None
        from ..transports.e2b_stock import StockTransport

        return StockTransport(await self._stock_desktop(info.sandbox_id), self._sdk)

    async def aclose(self) -> None:
        self._desktops.clear()

    @property
    def _cls(self) -> Any:
        return self._sdk.AsyncSandbox

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        if self.mode == "stock":
            return await self._stock_create(spec)
        token = secrets.token_urlsafe(24)
        # The token rides in E2B's metadata so connect() can find it again; only holders
        # of the E2B key can read it, and they can already do anything to the sandbox.
        metadata = {**spec.metadata, LABEL: "1", "deskbox_token": token}
        async with self._translated("create a sandbox"):
            sandbox = await self._cls.create(
                template=self.template,
                timeout=max(1, int(spec.timeout)),
                metadata=metadata,
                envs=dict(spec.envs),
                api_key=self._api_key,
            )
        try:
            async with self._translated(f"set up sandbox {sandbox.sandbox_id}"):
                await sandbox.files.write(TOKEN_FILE, token)
                if tuple(spec.resolution) != TEMPLATE_RESOLUTION:
                    await self._restart_desktop(sandbox, spec.resolution)
            info = self._info(sandbox, token, metadata, spec.timeout)
            await _wait_ready(info)
        except BaseException:
            with contextlib.suppress(Exception):
                await sandbox.kill()
            raise
        return info

    async def _restart_desktop(self, sandbox: Any, resolution: tuple[int, int]) -> None:
        """The snapshot runs at the template's size; another size needs a fresh desktop."""
        width, height = resolution
        # "[d]eskbox" so the pattern does not match the shell running this very command.
        await sandbox.commands.run(
            "pkill -f '[d]eskbox sandbox'; "
            "for _ in $(seq 200); do pgrep -f '[d]eskbox sandbox' >/dev/null || exit 0; sleep 0.05; done; "
            "exit 1"
        )
        await sandbox.commands.run(
            f"deskbox sandbox --size {width}x{height} --no-browser-sandbox",
            background=True,
            envs={"DESKBOX_TOKEN_FILE": TOKEN_FILE, "DESKBOX_HOST": "0.0.0.0"},
            timeout=0,
        )

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        if self.mode == "stock":
            await self._stock_desktop(sandbox_id)
            return _stock_info(sandbox_id, {}, None)
        async with self._translated(f"connect to sandbox {sandbox_id}", sandbox_id):
            sandbox = await self._cls.connect(sandbox_id, api_key=self._api_key)
            details = await sandbox.get_info()
        metadata = dict(details.metadata or {})
        token = metadata.get("deskbox_token")
        if metadata.get(LABEL) != "1" or not token:
            raise SandboxNotFoundError(f"{sandbox_id} is an E2B sandbox, but not a deskbox one")
        return self._info(sandbox, token, metadata, None, getattr(details, "end_at", None))

    async def list(self) -> builtins.list[SandboxInfo]:
        if self.mode == "stock":
            return await self._stock_list()
        found: builtins.list[SandboxInfo] = []
        async with self._translated("list sandboxes"):
            query = self._sdk.SandboxQuery(metadata={LABEL: "1"})
            paginator = self._cls.list(query=query, api_key=self._api_key)
            async for details in _pages(paginator):
                metadata = dict(details.metadata or {})
                token = metadata.get("deskbox_token", "")
                host = self._host(details.sandbox_id, getattr(details, "sandbox_domain", None))
                url = f"{_scheme(host)}://{host}"
                found.append(
                    SandboxInfo(
                        sandbox_id=details.sandbox_id,
                        url=url,
                        token=token,
                        backend=self.name,
                        metadata=_public(metadata),
                        deadline=_timestamp(getattr(details, "end_at", None)),
                    )
                )
        return found

    async def kill(self, sandbox_id: str) -> None:
        if self.mode == "stock":
            desktop = await self._stock_desktop(sandbox_id)
            self._desktops.pop(sandbox_id, None)
            killed = await self._stock_call(f"kill sandbox {sandbox_id}", sandbox_id, desktop.kill)
            if killed is False:
                raise SandboxNotFoundError(f"no E2B sandbox {sandbox_id!r}")
            return
        async with self._translated(f"kill sandbox {sandbox_id}", sandbox_id):
            killed = await self._cls.kill(sandbox_id, api_key=self._api_key)
        if killed is False:
            raise SandboxNotFoundError(f"no E2B sandbox {sandbox_id!r}")

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        if self.mode == "stock":
            desktop = await self._stock_desktop(sandbox_id)
            seconds = max(1, int(timeout))
            await self._stock_call(
                f"set the timeout of sandbox {sandbox_id}", sandbox_id, lambda: desktop.set_timeout(seconds)
            )
            return
        async with self._translated(f"set the timeout of sandbox {sandbox_id}", sandbox_id):
            await self._cls.set_timeout(sandbox_id, max(1, int(timeout)), api_key=self._api_key)

    async def pause(self, sandbox_id: str) -> None:
        """Freeze the sandbox (memory and disk kept, no charge for CPU); connect() resumes it."""
        self._refuse_in_stock("pause")
        async with self._translated(f"pause sandbox {sandbox_id}", sandbox_id):
            await self._cls.pause(sandbox_id, api_key=self._api_key)

    async def resume(self, sandbox_id: str) -> SandboxInfo:
        self._refuse_in_stock("resume")
        return await self.connect(sandbox_id)

    async def logs(self, sandbox_id: str) -> str:
        self._refuse_in_stock("logs (the stock template runs no deskbox server)")
        async with self._translated(f"read the logs of sandbox {sandbox_id}", sandbox_id):
            sandbox = await self._cls.connect(sandbox_id, api_key=self._api_key)
            result = await sandbox.commands.run(
                'cat "${DESKBOX_RUNTIME_DIR:-/var/lib/deskbox}"/*.log 2>/dev/null || true'
            )
        return str(result.stdout)

    # ---- helpers ------------------------------------------------------------------------

    def _refuse_in_stock(self, what: str) -> None:
        if self.mode == "stock":
            from ..transports.e2b_stock import refuse

            raise refuse(what)

    async def _stock_list(self) -> builtins.list[SandboxInfo]:
        sdk = self._stock_sdk()
        query = self._sdk.SandboxQuery(metadata={LABEL: "stock"})

        def listing() -> builtins.list[Any]:
            paginator = sdk.Sandbox.list(query=query, api_key=self._api_key)
            items: builtins.list[Any] = []
            while paginator.has_next:
                items += paginator.next_items()
            return items

        found = await self._stock_call("list sandboxes", None, listing)
        return [
            _stock_info(d.sandbox_id, dict(d.metadata or {}), _timestamp(getattr(d, "end_at", None)))
            for d in found
        ]

    def _host(self, sandbox_id: str, domain: str | None) -> str:
        config = self._sdk.ConnectionConfig(api_key=self._api_key)
        return str(config.get_host(sandbox_id, domain or config.domain, PORT))

    def _info(
        self, sandbox: Any, token: str, metadata: dict[str, str], timeout: float | None, end_at: Any = None
    ) -> SandboxInfo:
        host = sandbox.get_host(PORT)
        deadline = time.time() + timeout if timeout is not None else _timestamp(end_at)
        return SandboxInfo(
            sandbox_id=sandbox.sandbox_id,
            url=f"{_scheme(host)}://{host}",
            token=token,
            backend=self.name,
            metadata=_public(metadata),
            deadline=deadline,
        )

    @contextlib.asynccontextmanager
    async def _translated(self, doing: str, sandbox_id: str | None = None) -> AsyncIterator[None]:
        """E2B's exceptions, as DeskboxErrors with the original kept as the cause."""
        exceptions = self._sdk.exceptions
        try:
            yield
        except exceptions.NotFoundException as exc:
            raise SandboxNotFoundError(f"cannot {doing}: no such E2B sandbox ({exc})") from exc
        except exceptions.AuthenticationException as exc:
            raise AuthenticationError(f"cannot {doing}: E2B refused the API key ({exc})") from exc
        except exceptions.TimeoutException as exc:
            raise TimeoutError(f"cannot {doing}: E2B timed out ({exc})") from exc
        except exceptions.SandboxException as exc:
            raise BackendError(f"cannot {doing}: {exc}") from exc


def _stock_info(sandbox_id: str, metadata: dict[str, str], deadline: float | None) -> SandboxInfo:
    # No server, no URL: requests go through the stock transport, which needs no token.
    return SandboxInfo(
        sandbox_id=sandbox_id,
        url=f"http://{sandbox_id}.e2b-stock.invalid",
        token="",
        backend="e2b",
        metadata=_public(metadata),
        deadline=deadline,
    )


def _import(package: str) -> ModuleType:
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise BackendError(
            f"the e2b backend needs the {package} package: pip install 'deskbox[e2b]'"
        ) from exc


def _scheme(host: str) -> str:
    return "http" if host.startswith(("127.0.0.1", "localhost")) else "https"


def _public(metadata: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metadata.items() if k not in (LABEL, "deskbox_token")}


def _timestamp(moment: Any) -> float | None:
    if moment is None:
        return None
    return float(moment.timestamp()) if hasattr(moment, "timestamp") else float(moment)


async def _pages(paginator: Any) -> AsyncIterator[Any]:
    while paginator.has_next:
        for item in await paginator.next_items():
            yield item


async def _wait_ready(info: SandboxInfo) -> None:
    """Until the server answers with the new token: /health alone would pass before the
    token file has been read."""
    deadline = time.monotonic() + READY_TIMEOUT
    headers = {"Authorization": f"Bearer {info.token}"}
    opened = httpx.AsyncClient(timeout=5, trust_env=False, headers=headers, verify=tls_for(info.url))
    async with opened as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{info.url}/screen")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the E2B sandbox at {info.url} was not ready after {READY_TIMEOUT:.0f} s")
