"""A backend's own look into a sandbox, through the sandbox's server: its deadline and its
logs, for clouds whose platform offers neither as we need them.

The sandbox enforces its deadline itself (its keepalive ends it; see sandbox/keepalive),
from a file in its runtime folder that the supervisor writes from ``DESKBOX_TIMEOUT`` at
its first start. A backend moves that deadline by writing the file, and reads it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from .._tls import tls_for
from ..errors import BackendError
from ._base import SandboxInfo

RUNTIME_DIR = "/var/lib/deskbox"
"""The image's runtime folder (DESKBOX_RUNTIME_DIR): status, logs, the deadline."""
DEADLINE_FILE = f"{RUNTIME_DIR}/deadline"
PAUSED = "paused"
"""Written into the deadline file, with the seconds left, while the sandbox is paused
(the sandbox's deadline watcher, sandbox/runner.py, reads it as no deadline)."""


class SandboxFiles:
    """Small files of sandboxes, read and written through each one's server.

    ``client`` gives the backend's own HTTP client (kept and closed by the backend);
    without it, one is made on first use and closed by ``aclose``.
    """

    def __init__(self, client: Callable[[], httpx.AsyncClient] | None = None) -> None:
        self._given = client
        self._http: httpx.AsyncClient | None = None

    def _client(self, url: str) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given()
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=20, verify=tls_for(url))
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def request(self, info: SandboxInfo, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {**info.headers, "Authorization": f"Bearer {info.token}"}
        try:
            return await self._client(info.url).request(
                method, f"{info.url}{path}", headers=headers, **options
            )
        except httpx.HTTPError as exc:
            raise BackendError(f"cannot reach sandbox {info.sandbox_id}: {exc}") from exc

    async def read(self, info: SandboxInfo, path: str) -> str:
        """A small text file of the sandbox; empty when absent."""
        response = await self.request(info, "GET", "/files/read", params={"path": path})
        if response.status_code == 404:
            return ""
        if response.status_code != 200:
            raise BackendError(f"cannot read {path} in {info.sandbox_id}: {response.text[:200]}")
        return str(response.json()["content"]).strip()

    async def write(self, info: SandboxInfo, path: str, content: str) -> None:
        response = await self.request(info, "POST", "/files/write", json={"path": path, "content": content})
        if response.status_code != 200:
            raise BackendError(f"cannot write {path} in {info.sandbox_id}: {response.text[:200]}")

    async def set_deadline(self, info: SandboxInfo, timeout: float) -> float | None:
        """End the sandbox ``timeout`` seconds from now (0: never); the new deadline."""
        deadline = time.time() + timeout if timeout else None
        await self.write(info, DEADLINE_FILE, str(deadline) if deadline is not None else "")
        return deadline

    async def deadline(self, info: SandboxInfo) -> float | None:
        text = await self.read(info, DEADLINE_FILE)
        try:
            return float(text) if text else None
        except ValueError:
            return None

    async def freeze_deadline(self, info: SandboxInfo) -> str:
        """Stop the deadline's clock before a pause: the seconds left go into the file.
        Returns what the file held, to put back if the pause does not happen."""
        held = await self.read(info, DEADLINE_FILE)
        if not held.startswith(PAUSED):  # else a pause that did not finish froze it already
            left = "none" if not held else f"{max(0.0, float(held) - time.time()):.3f}"
            await self.write(info, DEADLINE_FILE, f"{PAUSED} {left}")
        return held

    async def thaw_deadline(self, info: SandboxInfo) -> bool:
        """After a resume: the deadline is the time left when paused, from now. False when
        the clock was not stopped (nothing to do)."""
        frozen = (await self.read(info, DEADLINE_FILE)).split()
        if not frozen or frozen[0] != PAUSED:
            return False
        await self.set_deadline(info, 0.0 if frozen[-1] == "none" else float(frozen[-1]))
        return True

    async def logs(self, info: SandboxInfo) -> str:
        """Every component's log (``<runtime>/<component>.log``), each under its name."""
        listed = await self.request(info, "GET", "/files", params={"path": RUNTIME_DIR})
        if listed.status_code != 200:
            raise BackendError(f"cannot list the logs of {info.sandbox_id}: {listed.text[:200]}")
        names = sorted(entry["name"] for entry in listed.json() if str(entry["name"]).endswith(".log"))
        parts = []
        for name in names:
            text = await self.read(info, f"{RUNTIME_DIR}/{name}")
            parts.append(f"==> {name} <==\n{text}\n")
        return "\n".join(parts)
