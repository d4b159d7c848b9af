"""Sandbox: the blocking twin of AsyncSandbox.

Every call runs the async method on one event loop in a private thread and waits for
it, so the sync client works from any thread, including one whose own event loop is
running (where ``asyncio.run`` would refuse). The twins cannot drift: ``tests/unit/
test_sync_parity.py`` checks that every public async method has a sync one with the
same parameters.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from ..actions import Action, ActionResponse, Batch, ImageFormat, MouseButton
from ..backends import Backend, SandboxInfo
from ..models import FileInfo, Window
from ._commands import AsyncCommandHandle, AsyncCommands, CommandResult, OutputCallback, OutputChunk
from ._files import AsyncFiles
from ._sandbox import AsyncSandbox, AsyncStream, ScrollDirection

T = TypeVar("T")


class _Portal:
    """One event loop in a daemon thread, shared by every sync sandbox."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coroutine: Coroutine[Any, Any, T]) -> T:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="deskbox-sync", daemon=True).start()
                cls._loop = loop
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, cls._loop)
        return future.result()


_run = _Portal.run


class CommandHandle:
    def __init__(self, handle: AsyncCommandHandle) -> None:
        self._handle = handle
        self.id, self.pid, self.cmd = handle.id, handle.pid, handle.cmd

    def __repr__(self) -> str:
        return f"CommandHandle(id={self.id!r}, pid={self.pid}, cmd={self.cmd!r})"

    def output(self) -> tuple[str, str]:
        return _run(self._handle.output())

    def is_running(self) -> bool:
        return _run(self._handle.is_running())

    def wait(self, timeout: float | None = None, check: bool = True) -> CommandResult:
        return _run(self._handle.wait(timeout, check))

    def stream(self) -> Iterator[OutputChunk]:
        chunks = self._handle.stream()

        async def next_chunk() -> OutputChunk:
            return await anext(chunks)

        try:
            while True:
                try:
                    yield _run(next_chunk())
                except StopAsyncIteration:
                    return
        finally:
            _run(chunks.aclose())

    def send_stdin(self, data: str) -> None:
        _run(self._handle.send_stdin(data))

    def close_stdin(self) -> None:
        _run(self._handle.close_stdin())

    def kill(self) -> bool:
        return _run(self._handle.kill())


class Commands:
    def __init__(self, commands: AsyncCommands) -> None:
        self._commands = commands

    def run(
        self,
        cmd: str | builtins.list[str],
        background: bool = False,
        *,
        timeout: float | None = 60,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stdin: str | None = None,
        open_stdin: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        check: bool = True,
    ) -> CommandResult | CommandHandle:
        """See AsyncCommands.run: a CommandResult, or a CommandHandle with background=True."""
        options: dict[str, Any] = {
            "timeout": timeout,
            "envs": envs,
            "cwd": cwd,
            "user": user,
            "stdin": stdin,
            "open_stdin": open_stdin,
            "on_stdout": on_stdout,
            "on_stderr": on_stderr,
            "check": check,
        }
        if background:
            return CommandHandle(_run(self._commands.run(cmd, True, **options)))
        return _run(self._commands.run(cmd, False, **options))


class Files:
    def __init__(self, files: AsyncFiles) -> None:
        self._files = files

    def read(self, path: str, format: str = "text") -> Any:
        return _run(self._files.read(path, format))  # type: ignore[call-overload]

    def write(self, path: str, data: str | bytes, mode: str | None = None) -> FileInfo:
        return _run(self._files.write(path, data, mode))

    def list(self, path: str, depth: int = 1) -> builtins.list[FileInfo]:
        return _run(self._files.list(path, depth))

    def exists(self, path: str) -> bool:
        return _run(self._files.exists(path))

    def get_info(self, path: str) -> FileInfo:
        return _run(self._files.get_info(path))

    def make_dir(self, path: str) -> FileInfo:
        return _run(self._files.make_dir(path))

    def rename(self, old_path: str, new_path: str, overwrite: bool = False) -> FileInfo:
        return _run(self._files.rename(old_path, new_path, overwrite))

    def remove(self, path: str, recursive: bool = True) -> None:
        _run(self._files.remove(path, recursive))


class Stream:
    def __init__(self, stream: AsyncStream) -> None:
        self._stream = stream

    def start(self) -> None:
        _run(self._stream.start())

    def get_url(self, view_only: bool = False) -> str:
        return _run(self._stream.get_url(view_only))


