"""AsyncSandbox: one sandbox, driven through its connection. The method names follow
e2b_desktop.Sandbox.

Every backend, E2B's stock template included, is driven by this one class: a backend
only says where the sandbox is and which transport reaches it.
"""

from __future__ import annotations

import builtins
from types import TracebackType
from typing import Annotated, Any, Literal

import httpx
from pydantic import Field, SkipValidation, TypeAdapter, ValidationError

from .. import errors
from ..actions import (
    DEFAULT_SCRIPT_SECONDS,
    Action,
    ActionResponse,
    ActionResult,
    Batch,
    Click,
    Drag,
    HoldKey,
    ImageFormat,
    Key,
    MouseButton,
    MouseDown,
    MouseUp,
    Move,
    Point,
    PyAutoGUI,
    ScrollDirection,
    Type,
    Wait,
    build,
    parse_request,
    scroll_motion,
)
from ..actions import Scroll as ScrollAction
from ..backends import (
    Backend,
    SandboxInfo,
    SandboxSpec,
    SnapshotInfo,
    SupportsPause,
    SupportsReset,
    SupportsSnapshots,
    get_backend,
)
from ..models import ActiveWindow, ClipboardContent, HistoryMoved, Size, Window, WindowTitle
from ._accessibility import AsyncAccessibility
from ._commands import AsyncCommands
from ._connection import Connection
from ._files import AsyncFiles
from ._pty import AsyncPty
from ._recording import AsyncRecording
from ._stream import AsyncStream
from ._trace import AsyncTrace
from ._validation import checked

ActionInput = Annotated[
    Action | Batch | builtins.list[Action] | dict[str, Any] | builtins.list[dict[str, Any]], SkipValidation
]
"""One action, a Batch, or a list run as one batch; models or their JSON form (dicts)."""
_TARGETS = TypeAdapter(builtins.list[dict[str, Any]])


def _spec(**fields: Any) -> SandboxSpec:
    try:
        return SandboxSpec(**fields)
    except ValidationError as exc:
        raise errors.InvalidActionError.from_validation(exc) from None


def _chosen(backend: str | Backend, options: dict[str, Any]) -> tuple[Backend, bool]:
    """The backend, and whether the SDK made it (and so closes it)."""
    try:
        return get_backend(backend, **options), isinstance(backend, str)
    except TypeError as exc:
        raise errors.InvalidActionError(f"backend {backend!r}: {exc}") from exc


def _incapable(backend: Backend, what: str) -> errors.CapabilityError:
    return errors.CapabilityError(f"the {backend.name} backend cannot {what} a sandbox", capability=what)


def _pausing(backend: Backend, what: str) -> SupportsPause:
    if not isinstance(backend, SupportsPause):
        raise _incapable(backend, what)
    return backend


def _snapshotting(backend: Backend, what: str) -> SupportsSnapshots:
    if not isinstance(backend, SupportsSnapshots):
        raise _incapable(backend, what)
    return backend


def _resetting(backend: Backend) -> SupportsReset:
    if not isinstance(backend, SupportsReset):
        raise _incapable(backend, "reset")
    return backend


def _window(window_id: int | str) -> int:
    if isinstance(window_id, int) or window_id.isdigit():
        return int(window_id)
    raise errors.InvalidActionError.at(("window_id",), f"a window id is a number, not {window_id!r}")


