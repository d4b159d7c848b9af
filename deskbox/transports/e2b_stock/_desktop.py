"""Stock mode's desktop routes: windows, programs and the viewer, by xdotool and e2b."""

from __future__ import annotations

import shlex
from typing import Any

import httpx

from ... import errors
from ...models import ActiveWindow, Launched, LaunchRequest, Opened, OpenRequest, WindowTitle
from .._router import Call, no_content, respond
from ._remote import Remote


def _window_id(call: Call) -> int:
    raw = call.path_args["window_id"]
    if not raw.isdigit():
        raise errors.InvalidActionError.at(("path", "window_id"), "Input should be a valid integer")
    return int(raw)


async def open_target(remote: Remote, call: Call) -> httpx.Response:
    target = call.model(OpenRequest).target
    return respond(Opened(via="application", pid=await remote.spawn(["xdg-open", target])))


async def launch(remote: Remote, call: Call) -> httpx.Response:
    command = call.model(LaunchRequest).command
    argv = shlex.split(command) if isinstance(command, str) else command
    return respond(Launched(pid=await remote.spawn(argv)))


async def active_window(remote: Remote, call: Call) -> httpx.Response:
    result = await remote.run("xdotool getwindowfocus")
    focused = str(result.stdout).strip()
    found = int(result.exit_code) == 0 and focused.isdigit()
    return respond(ActiveWindow(id=int(focused) if found else None))


async def search_windows(remote: Remote, call: Call) -> httpx.Response:
    application = call.required("application")
    # xdotool exits 1 when nothing matches: no windows, not a failure.
    result = await remote.run(f"xdotool search --onlyvisible --class {shlex.quote(application)}")
    return respond([int(line) for line in str(result.stdout).split() if line.isdigit()])


async def window_title(remote: Remote, call: Call) -> httpx.Response:
    window = _window_id(call)
    result = await remote.run(f"xdotool getwindowname {window}")
    if int(result.exit_code) != 0:
        raise errors.NotFoundError(f"no window {window}")
    return respond(WindowTitle(title=str(result.stdout).rstrip("\n")))


async def focus_window(remote: Remote, call: Call) -> httpx.Response:
    window = _window_id(call)
    result = await remote.run(f"xdotool windowactivate --sync {window}")
    if int(result.exit_code) != 0:
        raise errors.NotFoundError(f"no window {window}: {str(result.stderr).strip()}")
    return no_content()


async def viewer_ticket(remote: Remote, call: Call) -> httpx.Response:
    """E2B's own viewer (its noVNC), started on first use."""
    view_only = bool((call.json() or {}).get("view_only", False))

    def url(desktop: Any) -> str:
        if not getattr(desktop.stream, "_is_running", False):
            desktop.stream.start()
        return str(desktop.stream.get_url(view_only=view_only))

    return respond({"url": await remote.call(url), "view_only": view_only})
