"""e2b_desktop's ``Sandbox`` over deskbox's one SDK.

Every method here is a translation: e2b's names, defaults (a 1024x768 screen, the pointer
drawn into screenshots, e2b's key names) and return types on the outside, a call to the
native sync ``deskbox.Sandbox`` inside. The backend comes from ``backend=`` or the
``DESKBOX_BACKEND`` environment variable (docker when neither is set).
"""

from __future__ import annotations

import builtins
import functools
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from .. import errors
from ..backends._base import MAX_SANDBOX_TIMEOUT
from ..backends._base import SandboxInfo as NativeInfo
from ..backends._remote import DEADLINE_FILE, PAUSED
from ..client._sync import Sandbox as NativeSandbox
from ._commands import Commands, Pty
from ._errors import InvalidArgumentException, translated, unsupported
from ._files import Filesystem
from ._keys import map_key
from ._stream import Stream
from ._types import SandboxInfo

RESOLUTION = (1024, 768)
"""E2B Desktop's screen, which E2B's own tests expect."""
DPI = 96
T = TypeVar("T")

CLOUD_ONLY = {
    "git": "git operations through E2B's envd; run git with commands.run",
    "get_mcp_url": "E2B's MCP gateway; deskbox serves MCP itself (deskbox mcp)",
    "get_mcp_token": "E2B's MCP gateway; deskbox serves MCP itself (deskbox mcp)",
    "get_metrics": "E2B's metrics API",
    "update_network": "E2B's network rules",
    "upload_url": "a signed URL would put a credential in a URL; use files.write",
    "download_url": "a signed URL would put a credential in a URL; use files.read",
    "connection_config": "E2B's API connection",
    "envd_api_url": "E2B's in-sandbox daemon",
    "envd_direct_url": "E2B's in-sandbox daemon",
    "sandbox_domain": "E2B's sandbox domains",
    "traffic_access_token": "E2B's traffic tokens",
}
NOT_BUILT: dict[str, str] = {}


_default_backend: Any = None


def set_default_backend(backend: Any) -> None:
    """The backend (a name or a configured ``Backend``) for sandboxes made without
    ``backend=``, ahead of ``DESKBOX_BACKEND``: E2B code stays as it is, and one line
    at start-up points it at, say, a Fly app."""
    global _default_backend
    _default_backend = backend


def _lifetime(timeout: float) -> float:
    """e2b's sandbox timeout in seconds, where 0 means no limit: here, the longest a
    sandbox can be given (30 days)."""
    return MAX_SANDBOX_TIMEOUT if timeout == 0 else timeout


def _backend(opts: dict[str, Any]) -> Any:
    chosen = opts.pop("backend", None)
    if chosen is not None:
        return chosen
    return _default_backend or os.environ.get("DESKBOX_BACKEND") or "docker"


class _either(Generic[T]):
    """A method callable on the class with a sandbox id, or on an instance (e2b's style)."""

    def __init__(self, on_class: Callable[..., T], on_instance: Callable[..., T]) -> None:
        self._on_class = on_class
        self._on_instance = on_instance
        functools.update_wrapper(self, on_instance)  # type: ignore[arg-type]

    def __get__(self, instance: Any, owner: type) -> Callable[..., T]:
        if instance is None:
            return functools.partial(self._on_class, owner)
        return functools.partial(self._on_instance, instance)


def _e2b_info(info: NativeInfo, deadline: float | None) -> SandboxInfo:
    return SandboxInfo(
        sandbox_id=info.sandbox_id,
        template_id=Sandbox.default_template,
        name=Sandbox.default_template,
        metadata=dict(info.metadata),
        started_at=datetime.now(UTC),  # not recorded by deskbox (docs/coming-from-e2b.md)
        end_at=None if deadline is None else datetime.fromtimestamp(deadline, UTC),
        state=info.state,
    )


def _deadline_now(native: NativeSandbox) -> float | None:
    """When the sandbox ends, as it stands now (``set_timeout`` moves it): the deadline
    file its supervisor keeps, where the backend uses one; else what the backend said."""
    try:
        text = native.files.read(DEADLINE_FILE).strip()
    except errors.DeskboxError:
        return native.info.deadline
    if text.startswith(PAUSED):  # paused: the seconds left, counted from a resume
        left = text.split()[-1]
        return None if left == "none" else time.time() + float(left)
    try:
        return float(text) if text else None
    except ValueError:
        return native.info.deadline


