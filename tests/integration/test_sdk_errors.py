"""Every public SDK method, called with a bad argument, raises a DeskboxError (never
pydantic's, never a TypeError), and the sandbox keeps serving afterwards.

The table must name every public method that takes an argument: a new method fails
``test_every_method_with_arguments_has_a_case`` until it has one.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from deskbox import (
    AsyncCommandHandle,
    AsyncSandbox,
    BackendError,
    ConflictError,
    DeskboxError,
    InvalidActionError,
    NotFoundError,
    Sandbox,
)
from deskbox.client._accessibility import AsyncAccessibility
from deskbox.client._commands import AsyncCommands
from deskbox.client._files import AsyncFiles
from deskbox.client._pty import AsyncPty
from deskbox.client._recording import AsyncRecording
from deskbox.client._stream import AsyncStream
from deskbox.client._trace import AsyncTrace

pytestmark = pytest.mark.integration

Call = Callable[[AsyncSandbox, AsyncCommandHandle], Awaitable[Any]]

CASES: dict[str, tuple[Call, type[DeskboxError], str]] = {
    # name: (the bad call, the error, a word the message must hold)
    "AsyncSandbox.create": (
        lambda s, h: AsyncSandbox.create(backend="local", resolution=(0, 0)),
        InvalidActionError,
        "resolution",
    ),
    "AsyncSandbox.connect": (
        lambda s, h: AsyncSandbox.connect(url="http://127.0.0.1:9"),
        InvalidActionError,
        "token",
    ),
    "AsyncSandbox.list": (lambda s, h: AsyncSandbox.list(backend="nowhere"), BackendError, "nowhere"),
    "AsyncSandbox.set_timeout": (lambda s, h: s.set_timeout(-1), InvalidActionError, "timeout"),
    "AsyncSandbox.snapshot": (lambda s, h: s.snapshot(5), InvalidActionError, "name"),  # type: ignore[arg-type]
    "AsyncSandbox.fork": (lambda s, h: s.fork(0), InvalidActionError, "n"),
    "AsyncSandbox.list_snapshots": (
        lambda s, h: AsyncSandbox.list_snapshots(backend="nowhere"),
        BackendError,
        "nowhere",
    ),
    "AsyncSandbox.delete_snapshot": (
        lambda s, h: AsyncSandbox.delete_snapshot(None),  # type: ignore[arg-type]
        InvalidActionError,
        "snapshot",
    ),
    "AsyncSandbox.act": (lambda s, h: s.act({"type": "clack"}), InvalidActionError, "clack"),
    "AsyncSandbox.screenshot": (lambda s, h: s.screenshot("gif"), InvalidActionError, "format"),  # type: ignore[arg-type]
    "AsyncSandbox.left_click": (lambda s, h: s.left_click(-5, 10), InvalidActionError, "click.x"),
    "AsyncSandbox.right_click": (lambda s, h: s.right_click("a", 1), InvalidActionError, "x"),  # type: ignore[arg-type]
    "AsyncSandbox.middle_click": (lambda s, h: s.middle_click(1), InvalidActionError, "y is missing"),
    "AsyncSandbox.double_click": (lambda s, h: s.double_click(1.5, 2), InvalidActionError, "x"),  # type: ignore[arg-type]
    "AsyncSandbox.triple_click": (lambda s, h: s.triple_click(None, 5), InvalidActionError, "x is missing"),
    "AsyncSandbox.move_mouse": (lambda s, h: s.move_mouse(40000, 1), InvalidActionError, "move.x"),
    "AsyncSandbox.mouse_press": (lambda s, h: s.mouse_press("sideways"), InvalidActionError, "button"),  # type: ignore[arg-type]
    "AsyncSandbox.mouse_release": (lambda s, h: s.mouse_release(3), InvalidActionError, "button"),  # type: ignore[arg-type]
    "AsyncSandbox.drag": (lambda s, h: s.drag((1,), (2, 3)), InvalidActionError, "fr"),  # type: ignore[arg-type]
    "AsyncSandbox.scroll": (lambda s, h: s.scroll("sideways"), InvalidActionError, "direction"),  # type: ignore[arg-type]
    "AsyncSandbox.write": (lambda s, h: s.write(""), InvalidActionError, "text"),
    "AsyncSandbox.press": (lambda s, h: s.press("ctrl+enterr"), InvalidActionError, "enterr"),
    "AsyncSandbox.pyautogui": (
        lambda s, h: s.pyautogui("pyautogui.click()", timeout=0),
        InvalidActionError,
        "timeout",
    ),
    "AsyncSandbox.hold_key": (lambda s, h: s.hold_key("shift", 99), InvalidActionError, "duration"),
    "AsyncSandbox.wait": (lambda s, h: s.wait(-5), InvalidActionError, "duration"),
    "AsyncSandbox.open": (lambda s, h: s.open(""), InvalidActionError, "target"),
    "AsyncSandbox.launch": (lambda s, h: s.launch([]), InvalidActionError, "command"),
    "AsyncSandbox.focus_window": (lambda s, h: s.focus_window("abc"), InvalidActionError, "window_id"),
    "AsyncSandbox.get_application_windows": (
        lambda s, h: s.get_application_windows(""),
        InvalidActionError,
        "application",
    ),
    "AsyncSandbox.get_window_title": (lambda s, h: s.get_window_title(999999999), NotFoundError, "window"),
    "AsyncSandbox.navigate": (lambda s, h: s.navigate(""), InvalidActionError, "url"),
    "AsyncSandbox.set_clipboard": (lambda s, h: s.set_clipboard(None), InvalidActionError, "text"),  # type: ignore[arg-type]
    "AsyncStream.get_url": (
        lambda s, h: s.stream.get_url(view_only="maybe"),
        InvalidActionError,
        "view_only",
    ),  # type: ignore[arg-type]
    "AsyncFiles.read": (
        lambda s, h: s.files.read("/etc/hostname", format="xml"),
        InvalidActionError,
        "format",
    ),  # type: ignore[call-overload]
    "AsyncFiles.write": (lambda s, h: s.files.write("/tmp/x", 123), InvalidActionError, "data"),  # type: ignore[arg-type]
    "AsyncFiles.list": (lambda s, h: s.files.list("/tmp", depth=0), InvalidActionError, "depth"),
    "AsyncFiles.exists": (lambda s, h: s.files.exists(None), InvalidActionError, "path"),  # type: ignore[arg-type]
    "AsyncFiles.get_info": (lambda s, h: s.files.get_info("/no/such/file"), NotFoundError, "/no/such/file"),
    "AsyncFiles.make_dir": (lambda s, h: s.files.make_dir(None), InvalidActionError, "path"),  # type: ignore[arg-type]
    "AsyncFiles.rename": (lambda s, h: s.files.rename("/tmp/a", None), InvalidActionError, "new_path"),  # type: ignore[arg-type]
    "AsyncFiles.remove": (lambda s, h: s.files.remove(""), InvalidActionError, "path"),
    "AsyncCommands.run": (lambda s, h: s.commands.run(123), InvalidActionError, "cmd"),  # type: ignore[call-overload]
    "AsyncCommands.connect": (lambda s, h: s.commands.connect(999_999_999), NotFoundError, "999999999"),
    "AsyncCommands.kill": (lambda s, h: s.commands.kill("one"), InvalidActionError, "pid"),  # type: ignore[arg-type]
    "AsyncCommands.send_stdin": (lambda s, h: s.commands.send_stdin(h.pid, 5), InvalidActionError, "data"),  # type: ignore[arg-type]
    "AsyncCommands.close_stdin": (lambda s, h: s.commands.close_stdin(None), InvalidActionError, "pid"),  # type: ignore[arg-type]
    "AsyncStream.create_link": (
        lambda s, h: s.stream.create_link(expires_in=5),
        InvalidActionError,
        "expires_in",
    ),
    "AsyncStream.revoke_link": (lambda s, h: s.stream.revoke_link("never-made"), NotFoundError, "never-made"),
    "AsyncFiles.watch_dir": (
        lambda s, h: s.files.watch_dir("/no/such/folder"),
        NotFoundError,
        "/no/such/folder",
    ),
    "AsyncFiles.stream": (
        lambda s, h: anext(s.files.stream("/no/such/file")),
        NotFoundError,
        "/no/such/file",
    ),
    "AsyncFiles.write_files": (
        lambda s, h: s.files.write_files([("/tmp/ok", "a"), ("/tmp/bad", 5)]),  # type: ignore[list-item]
        InvalidActionError,
        "data",
    ),
    "AsyncCommandHandle.wait": (lambda s, h: h.wait(timeout="soon"), InvalidActionError, "timeout"),  # type: ignore[arg-type]
    "AsyncCommandHandle.send_stdin": (lambda s, h: h.send_stdin(5), InvalidActionError, "data"),  # type: ignore[arg-type]
    "AsyncAccessibility.tree": (
        lambda s, h: s.accessibility.tree(max_depth=-1),
        InvalidActionError,
        "max_depth",
    ),
    "AsyncAccessibility.xml": (
        lambda s, h: s.accessibility.xml(max_nodes=0),
        InvalidActionError,
        "max_nodes",
    ),
    "AsyncAccessibility.find": (lambda s, h: s.accessibility.find(limit=0), InvalidActionError, "limit"),
    "AsyncAccessibility.element_at": (
        lambda s, h: s.accessibility.element_at(-1, 0),
        InvalidActionError,
        "x",
    ),
    "AsyncRecording.start": (lambda s, h: s.recording.start(fps=0), InvalidActionError, "fps"),
    "AsyncRecording.stop": (lambda s, h: s.recording.stop("/tmp/never.mp4"), ConflictError, "no recording"),
    "AsyncTrace.start": (lambda s, h: s.trace.start(quality=5), InvalidActionError, "quality"),
    "AsyncTrace.stop": (lambda s, h: s.trace.stop("/tmp/never.zip"), ConflictError, "no trace"),
    "AsyncTrace.note": (lambda s, h: s.trace.note(""), InvalidActionError, "source"),
    "AsyncTrace.live_url": (
        lambda s, h: s.trace.live_url(view_only="maybe"),
        InvalidActionError,
        "view_only",
    ),  # type: ignore[arg-type]
    "AsyncCommandHandle.resize": (lambda s, h: h.resize(80, 24), ConflictError, "no terminal"),
    "AsyncPty.create": (lambda s, h: s.pty.create(80, 0), InvalidActionError, "rows"),
    "AsyncPty.connect": (lambda s, h: s.pty.connect(-3), NotFoundError, "-3"),
    "AsyncPty.send_stdin": (lambda s, h: s.pty.send_stdin(h.pid, 7), InvalidActionError, "data"),  # type: ignore[arg-type]
    "AsyncPty.resize": (lambda s, h: s.pty.resize(h.pid, 5000, 20), InvalidActionError, "cols"),
    "AsyncPty.kill": (lambda s, h: s.pty.kill("x"), InvalidActionError, "pid"),  # type: ignore[arg-type]
}

CLASSES = (
    AsyncPty,
    AsyncSandbox,
    AsyncStream,
    AsyncFiles,
    AsyncCommands,
    AsyncCommandHandle,
    AsyncAccessibility,
    AsyncRecording,
    AsyncTrace,
)


def methods_with_arguments() -> set[str]:
    found = set()
    for cls in CLASSES:
        for name, member in inspect.getmembers(cls, callable):
            if name.startswith("_") or inspect.isclass(member):
                continue
            parameters = [p for p in inspect.signature(member).parameters if p not in ("self", "cls")]
            if parameters:
                found.add(f"{cls.__name__}.{name}")
    return found


def test_every_method_with_arguments_has_a_case() -> None:
    assert methods_with_arguments() == set(CASES)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def handle(sandbox: AsyncSandbox) -> AsyncIterator[AsyncCommandHandle]:
    job = await sandbox.commands.run("sleep 60", background=True, open_stdin=True)
    yield job
    await job.kill()


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_bad_argument_is_a_deskbox_error(
    name: str, sandbox: AsyncSandbox, handle: AsyncCommandHandle
) -> None:
    call, error, word = CASES[name]
    with pytest.raises(DeskboxError) as raised:
        await call(sandbox, handle)
    assert isinstance(raised.value, error), f"{name}: {type(raised.value).__name__}: {raised.value}"
    assert word in str(raised.value), f"{name}: {raised.value}"
    assert await sandbox.get_screen_size() == (1024, 768)  # still serving


async def test_the_sdk_locates_a_field_as_the_server_does(sandbox: AsyncSandbox) -> None:
    """One mistake, caught on either side of the wire, reads the same."""
    with pytest.raises(InvalidActionError) as sdk_side:
        await sandbox.left_click(-5, 10)
    raw = sandbox._connection
    with pytest.raises(InvalidActionError) as server_side:
        await raw.request("POST", "/actions", json_body={"type": "click", "x": -5, "y": 10})
    assert sdk_side.value.details == server_side.value.details
    assert sdk_side.value.message == server_side.value.message


def test_the_sync_twin_raises_the_same() -> None:
    with pytest.raises(InvalidActionError, match="resolution"):
        Sandbox.create(backend="local", resolution=(0, 0))
    with pytest.raises(InvalidActionError, match="sandbox_id"):
        Sandbox.connect()
