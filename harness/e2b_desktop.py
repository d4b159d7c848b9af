"""A local stand-in for ``e2b_desktop``: the real ``e2b_desktop.Sandbox`` on a local desktop.

Stock mode maps deskbox's methods onto ``e2b_desktop.Sandbox``, whose every method is a
shell command (xdotool, scrot, xrandr) sent through ``commands.run`` plus file reads.
This stand-in keeps that real class and its real methods, and replaces only the two
things that would cross the network: ``commands`` runs each command here, on a real
Xvfb with a window manager and Chromium, and ``files`` reads and writes real files.
So a click in these tests runs E2B's own ``xdotool`` command line on a real display.

Every command is recorded in ``Sandbox.ran`` so tests can check what was sent.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import e2b_desktop
from e2b import exceptions
from e2b.sandbox.commands.command_handle import CommandExitException

from deskbox._ports import free_port
from harness import e2b_cloud
from harness.desktop_session import DesktopSession

CHROMIUM_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-sandbox",
    "--test-type",
    "--disable-gpu",
    "--password-store=basic",
    "--window-position=0,0",
    "--start-maximized",
]


@dataclass
class _Result:
    stdout: str
    stderr: str
    exit_code: int
    error: str | None = None


class _Commands:
    def __init__(self, owner: Sandbox) -> None:
        self._owner = owner

    def run(
        self,
        cmd: str,
        background: bool | None = None,
        envs: dict[str, str] | None = None,
        user: str | None = None,
        cwd: str | None = None,
        on_stdout: Any = None,
        on_stderr: Any = None,
        timeout: float | None = 60,
        **_: Any,
    ) -> Any:
        self._owner.ran.append(cmd)
        env = {**os.environ, "DISPLAY": self._owner.session.display, **(envs or {})}
        if background:
            subprocess.Popen(
                cmd,
                shell=True,
                env=env,
                cwd=cwd,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            return _Handle()
        try:
            done = subprocess.run(
                cmd, shell=True, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout or None
            )
        except subprocess.TimeoutExpired as exc:  # E2B ends the command and says so
            raise exceptions.TimeoutException(f"command timed out after {timeout} s") from exc
        for callback, text in ((on_stdout, done.stdout), (on_stderr, done.stderr)):
            if callback is not None and text:
                callback(text)
        if done.returncode != 0:  # E2B raises for a non-zero exit
            raise CommandExitException(
                stderr=done.stderr, stdout=done.stdout, exit_code=done.returncode, error=done.stderr
            )
        return _Result(done.stdout, done.stderr, 0)


class _Handle:
    def disconnect(self) -> None:
        pass


@dataclass
class _Entry:
    name: str
    path: str
    type: str
    size: int
    mode: int
    modified_time: datetime


class _Files:
    def read(self, path: str, format: str = "text") -> Any:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError as exc:
            raise exceptions.FileNotFoundException(f"{path} not found") from exc
        return bytearray(data) if format == "bytes" else data.decode()

    def write(self, path: str, data: str | bytes) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data.encode() if isinstance(data, str) else data)

    def remove(self, path: str) -> None:
        target = Path(path)
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def get_info(self, path: str) -> _Entry:
        target = Path(path)
        if not target.exists():
            raise exceptions.FileNotFoundException(f"{path} not found")
        stat = target.stat()
        kind = "dir" if target.is_dir() else "file"
        return _Entry(
            target.name,
            str(target),
            kind,
            stat.st_size,
            stat.st_mode & 0o777,
            datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    def list(self, path: str, depth: int = 1) -> list[_Entry]:
        return [self.get_info(str(child)) for child in sorted(Path(path).iterdir())]

    def make_dir(self, path: str) -> bool:
        Path(path).mkdir(parents=True, exist_ok=True)
        return True

    def rename(self, old_path: str, new_path: str) -> None:
        Path(old_path).rename(new_path)


_LIVE: dict[str, Sandbox] = {}


class Sandbox(e2b_desktop.Sandbox):
    """e2b_desktop's own class; only its transport is local."""

    session: DesktopSession
    ran: list[str]
    cdp_port: int

    @classmethod
    def create(
        cls,
        template: str | None = None,
        resolution: tuple[int, int] | None = None,  # type: ignore[override]
        timeout: int | None = None,
        metadata: dict[str, str] | None = None,
        envs: dict[str, str] | None = None,
        api_key: str | None = None,
        **_: Any,
    ) -> Sandbox:
        if api_key != e2b_cloud.API_KEY:
            raise exceptions.AuthenticationException("Invalid API key")
        width, height = resolution or (1024, 768)
        self = object.__new__(cls)
        self.ran = []
        self.session = DesktopSession(width=width, height=height, window_manager="openbox")
        self.session.start()
        self.cdp_port = free_port()
        self._profile = tempfile.mkdtemp(prefix="e2b-desktop-standin-")
        self._browser = subprocess.Popen(
            [
                "chromium",
                *CHROMIUM_FLAGS,
                f"--remote-debugging-port={self.cdp_port}",
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            env={**os.environ, "DISPLAY": self.session.display},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._commands = _Commands(self)
        self._filesystem = _Files()
        self._standin_id = "d" + secrets.token_hex(9)
        self._metadata = dict(metadata or {})
        self._end_at = datetime.now(UTC) + timedelta(seconds=timeout or 300)
        _LIVE[self._standin_id] = self
        return self

    @property
    def sandbox_id(self) -> str:  # type: ignore[override]
        return self._standin_id

    @classmethod
    def connect(cls, sandbox_id: str, api_key: str | None = None, **_: Any) -> Sandbox:  # type: ignore[override]
        if api_key != e2b_cloud.API_KEY:
            raise exceptions.AuthenticationException("Invalid API key")
        try:
            return _LIVE[sandbox_id]
        except KeyError:
            raise exceptions.SandboxNotFoundException(f"Sandbox {sandbox_id} not found") from None

    def kill(self, **_: Any) -> bool:  # type: ignore[override]
        if _LIVE.pop(self._standin_id, None) is None:
            return False
        self._browser.kill()
        self._browser.wait()
        self.session.stop()
        shutil.rmtree(self._profile, ignore_errors=True)
        return True

    def set_timeout(self, timeout: int, **_: Any) -> None:  # type: ignore[override]
        self._end_at = datetime.now(UTC) + timedelta(seconds=timeout)

    @classmethod
    def list(cls, query: Any = None, api_key: str | None = None, **_: Any) -> _Paginator:  # type: ignore[override]
        """E2B's listing of running sandboxes, filtered by metadata, in pages."""
        if api_key != e2b_cloud.API_KEY:
            raise exceptions.AuthenticationException("Invalid API key")
        wanted = dict(getattr(query, "metadata", None) or {})
        found = [
            _Listed(box.sandbox_id, dict(box._metadata), box._end_at)
            for box in _LIVE.values()
            if all(box._metadata.get(k) == v for k, v in wanted.items())
        ]
        return _Paginator(found)


@dataclass
class _Listed:
    sandbox_id: str
    metadata: dict[str, str]
    end_at: datetime


class _Paginator:
    def __init__(self, items: list[_Listed]) -> None:
        self._items = items
        self.has_next = True

    def next_items(self) -> list[_Listed]:
        self.has_next = False
        return self._items


def running(sandbox_id: str) -> Sandbox:
    """The stand-in sandbox behind an id: its desktop, its Chromium, the commands it ran."""
    return _LIVE[sandbox_id]


def stock_backend() -> Any:
    """An E2BBackend in stock mode whose E2B SDKs are this stand-in and e2b_cloud."""
    from deskbox.backends.e2b import E2BBackend

    return E2BBackend(
        sdk=e2b_cloud,  # type: ignore[arg-type]
        desktop_sdk=sys.modules[__name__],  # type: ignore[arg-type]
        api_key=e2b_cloud.API_KEY,
        mode="stock",
    )
