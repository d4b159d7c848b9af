"""Sandboxes as processes on this host: `deskbox desktop` on a free display, no Docker.

For Linux hosts with the desktop's Debian packages, and for tests. Each sandbox is one
process group; its URL, token and pid are kept in a private state folder so that other
processes (the CLI, a later script) can list, connect to and kill it. The deadline is
enforced inside the sandbox (it stops itself), and expired leftovers are reaped at every
create and list.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .._ports import free_port
from ..errors import BackendError, SandboxNotFoundError
from ._base import SandboxInfo, SandboxSpec
from ._health import wait_healthy

READY_TIMEOUT = 60.0


def _state_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or str(Path.home() / ".cache")
    folder = Path(base) / "deskbox" / "local"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child is dead for our purposes.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


class LocalBackend:
    name = "local"

    def __init__(self, state_dir: Path | None = None) -> None:
        self._state = state_dir or _state_dir()

    def _record_path(self, sandbox_id: str) -> Path:
        if not sandbox_id.replace("-", "").isalnum():
            raise SandboxNotFoundError(f"no local sandbox {sandbox_id!r}")
        return self._state / f"{sandbox_id}.json"

    def _read(self, sandbox_id: str) -> dict[str, object]:
        try:
            record: dict[str, object] = json.loads(self._record_path(sandbox_id).read_text())
        except FileNotFoundError:
            raise SandboxNotFoundError(f"no local sandbox {sandbox_id!r}") from None
        return record

    def _info(self, record: dict[str, object]) -> SandboxInfo:
        deadline = record.get("deadline")
        return SandboxInfo(
            sandbox_id=str(record["id"]),
            url=str(record["url"]),
            token=str(record["token"]),
            backend=self.name,
            metadata=dict(record.get("metadata") or {}),  # type: ignore[call-overload]
            deadline=float(deadline) if isinstance(deadline, int | float) else None,
        )

    async def create(self, spec: SandboxSpec) -> SandboxInfo:
        await self._reap()
        sandbox_id = f"local-{secrets.token_hex(4)}"
        token = secrets.token_urlsafe(24)
        port = free_port()
        runtime = self._state / sandbox_id
        runtime.mkdir(mode=0o700)
        deadline = time.time() + spec.timeout if spec.timeout else None
        (runtime / "deadline").write_text(str(deadline) if deadline else "")
        width, height = spec.resolution
        log = open(runtime / "sandbox.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "deskbox",
                    "desktop",
                    "--port",
                    str(port),
                    "--size",
                    f"{width}x{height}",
                    "--runtime-dir",
                    str(runtime),
                ],
                env={**os.environ, **spec.envs, "DESKBOX_TOKEN": token},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise BackendError(f"cannot start a local sandbox: {exc}") from exc
        finally:
            log.close()
        record = {
            "id": sandbox_id,
            "pid": proc.pid,
            "url": f"http://127.0.0.1:{port}",
            "token": token,
            "deadline": deadline,
            "metadata": spec.metadata,
            "runtime": str(runtime),
        }
        path = self._record_path(sandbox_id)
        path.write_text(json.dumps(record))
        path.chmod(0o600)
        info = self._info(record)

        async def gone() -> str | None:
            if proc.poll() is None:
                return None
            tail = (runtime / "sandbox.log").read_text(errors="replace").strip().splitlines()[-5:]
            return f"exited with code {proc.returncode}: " + " | ".join(tail)

        try:
            await wait_healthy(info.url, READY_TIMEOUT, gone=gone, token=info.token)
        except BaseException:
            await self.kill(sandbox_id)
            raise
        return info

    async def transport(self, info: SandboxInfo) -> httpx.AsyncBaseTransport | None:
        return None  # HTTP to the sandbox's own server

    async def aclose(self) -> None:
        """Nothing held between calls."""

    async def connect(self, sandbox_id: str) -> SandboxInfo:
        record = self._read(sandbox_id)
        if not _alive(int(record["pid"])):  # type: ignore[call-overload]
            self._forget(sandbox_id)
            raise SandboxNotFoundError(f"local sandbox {sandbox_id!r} has ended")
        return self._info(record)

    async def list(self) -> builtins.list[SandboxInfo]:
        await self._reap()
        return [self._info(json.loads(p.read_text())) for p in sorted(self._state.glob("*.json"))]

    async def kill(self, sandbox_id: str) -> None:
        record = self._read(sandbox_id)
        pid = int(record["pid"])  # type: ignore[call-overload]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        self._forget(sandbox_id)

    async def set_timeout(self, sandbox_id: str, timeout: float) -> None:
        record = self._read(sandbox_id)
        record["deadline"] = time.time() + timeout
        Path(str(record["runtime"]), "deadline").write_text(str(record["deadline"]))
        self._record_path(sandbox_id).write_text(json.dumps(record))

    async def logs(self, sandbox_id: str) -> str:
        record = self._read(sandbox_id)
        return Path(str(record["runtime"]), "sandbox.log").read_text(errors="replace")

    def _forget(self, sandbox_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._record_path(sandbox_id).unlink()

    async def _reap(self) -> None:
        """Forget sandboxes that ended, and end those past their deadline."""
        for path in self._state.glob("*.json"):
            with contextlib.suppress(ValueError, OSError, KeyError):
                record = json.loads(path.read_text())
                expired = record.get("deadline") and float(record["deadline"]) < time.time()
                if expired and _alive(int(record["pid"])):
                    await self.kill(str(record["id"]))
                elif not _alive(int(record["pid"])):
                    self._forget(str(record["id"]))
