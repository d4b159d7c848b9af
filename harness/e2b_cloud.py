"""A local stand-in for the slice of the ``e2b`` SDK that deskbox's e2b backend calls.

No network reaches E2B from here, so the backend is tested against this module, passed
as ``E2BBackend(sdk=e2b_cloud)``. It does the real thing locally rather than faking
answers: ``AsyncSandbox.create`` starts a real sandbox (``deskbox desktop`` on a free
display, the way the deskbox template's snapshot runs ``deskbox sandbox``, with the
token read from a file that does not exist yet), ``files.write`` writes a real file
under the sandbox's own root, ``commands.run`` runs the command, ``pause`` stops the
sandbox's processes and ``connect`` resumes them, and a timeout kills it.

What it keeps from E2B: the method names and signatures used, the key check, the
metadata query, the paginator, ``get_host`` for a port, and E2B's own exception classes
(imported from the real package), so the backend's error translation is exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from e2b import CommandExitException, SandboxQuery, exceptions

from deskbox.backends import SandboxSpec
from deskbox.backends.e2b import DEFAULT_TEMPLATE, PORT, TEMPLATE_RESOLUTION, TOKEN_FILE
from deskbox.backends.local import LocalBackend

API_KEY = "e2b_standin_" + secrets.token_hex(8)
TEMPLATES = {DEFAULT_TEMPLATE}

__all__ = [
    "API_KEY",
    "AsyncSandbox",
    "CommandExitException",
    "ConnectionConfig",
    "SandboxQuery",
    "exceptions",
]


@dataclass
class _Record:
    sandbox_id: str
    local_id: str
    port: int
    root: Path
    metadata: dict[str, str]
    end_at: datetime
    paused: bool = False
    sandbox_domain: str | None = None
    envs: dict[str, str] = field(default_factory=dict)


_SANDBOXES: dict[str, _Record] = {}
_LOCAL = LocalBackend()


def _check_key(api_key: str | None) -> None:
    if api_key != API_KEY:
        raise exceptions.AuthenticationException("Invalid API key")


def _get(sandbox_id: str) -> _Record:
    record = _SANDBOXES.get(sandbox_id)
    if record is None:
        raise exceptions.SandboxNotFoundException(f"Sandbox {sandbox_id} not found")
    return record


@dataclass
class CommandResult:
    stdout: str
    stderr: str
    exit_code: int


class _Commands:
    def __init__(self, record: _Record) -> None:
        self._record = record

    async def run(self, cmd: str, envs: dict[str, str] | None = None, timeout: float = 60) -> CommandResult:
        process = await asyncio.create_subprocess_shell(
            cmd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self._record.envs, **(envs or {})},
            cwd=self._record.root,
            start_new_session=True,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        result = CommandResult(
            out.decode(errors="replace"), err.decode(errors="replace"), process.returncode or 0
        )
        if result.exit_code != 0:  # E2B raises for a non-zero exit, as here
            raise exceptions.SandboxException(f"command exited with {result.exit_code}: {result.stderr}")
        return result


class _Files:
    """The sandbox's filesystem: absolute paths live under the sandbox's own root."""

    def __init__(self, record: _Record) -> None:
        self._record = record

    def _path(self, path: str) -> Path:
        return self._record.root / path.lstrip("/")

    async def write(self, path: str, data: str | bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)

    async def read(self, path: str) -> str:
        try:
            return self._path(path).read_text()
        except FileNotFoundError as exc:
            raise exceptions.FileNotFoundException(f"{path} not found") from exc


@dataclass
class SandboxInfo:
    sandbox_id: str
    metadata: dict[str, str]
    end_at: datetime
    sandbox_domain: str | None = None


class AsyncSandbox:
    def __init__(self, record: _Record) -> None:
        self._record = record
        self.sandbox_id = record.sandbox_id
        self.files = _Files(record)
        self.commands = _Commands(record)

    @classmethod
    async def create(
        cls,
        template: str | None = None,
        timeout: int | None = None,
        metadata: dict[str, str] | None = None,
        envs: dict[str, str] | None = None,
        api_key: str | None = None,
    ) -> AsyncSandbox:
        _check_key(api_key)
        if template not in TEMPLATES:
            raise exceptions.TemplateException(f"template {template!r} not found")
        root = Path(tempfile.mkdtemp(prefix="e2b-standin-"))
        seconds = timeout or 300
        # The template's snapshot: the whole sandbox already running, token from a file.
        spec = SandboxSpec(
            resolution=TEMPLATE_RESOLUTION,
            timeout=seconds,
            envs={**(envs or {}), "DESKBOX_TOKEN_FILE": str(root / TOKEN_FILE.lstrip("/"))},
        )
        info = await _LOCAL.create(spec)
        record = _Record(
            sandbox_id="i" + secrets.token_hex(9),
            local_id=info.sandbox_id,
            port=int(info.url.rsplit(":", 1)[1]),
            root=root,
            metadata=dict(metadata or {}),
            end_at=datetime.now(UTC) + timedelta(seconds=seconds),
            envs=dict(envs or {}),
        )
        _SANDBOXES[record.sandbox_id] = record
        return cls(record)

    def get_host(self, port: int) -> str:
        return ConnectionConfig(API_KEY).get_host(self.sandbox_id, None, port)

    async def get_info(self) -> SandboxInfo:
        record = _get(self.sandbox_id)
        return SandboxInfo(record.sandbox_id, dict(record.metadata), record.end_at)

    @classmethod
    async def connect(cls, sandbox_id: str, api_key: str | None = None) -> AsyncSandbox:
        _check_key(api_key)
        record = _get(sandbox_id)
        if record.paused:
            _signal(record, signal.SIGCONT)
            record.paused = False
        return cls(record)

    @staticmethod
    async def kill(sandbox_id: str, api_key: str | None = None) -> bool:
        _check_key(api_key)
        record = _SANDBOXES.pop(sandbox_id, None)
        if record is None:
            return False
        if record.paused:
            _signal(record, signal.SIGCONT)
        with contextlib.suppress(Exception):
            await _LOCAL.kill(record.local_id)
        shutil.rmtree(record.root, ignore_errors=True)
        return True

    @staticmethod
    async def set_timeout(sandbox_id: str, timeout: int, api_key: str | None = None) -> None:
        _check_key(api_key)
        record = _get(sandbox_id)
        record.end_at = datetime.now(UTC) + timedelta(seconds=timeout)
        await _LOCAL.set_timeout(record.local_id, timeout)

    @staticmethod
    async def pause(sandbox_id: str, api_key: str | None = None) -> bool:
        _check_key(api_key)
        record = _get(sandbox_id)
        if record.paused:
            return False
        _signal(record, signal.SIGSTOP)
        record.paused = True
        return True

    @staticmethod
    def list(query: SandboxQuery | None = None, api_key: str | None = None) -> _Paginator:
        _check_key(api_key)
        wanted = dict(query.metadata or {}) if query is not None else {}
        matches = [
            SandboxInfo(r.sandbox_id, dict(r.metadata), r.end_at)
            for r in _SANDBOXES.values()
            if all(r.metadata.get(k) == v for k, v in wanted.items())
        ]
        return _Paginator(matches)


class _Paginator:
    def __init__(self, items: list[SandboxInfo]) -> None:
        self._items = items
        self.has_next = True

    async def next_items(self) -> list[SandboxInfo]:
        self.has_next = False
        return self._items


class ConnectionConfig:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.domain = "standin.local"

    def get_host(self, sandbox_id: str, sandbox_domain: str | None, port: int) -> str:
        record = _get(sandbox_id)
        if port != PORT:
            raise exceptions.InvalidArgumentException(f"nothing listens on port {port} in the stand-in")
        return f"127.0.0.1:{record.port}"


def _signal(record: _Record, signum: int) -> None:
    """Signal every process of the sandbox: the supervisor and the whole tree under it
    (its parts run in process groups of their own)."""
    root = int(_LOCAL._read(record.local_id)["pid"])  # type: ignore[call-overload]
    for pid in _tree(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += _tree(int(child))
    return found


def forget_all() -> list[Any]:
    """The ids of sandboxes still registered (a test fixture checks none leak)."""
    return list(_SANDBOXES)
