"""OSWorld's task setup calls (``/osworld/setup/*``), as ``desktop_env``'s SetupController
sends them before a task: upload files, launch and open programs, run commands, bring a
window to the front or close it.

Each call answers once its effect is there (the file written, the window shown, the
window gone), and a call that did nothing is an error, not a 200.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...actions import CleanText
from ...desktop import Desktop, files
from ...errors import ActionFailedError, InvalidActionError, NotFoundError, TimeoutError
from ...models import Window
from ..deps import get_desktop
from .osworld import ExecuteRequest, execute

router = APIRouter(prefix="/osworld/setup", tags=["osworld"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]

UPLOAD_CHUNK = 1024 * 1024
WINDOW_WAIT = 60.0
"""Seconds a launched program or an opened file has to show its window."""
POLL = 0.1
GOOGLE_CHROME = re.compile(r"google[ -]chrome", re.IGNORECASE)
LAUNCH_GRACE = 0.5
"""Seconds a launched program is watched for failing at once."""


class LaunchRequest(BaseModel):
    command: Annotated[CleanText | list[CleanText], Field(min_length=1)]
    shell: bool = False


class OpenFileRequest(BaseModel):
    path: CleanText = Field(min_length=1)
    timeout: Annotated[float, Field(gt=0, le=1800)] = WINDOW_WAIT
    """Seconds the file's window has to show (OSWorld's guest waits up to 1800)."""


class WindowRequest(BaseModel):
    window_name: CleanText = Field(min_length=1)
    strict: bool = False
    """The whole title (or class), not a part of it."""
    by_class: bool = False
    """Match the window's class (e.g. "chromium") instead of its title."""


class Verification(BaseModel):
    window_exists: Annotated[CleanText, Field(min_length=1)] | None = None
    command_success: Annotated[CleanText, Field(min_length=1)] | None = None


class VerifiedExecuteRequest(ExecuteRequest):
    verification: Verification = Field(default_factory=Verification)
    max_wait_time: Annotated[float, Field(gt=0, le=600)] = 10
    check_interval: Annotated[float, Field(gt=0, le=60)] = 1.0


@router.post("/upload")
async def upload(
    file_path: Annotated[CleanText, Form(min_length=1)], file_data: Annotated[UploadFile, File()]
) -> str:
    """Write the uploaded file at ``file_path``, making its folder; never half a file."""
    writer = await run_in_threadpool(files.AtomicWriter, file_path, None)
    try:
        while chunk := await file_data.read(UPLOAD_CHUNK):
            await run_in_threadpool(writer.write, chunk)
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    await run_in_threadpool(writer.commit)
    return "File uploaded"


@router.post("/launch")
async def launch(request: LaunchRequest, desktop: DesktopDep) -> str:
    """Start a program detached; an error when it exits at once with a failure."""
    argv = _argv(request.command, request.shell)
    pid = await desktop.launch(argv)
    await _still_running_or_fine(desktop, pid, argv)
    return f"{' '.join(argv)} launched successfully"


@router.post("/execute")
async def setup_execute(request: ExecuteRequest, desktop: DesktopDep) -> dict[str, Any]:
    """The same as ``/osworld/execute``; SetupController calls it under /setup."""
    return await execute(request, desktop)


@router.post("/execute_with_verification")
async def execute_with_verification(request: VerifiedExecuteRequest, desktop: DesktopDep) -> dict[str, Any]:
    """Run a command, then wait until the window it should open is there, or a check
    command succeeds; an error when neither happens in ``max_wait_time``."""
    ran = await execute(ExecuteRequest(command=request.command, shell=request.shell), desktop)
    check = request.verification
    if check.window_exists is None and check.command_success is None:
        return {**ran, "verification": "none asked"}

    async def verified() -> bool:
        windows = await desktop.list_windows()
        if check.window_exists is not None and not _matching(windows, check.window_exists, False, False):
            return False
        if check.command_success is not None:
            probe = await execute(ExecuteRequest(command=check.command_success, shell=True), desktop)
            return bool(probe["returncode"] == 0)
        return True

    await _until(verified, request.max_wait_time, request.check_interval, "the verification did not pass")
    return {**ran, "verification": "passed"}


