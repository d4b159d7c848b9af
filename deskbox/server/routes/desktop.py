"""The desktop around the actions: screen, cursor, clipboard, windows, apps."""

from __future__ import annotations

import shlex
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam

from ...actions import Point
from ...desktop import Desktop
from ...errors import InvalidActionError, NotFoundError
from ...models import (
    ActiveWindow,
    ClipboardContent,
    Launched,
    LaunchRequest,
    Opened,
    OpenRequest,
    Size,
    Window,
    WindowTitle,
)
from .. import opening
from ..deps import get_desktop

LAUNCH_GRACE = 0.5
"""Seconds a launched program is watched for dying at once."""

router = APIRouter(tags=["desktop"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]
WindowId = Annotated[int, PathParam(ge=0, le=0xFFFFFFFF, description="an X window id")]


@router.get("/screen", response_model=Size)
async def screen(desktop: DesktopDep) -> Size:
    width, height = await desktop.screen_size()
    return Size(width=width, height=height)


@router.get("/cursor", response_model=Point)
async def cursor(desktop: DesktopDep) -> Point:
    x, y = await desktop.cursor_position()
    return Point(x=x, y=y)


@router.get("/clipboard", response_model=ClipboardContent)
async def get_clipboard(desktop: DesktopDep) -> ClipboardContent:
    return ClipboardContent(text=await desktop.get_clipboard())


@router.put("/clipboard", response_model=ClipboardContent)
async def set_clipboard(content: ClipboardContent, desktop: DesktopDep) -> ClipboardContent:
    await desktop.set_clipboard(content.text)
    return content


@router.get("/windows", response_model=list[Window])
async def list_windows(desktop: DesktopDep) -> list[Window]:
    """Top-level windows with their titles; ``active`` marks the focused one."""
    return await desktop.list_windows()


@router.get("/windows/active", response_model=ActiveWindow)
async def active_window(desktop: DesktopDep) -> ActiveWindow:
    """The window that has the focus."""
    active = [w for w in await desktop.list_windows() if w.active]
    return ActiveWindow(id=active[0].id if active else None)


@router.get("/windows/search", response_model=list[int])
async def search_windows(
    desktop: DesktopDep,
    application: Annotated[str, Query(min_length=1, description="part of the window class, any case")],
) -> list[int]:
    """The ids of an application's windows, by its window class (e.g. "chromium")."""
    needle = application.lower()
    return [w.id for w in await desktop.list_windows() if needle in w.wm_class.lower()]


@router.get("/windows/{window_id}/title", response_model=WindowTitle)
async def window_title(window_id: WindowId, desktop: DesktopDep) -> WindowTitle:
    for window in await desktop.list_windows():
        if window.id == window_id:
            return WindowTitle(title=window.title)
    raise NotFoundError(f"no window {window_id}")


@router.post("/windows/{window_id}/focus", status_code=204)
async def focus_window(window_id: WindowId, desktop: DesktopDep) -> None:
    await desktop.focus_window(window_id)


@router.post("/open", response_model=Opened)
async def open_target(request: Request, body: OpenRequest, desktop: DesktopDep) -> Opened:
    """Show a URL or a file: in a new tab of the desktop's browser when it can show it,
    else in the file's default application; an error when nothing could show it."""
    return await opening.open_target(desktop, request.app.state.settings.cdp_url, body.target)


@router.post("/launch", response_model=Launched)
async def launch(request: LaunchRequest, desktop: DesktopDep) -> Launched:
    """Start an application on the desktop, detached from the server."""
    try:
        argv = shlex.split(request.command) if isinstance(request.command, str) else request.command
    except ValueError as exc:  # an unclosed quote
        raise InvalidActionError.at(("body", "command"), f"cannot split it into words: {exc}") from None
    if not argv or not argv[0]:
        raise InvalidActionError.at(("body", "command"), "name a program to start")
    pid = await desktop.launch(argv)
    # A program that cannot start (a browser refusing its sandbox, a missing library)
    # dies at once: that is a failed launch, not a pid to hand back.
    status = await desktop.exit_status_within(pid, LAUNCH_GRACE)
    if status not in (None, 0):
        raise InvalidActionError.at(("body", "command"), f"{argv[0]!r} exited at once with status {status}")
    return Launched(pid=pid)