class AsyncSandbox:
    """A desktop sandbox. Create one with ``create()``; it is killed at its timeout."""

    info: SandboxInfo
    commands: AsyncCommands
    pty: AsyncPty
    files: AsyncFiles
    stream: AsyncStream
    accessibility: AsyncAccessibility
    recording: AsyncRecording
    trace: AsyncTrace

    def __init__(
        self,
        info: SandboxInfo,
        backend: Backend | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        request_timeout: float | None = None,
        owns_backend: bool = False,
    ) -> None:
        """Use ``create`` or ``connect``; this wraps a sandbox a backend has found."""
        self.info = info
        self._backend = backend
        self._owns_backend = owns_backend
        self._connection = Connection(info.url, info.token, request_timeout, transport, info.headers)
        self.commands = AsyncCommands(self._connection)
        self.pty = AsyncPty(self._connection, self.commands)
        self.files = AsyncFiles(self._connection)
        self.stream = AsyncStream(self._connection)
        self.accessibility = AsyncAccessibility(self._connection)
        self.recording = AsyncRecording(self._connection)
        self.trace = AsyncTrace(self._connection)

    def __repr__(self) -> str:
        return f"AsyncSandbox(sandbox_id={self.sandbox_id!r}, url={self.url!r})"

    @property
    def sandbox_id(self) -> str:
        return self.info.sandbox_id

    @property
    def url(self) -> str:
        return self.info.url

    # ---- lifecycle ----------------------------------------------------------------------

    @classmethod
    @checked
    async def create(
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
        snapshot: str | SnapshotInfo | None = None,
        **backend_options: Any,
    ) -> AsyncSandbox:
        """Start a sandbox and wait until every part of it is ready; from a snapshot's
        filesystem if one is given (where the backend keeps snapshots)."""
        spec = _spec(
            resolution=resolution,
            timeout=timeout,
            metadata=metadata or {},
            envs=envs or {},
            cpu=cpu,
            memory_mb=memory_mb,
            snapshot=snapshot.name if isinstance(snapshot, SnapshotInfo) else snapshot,
        )
        chosen, owned = _chosen(backend, backend_options)
        try:
            if spec.snapshot is not None:
                _snapshotting(chosen, "snapshot")
            info = await chosen.create(spec)
            transport = await chosen.transport(info)
        except BaseException:
            if owned:
                await chosen.aclose()
            raise
        return cls(info, chosen, transport=transport, request_timeout=request_timeout, owns_backend=owned)

    @classmethod
    @checked
    async def connect(
        cls,
        sandbox_id: str | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        backend: str | Backend = "docker",
        **backend_options: Any,
    ) -> AsyncSandbox:
        """Attach to a running sandbox, by id through its backend, or by URL and token."""
        if url is not None:
            if token is None:
                raise errors.InvalidActionError.at(("token",), "connect by URL needs the token too")
            return cls(SandboxInfo(sandbox_id=sandbox_id or url, url=url, token=token, backend="url"))
        if sandbox_id is None:
            raise errors.InvalidActionError.at(("sandbox_id",), "give a sandbox_id, or a url and token")
        chosen, owned = _chosen(backend, backend_options)
        try:
            info = await chosen.connect(sandbox_id)
            transport = await chosen.transport(info)
        except BaseException:
            if owned:
                await chosen.aclose()
            raise
        return cls(info, chosen, transport=transport, owns_backend=owned)

    @staticmethod
    @checked
    async def list(backend: str | Backend = "docker", **backend_options: Any) -> builtins.list[SandboxInfo]:
        """The backend's running sandboxes."""
        chosen, owned = _chosen(backend, backend_options)
        try:
            return await chosen.list()
        finally:
            if owned:
                await chosen.aclose()

    def _lifecycle(self, what: str) -> Backend:
        if self._backend is None:
            raise errors.CapabilityError(
                f"{what} needs a sandbox created or connected through a backend, not by URL",
                capability=what,
            )
        return self._backend

    async def kill(self) -> None:
        """End the sandbox and free everything it held."""
        backend = self._lifecycle("kill")
        await self._connection.aclose()
        try:
            await backend.kill(self.sandbox_id)
        finally:
            await self._release_backend()

    @checked
    async def set_timeout(self, timeout: float) -> None:
        """Kill the sandbox ``timeout`` seconds from now instead of at its current deadline."""
        _spec(timeout=timeout)
        await self._lifecycle("set_timeout").set_timeout(self.sandbox_id, timeout)

    def _pausable(self, what: str) -> SupportsPause:
        return _pausing(self._lifecycle(what), what)

    async def pause(self) -> None:
        """Freeze the sandbox where the backend can; ``resume()`` or ``connect(id)`` thaws it."""
        pausing = self._pausable("pause")
        # Closed first, while the server can answer the close: a frozen one cannot, and the
        # close would wait out its timeout (50 ms, twice).
        await self._connection.aclose()
        try:
            await pausing.pause(self.sandbox_id)
        except BaseException:
            transport = await self._lifecycle("pause").transport(self.info)
            self._connection.reopen(self.info.url, self.info.token, transport, self.info.headers)
            raise

    async def resume(self) -> None:
        """Thaw a paused sandbox and reconnect to it."""
        self.info = await self._pausable("resume").resume(self.sandbox_id)
        transport = await self._lifecycle("resume").transport(self.info)
        self._connection.reopen(self.info.url, self.info.token, transport, self.info.headers)

    @checked
    async def snapshot(self, name: str | None = None) -> SnapshotInfo:
        """Keep the sandbox's filesystem (home, installed packages, browser profile and
        tabs, the agent's files) to start sandboxes from; not its memory or processes."""
        return await _snapshotting(self._lifecycle("snapshot"), "snapshot").snapshot(self.sandbox_id, name)

    @checked
    async def fork(self, n: Annotated[int, Field(ge=1, le=64)] = 1) -> builtins.list[AsyncSandbox]:
        """``n`` new sandboxes, each starting from this one's filesystem as it is now."""
        backend = self._lifecycle("fork")
        forked = await _snapshotting(backend, "fork").fork(self.sandbox_id, n)
        made = []
        for info in forked:
            made.append(type(self)(info, backend, transport=await backend.transport(info)))
        return made

    async def reset(self) -> None:
        """Put the sandbox back as it was created (its image or snapshot), under the same
        id and deadline; this object reconnects to it (the URL may change)."""
        backend = self._lifecycle("reset")
        resetting = _resetting(backend)
        # Closed first, while the used sandbox still answers the close: once reset() has
        # handed it to removal, a close would wait out its timeout (50 ms, twice).
        await self._connection.aclose()
        try:
            self.info = await resetting.reset(self.sandbox_id)
        finally:
            self._connection.reopen(
                self.info.url, self.info.token, await backend.transport(self.info), self.info.headers
            )

    @staticmethod
    @checked
    async def list_snapshots(
        backend: str | Backend = "docker", **backend_options: Any
    ) -> builtins.list[SnapshotInfo]:
        """The backend's snapshots, oldest first."""
        chosen, owned = _chosen(backend, backend_options)
        try:
            return await _snapshotting(chosen, "snapshot").list_snapshots()
        finally:
            if owned:
                await chosen.aclose()

    @staticmethod
    @checked
    async def delete_snapshot(
        snapshot: str | SnapshotInfo, backend: str | Backend = "docker", **backend_options: Any
    ) -> None:
        """Delete a snapshot; a ConflictError names the sandboxes still running from it."""
        chosen, owned = _chosen(backend, backend_options)
        name = snapshot.name if isinstance(snapshot, SnapshotInfo) else snapshot
        try:
            await _snapshotting(chosen, "snapshot").delete_snapshot(name)
        finally:
            if owned:
                await chosen.aclose()

    async def logs(self) -> str:
        """The sandbox's own log, from its backend."""
        return await self._lifecycle("logs").logs(self.sandbox_id)

    async def close(self) -> None:
        """Close the connection but leave the sandbox running."""
        await self._connection.aclose()
        await self._release_backend()

    async def _release_backend(self) -> None:
        if self._owns_backend and self._backend is not None:
            self._owns_backend = False
            await self._backend.aclose()

    async def __aenter__(self) -> AsyncSandbox:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.kill()

    # ---- raw actions --------------------------------------------------------------------

    @checked
    async def act(
        self,
        action: ActionInput,
        *,
        screenshot_after: bool = False,
        settle: float = 0.0,
        **screenshot_options: Any,
    ) -> ActionResponse:
        """Run schema actions directly: one, a Batch, or a list (sent as one batch), as
        models or their JSON form.

        With ``screenshot_after``, the response carries the screen after them; ``settle``
        waits up to that many seconds for the screen to stop changing first.
        """
        request = parse_request(action)
        params = (
            {"screenshot_after": True, "settle": settle, **screenshot_options} if screenshot_after else None
        )
        answer = await self._connection.content(
            "POST", "/actions", json_text=request.model_dump_json(), params=params
        )
        return ActionResponse.model_validate_json(answer)

    # ---- screen and pointer -------------------------------------------------------------

    @checked
    async def screenshot(
        self,
        format: ImageFormat | Literal["bytes"] = "png",
        *,
        quality: int = 80,
        width: int | None = None,
        height: int | None = None,
        settle: float = 0.0,
        cursor: bool = False,
    ) -> bytes:
        """The screen as image bytes (e2b_desktop's ``format="bytes"`` means PNG).

        ``settle`` waits up to that many seconds for the screen to stop changing;
        ``cursor`` draws the pointer in.
        """
        fmt = "png" if format == "bytes" else format
        params = {
            "format": fmt,
            "quality": quality,
            "width": width,
            "height": height,
            "settle": settle,
            "cursor": cursor or None,
        }
        return await self._connection.content("GET", "/screenshot", params=params)

    async def _do(self, action: Action) -> None:
        """Send one action; the convenience methods need no result, so none is parsed."""
        await self._connection.content("POST", "/actions", json_text=action.model_dump_json())

    async def _click(self, button: MouseButton, x: int | None, y: int | None, count: int = 1) -> None:
        await self._do(build(Click, button=button, x=x, y=y, count=count))

    @checked
    async def left_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("left", x, y)

    @checked
    async def right_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("right", x, y)

    @checked
    async def middle_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("middle", x, y)

    @checked
    async def double_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("left", x, y, count=2)

    @checked
    async def triple_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("left", x, y, count=3)

    @checked
    async def move_mouse(self, x: int, y: int) -> None:
        await self._do(build(Move, x=x, y=y))

    @checked
    async def mouse_press(self, button: MouseButton = "left") -> None:
        await self._do(build(MouseDown, button=button))

    @checked
    async def mouse_release(self, button: MouseButton = "left") -> None:
        await self._do(build(MouseUp, button=button))

    @checked
    async def drag(self, fr: tuple[int, int], to: tuple[int, int]) -> None:
        await self._do(build(Drag, path=[{"x": fr[0], "y": fr[1]}, {"x": to[0], "y": to[1]}]))

    @checked
    async def scroll(
        self, direction: ScrollDirection = "down", amount: int = 1, x: int | None = None, y: int | None = None
    ) -> None:
        await self._do(build(ScrollAction, x=x, y=y, **scroll_motion(direction, amount)))

    # ---- keyboard -----------------------------------------------------------------------

    @checked
    async def write(
        self, text: str, *, chunk_size: int | None = None, delay_in_ms: int | None = None
    ) -> None:
        """Type any Unicode text. ``chunk_size``/``delay_in_ms`` are accepted for
        e2b_desktop compatibility and ignored: typing needs neither here."""
        await self._do(build(Type, text=text))

    @checked
    async def press(self, key: str | builtins.list[str]) -> None:
        """Press keys together: "enter", "ctrl+c" or ["ctrl", "c"]."""
        await self._do(build(Key, keys=key))

    @checked
    async def hold_key(self, key: str | builtins.list[str], duration: float) -> None:
        """Hold keys down for ``duration`` seconds, then release them."""
        await self._do(build(HoldKey, keys=key, duration=duration))

    # ---- code actions -------------------------------------------------------------------

    @checked
    async def pyautogui(self, code: str, *, timeout: float = DEFAULT_SCRIPT_SECONDS) -> ActionResult:
        """Run pyautogui code in the sandbox, as OSWorld's agents write it.

        The result's ``output`` is what the code printed; ``signal`` is set when the code
        is one of OSWorld's ``WAIT``, ``FAIL`` or ``DONE``. Code that raises fails with
        its traceback (ActionFailedError); past ``timeout`` seconds it is stopped.
        """
        response = await self.act(build(PyAutoGUI, code=code, timeout=timeout))
        return response.results[0]

    # ---- queries and desktop ------------------------------------------------------------

    @checked
    async def get_cursor_position(self) -> tuple[int, int]:
        point = Point.model_validate_json(await self._connection.content("GET", "/cursor"))
        return point.x, point.y

    @checked
    async def get_screen_size(self) -> tuple[int, int]:
        size = Size.model_validate_json(await self._connection.content("GET", "/screen"))
        return size.width, size.height

    @checked
    async def wait(self, ms: int) -> None:
        """Wait ``ms`` milliseconds in the sandbox (part of the action sequence)."""
        await self._do(build(Wait, duration=ms / 1000))

    @checked
    async def open(self, file_or_url: str) -> None:
        """Open a file or URL with the desktop's default application."""
        await self._connection.json("POST", "/open", json_body={"target": file_or_url})

    @checked
    async def launch(self, application: str | builtins.list[str], uri: str | None = None) -> int:
        """Start an application; returns its pid."""
        command = [application] if isinstance(application, str) else builtins.list(application)
        body = await self._connection.json(
            "POST", "/launch", json_body={"command": [*command, *([uri] if uri else [])]}
        )
        return int(body["pid"])

    @checked
    async def list_windows(self) -> builtins.list[Window]:
        """Top-level windows with their titles; ``active`` marks the focused one."""
        return [Window.model_validate(w) for w in await self._connection.json("GET", "/windows")]

    @checked
    async def focus_window(self, window_id: int | str) -> None:
        await self._connection.request("POST", f"/windows/{_window(window_id)}/focus")

    @checked
    async def get_current_window_id(self) -> str:
        """The focused window's id, or "" when no window has the focus."""
        active = ActiveWindow.model_validate(await self._connection.json("GET", "/windows/active"))
        return "" if active.id is None else str(active.id)

    @checked
    async def get_application_windows(self, application: str) -> builtins.list[str]:
        """The ids of an application's windows, by window class (e.g. "chromium")."""
        found = await self._connection.json("GET", "/windows/search", params={"application": application})
        return [str(window_id) for window_id in found]

    @checked
    async def get_window_title(self, window_id: str | int) -> str:
        path = f"/windows/{_window(window_id)}/title"
        return WindowTitle.model_validate(await self._connection.json("GET", path)).title

    @checked
    async def navigate(self, url: str) -> None:
        """Open ``url`` in the desktop browser's active tab; returns once it has loaded."""
        await self._connection.request("POST", "/browser/navigate", json_body={"url": url})

    async def _history(self, delta: int) -> bool:
        body = await self._connection.json("POST", "/browser/history", json_body={"delta": delta})
        return HistoryMoved.model_validate(body).moved

    @checked
    async def go_back(self) -> bool:
        """Back one page in the browser's active tab; False if there was none."""
        return await self._history(-1)

    @checked
    async def go_forward(self) -> bool:
        """Forward one page in the browser's active tab; False if there was none."""
        return await self._history(1)

    @checked
    async def browser_tabs(self) -> builtins.list[dict[str, Any]]:
        """The desktop browser's open pages (id, title, url), the most recently active first."""
        targets = _TARGETS.validate_python(await self._connection.json("GET", "/cdp/json/list"))
        return [t for t in targets if t.get("type") == "page"]

    @checked
    async def get_clipboard(self) -> str:
        return ClipboardContent.model_validate(await self._connection.json("GET", "/clipboard")).text

    @checked
    async def set_clipboard(self, text: str) -> None:
        await self._connection.json("PUT", "/clipboard", json_body={"text": text})