@router.post("/open_file")
async def open_file(request: OpenFileRequest, desktop: DesktopDep) -> str:
    """Open a file with its default application, and wait for a window with its name."""
    path = Path(request.path).expanduser()
    if not path.exists():
        raise NotFoundError(f"{path} does not exist")
    before = {window.id for window in await desktop.list_windows()}
    await desktop.open(str(path))

    label = path.name or str(path)

    async def shown() -> bool:
        windows = [w for w in await desktop.list_windows() if w.id not in before]
        return any(label in w.title or (path.stem and path.stem in w.title) for w in windows)

    await _until(shown, request.timeout, POLL, f"no window showing {label} opened")
    return f"File opened: {path}"


@router.post("/activate_window")
async def activate_window(request: WindowRequest, desktop: DesktopDep) -> str:
    window = await _one_window(desktop, request)
    await desktop.focus_window(window.id)
    return f"Window {window.title!r} activated"


@router.post("/close_window")
async def close_window(request: WindowRequest, desktop: DesktopDep) -> str:
    window = await _one_window(desktop, request)
    await desktop.close_window(window.id)

    async def gone() -> bool:
        return all(w.id != window.id for w in await desktop.list_windows())

    await _until(
        gone, WINDOW_WAIT / 6, POLL, f"window {window.title!r} is still open (it may be asking to save)"
    )
    return f"Window {window.title!r} closed"


def _argv(command: str | list[str], shell: bool) -> list[str]:
    if shell:
        return ["/bin/sh", "-c", command if isinstance(command, str) else shlex.join(command)]
    if isinstance(command, list):
        return command
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InvalidActionError.at(("body", "command"), f"cannot split it into words: {exc}") from None
    if not argv:
        raise InvalidActionError.at(("body", "command"), "name a program to start")
    return argv


async def _still_running_or_fine(desktop: Desktop, pid: int, argv: list[str]) -> None:
    """A program that fails at once (a bad option, a missing library) is an error here,
    not a 200 for a program that never showed; one still running after a moment is fine."""
    status = await desktop.exit_status_within(pid, LAUNCH_GRACE)
    if status is not None and status != 0:
        raise ActionFailedError(
            f"{argv[0]} exited at once with status {status}", index=0, action_type="launch"
        )


async def _one_window(desktop: Desktop, request: WindowRequest) -> Window:
    found = _matching(await desktop.list_windows(), request.window_name, request.strict, request.by_class)
    if not found:
        kind = "class" if request.by_class else "title"
        raise NotFoundError(
            f"no window whose {kind} {'is' if request.strict else 'contains'} {request.window_name!r}"
        )
    return next((w for w in found if w.active), found[0])


def _matching(windows: list[Window], name: str, strict: bool, by_class: bool) -> list[Window]:
    def value(window: Window) -> str:
        return window.wm_class if by_class else window.title

    def named(wanted: str) -> list[Window]:
        if strict:
            return [w for w in windows if value(w) == wanted]
        return [w for w in windows if wanted.casefold() in value(w).casefold()]

    found = named(name)
    if not found and GOOGLE_CHROME.search(name):
        # OSWorld's tasks name Google Chrome's windows ("... - Google Chrome",
        # "google-chrome"); the image's google-chrome is Chromium.
        found = named(GOOGLE_CHROME.sub(lambda m: "chromium" if "-" in m[0] else "Chromium", name))
    return found


async def _until(
    condition: Callable[[], Awaitable[bool]], timeout: float, interval: float, failure: str
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{failure} within {timeout:g} s")
        await asyncio.sleep(interval)