def _screenshot_chunks(png: bytes) -> Iterator[bytes]:
    for start in range(0, len(png), 64 * 1024):
        yield png[start : start + 64 * 1024]


class Sandbox:
    """A desktop sandbox with e2b_desktop's interface."""

    default_template = "desktop"
    default_sandbox_timeout = 300
    default_mcp_template = "mcp-gateway"
    mcp_port = 50005

    def __init__(self, native: NativeSandbox) -> None:
        self._native = native
        self._killed = False
        self._display = ":0"
        self._commands = Commands(native.commands)
        self._pty = Pty(native.pty, native.commands)
        self._files = Filesystem(native.files)
        self._stream = Stream(native.stream, native.url, lambda: _deadline_now(native))

    def __repr__(self) -> str:
        return f"Sandbox(sandbox_id={self.sandbox_id!r})"

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    # ---- lifecycle ----------------------------------------------------------------------

    @classmethod
    @translated
    def create(
        cls,
        template: str | None = None,
        resolution: tuple[int, int] | None = None,
        dpi: int | None = None,
        display: str | None = None,
        timeout: int | None = None,
        metadata: dict[str, str] | None = None,
        envs: dict[str, str] | None = None,
        secure: bool | None = None,
        allow_internet_access: bool | None = None,
        network: Any = None,
        iam: Any = None,
        lifecycle: Any = None,
        volume_mounts: Any = None,
        logger: Any = None,
        **opts: Any,
    ) -> Sandbox:
        """A new desktop, 1024x768 unless ``resolution`` says otherwise."""
        if template not in (None, cls.default_template):
            raise InvalidArgumentException(
                f"template: deskbox runs its own desktop image, not E2B template {template!r}"
            )
        if dpi not in (None, DPI):
            raise InvalidArgumentException(f"dpi: the desktop runs at {DPI} dpi")
        if display not in (None, ":0"):
            raise InvalidArgumentException("display: the desktop is display :0")
        for name, value in (("network", network), ("iam", iam), ("lifecycle", lifecycle)):
            if value is not None:
                raise unsupported(f"create({name}=)", f"E2B's {name} settings")
        if volume_mounts:
            raise unsupported("create(volume_mounts=)", "E2B volumes")
        backend = _backend(opts)
        opts.pop("api_key", None)
        opts.pop("domain", None)
        request_timeout = opts.pop("request_timeout", None)
        if opts:
            raise InvalidArgumentException(f"{', '.join(sorted(opts))}: not an option of Sandbox.create")
        native = NativeSandbox.create(
            backend=backend,
            resolution=resolution or RESOLUTION,
            timeout=cls.default_sandbox_timeout if timeout is None else _lifetime(timeout),
            metadata=metadata,
            envs=envs,
            request_timeout=request_timeout,
        )
        return cls(native)

    @staticmethod
    @translated
    def _connect_id(cls: type[Sandbox], sandbox_id: str, timeout: int | None = None, **opts: Any) -> Sandbox:
        backend = _backend(opts)
        native = NativeSandbox.connect(sandbox_id, backend=backend)
        sandbox = cls(native)
        if timeout is not None:
            native.set_timeout(_lifetime(timeout))
        return sandbox

    @translated
    def _connect_self(
        self, timeout: int | None = None, *, on_resume: Literal["restore", "reboot"] = "restore", **opts: Any
    ) -> Sandbox:
        if self._native.info.state == "paused":
            self._native.resume()
        if timeout is not None:
            self._native.set_timeout(_lifetime(timeout))
        return self

    connect = _either(_connect_id.__func__, _connect_self)  # type: ignore[attr-defined]

    @staticmethod
    @translated
    def _kill_id(cls: type[Sandbox], sandbox_id: str, **opts: Any) -> bool:
        try:
            sandbox = NativeSandbox.connect(sandbox_id, backend=_backend(opts))
        except errors.SandboxNotFoundError:
            return False
        sandbox.kill()
        return True

    @translated
    def _kill_self(self, **opts: Any) -> bool:
        if self._killed:
            return False
        try:
            self._native.kill()
        except errors.SandboxNotFoundError:
            return False
        finally:
            self._killed = True
        return True

    kill = _either(_kill_id.__func__, _kill_self)  # type: ignore[attr-defined]

    @staticmethod
    @translated
    def _timeout_id(cls: type[Sandbox], sandbox_id: str, timeout: int, **opts: Any) -> None:
        NativeSandbox.connect(sandbox_id, backend=_backend(opts)).set_timeout(_lifetime(timeout))

    @translated
    def _timeout_self(self, timeout: int, **opts: Any) -> None:
        self._native.set_timeout(_lifetime(timeout))

    set_timeout = _either(_timeout_id.__func__, _timeout_self)  # type: ignore[attr-defined]

    @staticmethod
    @translated
    def _info_id(cls: type[Sandbox], sandbox_id: str, **opts: Any) -> SandboxInfo:
        return cls._info_of(NativeSandbox.connect(sandbox_id, backend=_backend(opts)))

    @translated
    def _info_self(self, **opts: Any) -> SandboxInfo:
        return self._info_of(self._native)

    get_info = _either(_info_id.__func__, _info_self)  # type: ignore[attr-defined]

    @staticmethod
    def _info_of(native: NativeSandbox) -> SandboxInfo:
        return _e2b_info(native.info, _deadline_now(native))

    @staticmethod
    @translated
    def list(
        query: Any = None,
        limit: int | None = None,
        next_token: str | None = None,
        order: Literal["asc", "desc"] | None = None,
        **opts: Any,
    ) -> SandboxPaginator:
        """The backend's sandboxes, as e2b's paginator (``has_next``, ``next_items()``)."""
        if query is not None:
            raise unsupported("list(query=)", "E2B's query filters")
        return SandboxPaginator(_backend(opts), limit)

    @translated
    def is_running(self, request_timeout: float | None = None) -> bool:
        if self._killed:
            return False
        try:
            self._native.get_cursor_position()
        except errors.AuthenticationError:
            raise  # it answered: running, but not for this token
        except errors.DeskboxError:
            return False  # gone, unreachable, or its desktop down
        return True

    @translated
    def pause(
        self,
        keep_memory: bool | None = None,
        *,
        mode: Literal["full", "filesystem"] | None = None,
        strict: bool = False,
        **opts: Any,
    ) -> bool:
        """Freeze the sandbox, memory included (where the backend can); ``connect()`` resumes it."""
        if keep_memory is False or mode == "filesystem":
            raise unsupported(
                "pause(keep_memory=False)", "a pause keeps memory; use create_snapshot for the disk"
            )
        self._native.pause()
        return True

    def beta_pause(
        self,
        keep_memory: bool | None = None,
        *,
        mode: Literal["full", "filesystem"] | None = None,
        **opts: Any,
    ) -> bool:
        return self.pause(keep_memory, mode=mode)

    @translated
    def fork(self, timeout: int | None = None, count: int | None = None, **opts: Any) -> builtins.list[Any]:
        return [Sandbox(native) for native in self._native.fork(count or 1)]

    @translated
    def create_snapshot(
        self, name: str | None = None, *, mode: Literal["full", "filesystem"] | None = None, **opts: Any
    ) -> Any:
        """The sandbox's filesystem, kept to start sandboxes from (memory is not kept)."""
        if mode == "full":
            raise unsupported(
                "create_snapshot(mode='full')", "snapshots keep the filesystem; pause keeps memory"
            )
        return self._native.snapshot(name)

    @translated
    def list_snapshots(
        self, limit: int | None = None, next_token: str | None = None, name: str | None = None, **opts: Any
    ) -> Any:
        snapshots = NativeSandbox.list_snapshots(backend=_backend(opts))
        chosen = [s for s in snapshots if name is None or s.name == name]
        return chosen[:limit] if limit else chosen

    @staticmethod
    @translated
    def delete_snapshot(snapshot_id: str, **opts: Any) -> bool:
        NativeSandbox.delete_snapshot(snapshot_id, backend=_backend(opts))
        return True

    @translated
    def get_host(self, port: int) -> str:
        """The host that serves ``port`` of the sandbox: only the control server's is open."""
        address = urlsplit(self._native.url)
        served = address.port or (443 if address.scheme == "https" else 80)
        if port not in (served, 8000):
            raise unsupported(f"get_host({port})", "only the sandbox's control server is reachable")
        return address.netloc

    @property
    def sandbox_id(self) -> str:
        return self._native.sandbox_id

    @property
    def commands(self) -> Commands:
        return self._commands

    @property
    def pty(self) -> Pty:
        return self._pty

    @property
    def files(self) -> Filesystem:
        return self._files

    @property
    def stream(self) -> Stream:
        return self._stream

    def __getattr__(self, name: str) -> Any:
        if name in CLOUD_ONLY:
            raise unsupported(name, f"it belongs to E2B's cloud ({CLOUD_ONLY[name]})")
        if name in NOT_BUILT:
            raise unsupported(name, f"not built yet: {NOT_BUILT[name]}")
        raise AttributeError(name)

    # ---- the desktop --------------------------------------------------------------------

    @translated
    def screenshot(self, format: Literal["bytes", "stream"] = "bytes") -> Any:
        """A PNG of the screen with the pointer drawn in, as e2b's are."""
        if format not in ("bytes", "stream"):
            raise InvalidArgumentException(f"format: 'bytes' or 'stream', not {format!r}")
        png = self._native.screenshot("png", cursor=True)
        return bytearray(png) if format == "bytes" else _screenshot_chunks(png)

    @translated
    def left_click(self, x: int | None = None, y: int | None = None) -> None:
        self._native.left_click(x, y)

    @translated
    def double_click(self, x: int | None = None, y: int | None = None) -> None:
        self._native.double_click(x, y)

    @translated
    def right_click(self, x: int | None = None, y: int | None = None) -> None:
        self._native.right_click(x, y)

    @translated
    def middle_click(self, x: int | None = None, y: int | None = None) -> None:
        self._native.middle_click(x, y)

    @translated
    def scroll(self, direction: Literal["up", "down"] = "down", amount: int = 1) -> None:
        self._native.scroll(direction, amount)

    @translated
    def move_mouse(self, x: int, y: int) -> None:
        self._native.move_mouse(x, y)

    @translated
    def mouse_press(self, button: Literal["left", "right", "middle"] = "left") -> None:
        self._native.mouse_press(button)

    @translated
    def mouse_release(self, button: Literal["left", "right", "middle"] = "left") -> None:
        self._native.mouse_release(button)

    @translated
    def get_cursor_position(self) -> tuple[int, int]:
        return self._native.get_cursor_position()

    @translated
    def get_screen_size(self) -> tuple[int, int]:
        return self._native.get_screen_size()

    @translated
    def write(self, text: str, *, chunk_size: int = 25, delay_in_ms: int = 75) -> None:
        """Type ``text``; deskbox types at full speed, so the pacing arguments are accepted
        for e2b's sake and need not slow anything down."""
        self._native.write(text)

    @translated
    def press(self, key: str | builtins.list[str]) -> None:
        """A key or keys held together, by e2b's names ("enter", "ctrl", "alt_left", ...)."""
        keys = [key] if isinstance(key, str) else key
        self._native.press([map_key(k) for k in keys])

    @translated
    def drag(self, fr: tuple[int, int], to: tuple[int, int]) -> None:
        self._native.drag(fr, to)

    @translated
    def wait(self, ms: int) -> None:
        self._native.wait(ms)

    @translated
    def open(self, file_or_url: str) -> None:
        """Show a URL or file: in a new browser tab, or its application; raises if nothing opened."""
        self._native.open(file_or_url)

    @translated
    def get_current_window_id(self) -> str:
        return self._native.get_current_window_id()

    @translated
    def get_application_windows(self, application: str) -> builtins.list[str]:
        return self._native.get_application_windows(application)

    @translated
    def get_window_title(self, window_id: str) -> str:
        return self._native.get_window_title(window_id)

    @translated
    def launch(self, application: str, uri: str | None = None) -> None:
        self._native.launch(application, uri)


class SandboxPaginator:
    """e2b's page-by-page listing of sandboxes."""

    def __init__(self, backend: Any, limit: int | None) -> None:
        self._backend = backend
        self._limit = limit
        self._items: builtins.list[SandboxInfo] | None = None
        self.next_token: str | None = None

    @property
    def has_next(self) -> bool:
        return self._items is None or bool(self._items)

    @translated
    def next_items(self) -> builtins.list[SandboxInfo]:
        if self._items is None:
            self._items = [
                _e2b_info(info, info.deadline) for info in NativeSandbox.list(backend=self._backend)
            ]
        page = self._items[: self._limit or len(self._items)]
        self._items = self._items[len(page) :]
        return page