class Sandbox:
    """A desktop sandbox, blocking API. Create one with ``Sandbox.create()``."""

    def __init__(self, sandbox: AsyncSandbox) -> None:
        self._async = sandbox
        self.commands = Commands(sandbox.commands)
        self.files = Files(sandbox.files)
        self.stream = Stream(sandbox.stream)

    def __repr__(self) -> str:
        return f"Sandbox(sandbox_id={self.sandbox_id!r}, url={self.url!r})"

    @property
    def info(self) -> SandboxInfo:
        return self._async.info

    @property
    def sandbox_id(self) -> str:
        return self._async.sandbox_id

    @property
    def url(self) -> str:
        return self._async.url

    @classmethod
    def create(
        cls,
        *,
        backend: str | Backend = "docker",
        resolution: tuple[int, int] = (1280, 800),
        timeout: float = 300,
        metadata: dict[str, str] | None = None,
        envs: dict[str, str] | None = None,
        cpu: float | None = None,
        memory_mb: int | None = None,
        request_timeout: float | None = None,
        **backend_options: Any,
    ) -> Sandbox:
        return cls(
            _run(
                AsyncSandbox.create(
                    backend=backend,
                    resolution=resolution,
                    timeout=timeout,
                    metadata=metadata,
                    envs=envs,
                    cpu=cpu,
                    memory_mb=memory_mb,
                    request_timeout=request_timeout,
                    **backend_options,
                )
            )
        )

    @classmethod
    def connect(
        cls,
        sandbox_id: str | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        backend: str | Backend = "docker",
        **backend_options: Any,
    ) -> Sandbox:
        return cls(
            _run(AsyncSandbox.connect(sandbox_id, url=url, token=token, backend=backend, **backend_options))
        )

    @staticmethod
    def list(backend: str | Backend = "docker", **backend_options: Any) -> builtins.list[SandboxInfo]:
        return _run(AsyncSandbox.list(backend, **backend_options))

    def kill(self) -> None:
        _run(self._async.kill())

    def set_timeout(self, timeout: float) -> None:
        _run(self._async.set_timeout(timeout))

    def pause(self) -> None:
        _run(self._async.pause())

    def close(self) -> None:
        _run(self._async.close())

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()

    def act(
        self,
        action: Action | Batch | builtins.list[Action],
        *,
        screenshot_after: bool = False,
        settle: float = 0.0,
        **screenshot_options: Any,
    ) -> ActionResponse:
        return _run(
            self._async.act(action, screenshot_after=screenshot_after, settle=settle, **screenshot_options)
        )

    def screenshot(
        self,
        format: ImageFormat | str = "png",
        *,
        quality: int = 80,
        width: int | None = None,
        height: int | None = None,
        settle: float = 0.0,
    ) -> bytes:
        return _run(
            self._async.screenshot(format, quality=quality, width=width, height=height, settle=settle)  # type: ignore[arg-type]
        )

    def left_click(self, x: int | None = None, y: int | None = None) -> None:
        _run(self._async.left_click(x, y))

    def right_click(self, x: int | None = None, y: int | None = None) -> None:
        _run(self._async.right_click(x, y))

    def middle_click(self, x: int | None = None, y: int | None = None) -> None:
        _run(self._async.middle_click(x, y))

    def double_click(self, x: int | None = None, y: int | None = None) -> None:
        _run(self._async.double_click(x, y))

    def triple_click(self, x: int | None = None, y: int | None = None) -> None:
        _run(self._async.triple_click(x, y))

    def move_mouse(self, x: int, y: int) -> None:
        _run(self._async.move_mouse(x, y))

    def mouse_press(self, button: MouseButton = "left") -> None:
        _run(self._async.mouse_press(button))

    def mouse_release(self, button: MouseButton = "left") -> None:
        _run(self._async.mouse_release(button))

    def drag(self, fr: tuple[int, int], to: tuple[int, int]) -> None:
        _run(self._async.drag(fr, to))

    def scroll(
        self, direction: ScrollDirection = "down", amount: int = 1, x: int | None = None, y: int | None = None
    ) -> None:
        _run(self._async.scroll(direction, amount, x, y))

    def write(self, text: str, *, chunk_size: int | None = None, delay_in_ms: int | None = None) -> None:
        _run(self._async.write(text, chunk_size=chunk_size, delay_in_ms=delay_in_ms))

    def press(self, key: str | builtins.list[str]) -> None:
        _run(self._async.press(key))

    def hold_key(self, key: str | builtins.list[str], duration: float) -> None:
        _run(self._async.hold_key(key, duration))

    def get_cursor_position(self) -> tuple[int, int]:
        return _run(self._async.get_cursor_position())

    def get_screen_size(self) -> tuple[int, int]:
        return _run(self._async.get_screen_size())

    def wait(self, ms: int) -> None:
        _run(self._async.wait(ms))

    def open(self, file_or_url: str) -> None:
        _run(self._async.open(file_or_url))

    def launch(self, application: str | builtins.list[str], uri: str | None = None) -> int:
        return _run(self._async.launch(application, uri))

    def list_windows(self) -> builtins.list[Window]:
        return _run(self._async.list_windows())

    def focus_window(self, window_id: int | str) -> None:
        _run(self._async.focus_window(window_id))

    def get_current_window_id(self) -> str:
        return _run(self._async.get_current_window_id())

    def get_application_windows(self, application: str) -> builtins.list[str]:
        return _run(self._async.get_application_windows(application))

    def get_window_title(self, window_id: str | int) -> str:
        return _run(self._async.get_window_title(window_id))

    def navigate(self, url: str) -> None:
        _run(self._async.navigate(url))

    def go_back(self) -> bool:
        return _run(self._async.go_back())

    def go_forward(self) -> bool:
        return _run(self._async.go_forward())

    def browser_tabs(self) -> builtins.list[dict[str, Any]]:
        return _run(self._async.browser_tabs())

    def get_clipboard(self) -> str:
        return _run(self._async.get_clipboard())

    def set_clipboard(self, text: str) -> None:
        _run(self._async.set_clipboard(text))
