"""E2B's stock ``desktop`` template, answering the control server's requests.

The stock template runs no deskbox server, so the SDK's requests are answered here, from
a route table, by ``e2b_desktop`` calls: shell commands (xdotool, scrot, xmodmap) and
file operations. The SDK above runs unchanged; only this transport knows it is not
talking to our server.

What this mode can do is declared once, as data: ``ROUTES`` (the route table's keys)
and ``ACTIONS`` (the action types a batch may hold). Anything else is refused before it
runs, through ``refuse``, with an UnsupportedInModeError naming it and the mode. A new
route or action is off here until someone adds it to these tables.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx

from ... import errors
from ...actions import parse_request, screenshot_query
from ...dispatch import actions_of, perform
from ...models import (
    CommandRequest,
    CommandResult,
    FileInfo,
    Launched,
    LaunchRequest,
    MoveRequest,
    OpenRequest,
    Size,
)
from .._router import Call, EventStream, Handler, RouteTable, no_content, respond
from ._remote import Remote
from ._target import XdotoolTarget

MODE = "e2b stock mode"

ACTIONS = frozenset(
    {
        "move",
        "click",
        "mouse_down",
        "mouse_up",
        "drag",
        "scroll",
        "key",
        "key_down",
        "key_up",
        "hold_key",
        "type",
        "wait",
        "screenshot",
        "cursor_position",
        "zoom",
    }
)
"""The action types stock mode runs; any other is refused, naming it."""


def refuse(what: str) -> errors.UnsupportedInModeError:
    """The one refusal of this mode."""
    return errors.UnsupportedInModeError(
        f"{what} is not available in {MODE}; build the deskbox template "
        "(`deskbox e2b build-template`) and use the default mode for it",
        what=what,
        mode=MODE,
    )


class StockTransport(httpx.AsyncBaseTransport):
    """``httpx`` transport for one stock sandbox: ``desktop`` is its ``e2b_desktop.Sandbox``,
    ``sdk`` the ``e2b`` package whose exceptions it raises."""

    def __init__(self, desktop: Any, sdk: ModuleType) -> None:
        self._remote = Remote(desktop, sdk)
        self._target = XdotoolTarget(self._remote)
        self._table = RouteTable(self._routes())

    def _routes(self) -> dict[str, Handler]:
        return {
            "GET /screen": self._screen,
            "GET /cursor": self._cursor,
            "GET /screenshot": self._screenshot,
            "GET /screenshot/base64": self._screenshot_base64,
            "POST /actions": self._actions,
            "POST /shell/run": self._shell_run,
            "POST /shell/stream": self._shell_stream,
            "GET /files": self._files_list,
            "GET /files/stat": self._files_stat,
            "GET /files/exists": self._files_exists,
            "GET /files/download": self._files_download,
            "PUT /files/upload": self._files_upload,
            "POST /files/mkdir": self._files_mkdir,
            "POST /files/move": self._files_move,
            "DELETE /files": self._files_remove,
            "POST /open": self._open,
            "POST /launch": self._launch,
            "GET /windows/active": self._active_window,
            "GET /windows/search": self._search_windows,
            "GET /windows/{window_id}/title": self._window_title,
            "POST /windows/{window_id}/focus": self._focus_window,
            "POST /viewer/tickets": self._viewer_ticket,
        }

    @property
    def routes(self) -> frozenset[str]:
        """What this mode answers: the allowlist of routes."""
        return frozenset(self._table.routes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        found = self._table.match(request.method, path)
        if found is None:
            raise refuse(f"{request.method} {path}")
        handler, path_args = found
        body = await request.aread()
        return await handler(Call(request.method, path, request.url.params, body, path_args))

    # ---- screen and actions -------------------------------------------------------------

    async def _screen(self, call: Call) -> httpx.Response:
        width, height = await self._target.screen_size()
        return respond(Size(width=width, height=height))

    async def _cursor(self, call: Call) -> httpx.Response:
        x, y = await self._target.cursor_position()
        return respond({"x": x, "y": y})

    async def _screenshot(self, call: Call) -> httpx.Response:
        options, settle = screenshot_query(call.params)
        encoded = await self._target.screenshot(options, settle)
        headers = {"X-Image-Width": str(encoded.width), "X-Image-Height": str(encoded.height)}
        return httpx.Response(
            200, content=encoded.data, headers={"content-type": encoded.media_type, **headers}
        )

    async def _screenshot_base64(self, call: Call) -> httpx.Response:
        options, settle = screenshot_query(call.params)
        return respond((await self._target.screenshot(options, settle)).to_model())

    async def _actions(self, call: Call) -> httpx.Response:
        request = parse_request(call.json())
        for step in actions_of(request):
            if step.type not in ACTIONS:
                raise refuse(f"the {step.type!r} action")
        after, settle = screenshot_query(call.params) if call.flag("screenshot_after") else (None, 0.0)
        return respond(await perform(self._target, request, after, settle))

    # ---- commands -----------------------------------------------------------------------

    def _command(self, call: Call) -> tuple[str, dict[str, Any]]:
        request: CommandRequest = call.model(CommandRequest)
        if request.stdin is not None:
            raise refuse("stdin for a command")
        if request.open_stdin:
            raise refuse("a command with its input kept open")
        command = request.cmd if isinstance(request.cmd, str) else shlex.join(request.cmd)
        options = {
            "envs": request.env or None,
            "cwd": request.cwd,
            "user": request.user,
            "timeout": 0 if request.timeout is None else request.timeout,
        }
        return command, {k: v for k, v in options.items() if v is not None}

    async def _shell_run(self, call: Call) -> httpx.Response:
        command, options = self._command(call)
        started = time.monotonic()
        try:
            raw = await self._remote.run(command, **options)
        except errors.TimeoutError:
            return respond(CommandResult(stdout="", stderr="", exit_code=-1, timed_out=True, duration=0))
        result = CommandResult(
            stdout=str(raw.stdout),
            stderr=str(raw.stderr),
            exit_code=int(raw.exit_code),
            duration=time.monotonic() - started,
        )
        return respond(result)

    async def _shell_stream(self, call: Call) -> httpx.Response:
        command, options = self._command(call)
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=EventStream(self._follow(command, options)),
        )

    async def _follow(self, command: str, options: dict[str, Any]) -> AsyncIterator[tuple[str, Any]]:
        """A command's output as events, as /shell/stream sends them."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str) -> Any:
            return lambda text: loop.call_soon_threadsafe(queue.put_nowait, (kind, text))

        running = asyncio.ensure_future(
            self._remote.run(command, on_stdout=emit("stdout"), on_stderr=emit("stderr"), **options)
        )
        yield "start", {"command": command}
        try:
            while not (running.done() and queue.empty()):
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, running}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                else:
                    getter.cancel()
            try:
                raw = running.result()
            except errors.TimeoutError:
                yield "exit", {"exit_code": -1, "timed_out": True}
                return
            yield "exit", {"exit_code": int(raw.exit_code), "timed_out": False}
        finally:
            running.cancel()

    # ---- files --------------------------------------------------------------------------

    async def _info(self, path: str) -> FileInfo:
        return _file_info(await self._remote.call(lambda d: d.files.get_info(path)))

    async def _files_list(self, call: Call) -> httpx.Response:
        path, depth = call.required("path"), int(call.param("depth") or 1)
        entries = await self._remote.call(lambda d: d.files.list(path, depth=depth))
        return respond([_file_info(entry) for entry in entries])

    async def _files_stat(self, call: Call) -> httpx.Response:
        return respond(await self._info(call.required("path")))

    async def _files_exists(self, call: Call) -> httpx.Response:
        path = call.required("path")
        return respond(bool(await self._remote.call(lambda d: d.files.exists(path))))

    async def _files_download(self, call: Call) -> httpx.Response:
        path = call.required("path")
        data = await self._remote.call(lambda d: d.files.read(path, format="bytes"))
        return httpx.Response(200, content=bytes(data), headers={"content-type": "application/octet-stream"})

    async def _files_upload(self, call: Call) -> httpx.Response:
        path, mode = call.required("path"), call.param("mode")
        await self._remote.call(lambda d: d.files.write(path, call.body))
        if mode is not None:
            await self._remote.check(f"chmod {shlex.quote(mode)} {shlex.quote(path)}")
        return respond(await self._info(path))

    async def _files_mkdir(self, call: Call) -> httpx.Response:
        path = call.required("path")
        await self._remote.call(lambda d: d.files.make_dir(path))
        return respond(await self._info(path))

    async def _files_move(self, call: Call) -> httpx.Response:
        move: MoveRequest = call.model(MoveRequest)
        exists = await self._remote.call(lambda d: d.files.exists(move.destination))
        if exists and not move.overwrite:
            raise errors.ConflictError(f"{move.destination} exists; pass overwrite=True to replace it")
        await self._remote.call(lambda d: d.files.rename(move.source, move.destination))
        return respond(await self._info(move.destination))

    async def _files_remove(self, call: Call) -> httpx.Response:
        path = call.required("path")
        if not call.flag("recursive"):
            listing = await self._remote.run(f"test ! -d {shlex.quote(path)} || rmdir {shlex.quote(path)}")
            if int(listing.exit_code) != 0:
                raise errors.ConflictError(f"{path} is a folder that is not empty; remove it recursively")
        await self._remote.call(lambda d: d.files.remove(path))
        return no_content()

    # ---- desktop ------------------------------------------------------------------------

    async def _open(self, call: Call) -> httpx.Response:
        target = call.model(OpenRequest).target
        return respond(Launched(pid=await self._remote.spawn(["xdg-open", target])))

    async def _launch(self, call: Call) -> httpx.Response:
        command = call.model(LaunchRequest).command
        argv = shlex.split(command) if isinstance(command, str) else command
        return respond(Launched(pid=await self._remote.spawn(argv)))

    async def _active_window(self, call: Call) -> httpx.Response:
        result = await self._remote.run("xdotool getwindowfocus")
        focused = str(result.stdout).strip()
        return respond({"id": int(focused) if int(result.exit_code) == 0 and focused.isdigit() else None})

    async def _search_windows(self, call: Call) -> httpx.Response:
        application = call.required("application")
        # xdotool exits 1 when nothing matches: no windows, not a failure.
        result = await self._remote.run(f"xdotool search --onlyvisible --class {shlex.quote(application)}")
        return respond([int(line) for line in str(result.stdout).split() if line.isdigit()])

    async def _window_title(self, call: Call) -> httpx.Response:
        window = _window_id(call)
        result = await self._remote.run(f"xdotool getwindowname {window}")
        if int(result.exit_code) != 0:
            raise errors.NotFoundError(f"no window {window}")
        return respond({"title": str(result.stdout).rstrip("\n")})

    async def _focus_window(self, call: Call) -> httpx.Response:
        window = _window_id(call)
        result = await self._remote.run(f"xdotool windowactivate --sync {window}")
        if int(result.exit_code) != 0:
            raise errors.NotFoundError(f"no window {window}: {str(result.stderr).strip()}")
        return no_content()

    async def _viewer_ticket(self, call: Call) -> httpx.Response:
        view_only = bool((call.json() or {}).get("view_only", False))

        def url(desktop: Any) -> str:
            if not getattr(desktop.stream, "_is_running", False):
                desktop.stream.start()
            return str(desktop.stream.get_url(view_only=view_only))

        return respond({"url": await self._remote.call(url), "view_only": view_only})


def _window_id(call: Call) -> int:
    raw = call.path_args["window_id"]
    if not raw.isdigit():
        raise errors.InvalidActionError.at(("path", "window_id"), "Input should be a valid integer")
    return int(raw)


def _file_info(entry: Any) -> FileInfo:
    kind = str(getattr(getattr(entry, "type", None), "value", getattr(entry, "type", "file")))
    modified = getattr(entry, "modified_time", None)
    return FileInfo(
        name=str(entry.name),
        path=str(entry.path),
        type="dir" if kind == "dir" else "file",
        size=int(getattr(entry, "size", 0) or 0),
        mode=oct(int(getattr(entry, "mode", 0) or 0))[2:],
        modified=float(modified.timestamp()) if modified is not None else 0.0,
    )


__all__ = ["ACTIONS", "MODE", "StockTransport", "refuse"]
