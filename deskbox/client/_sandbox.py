"""AsyncSandbox: one sandbox, driven over HTTP. The method names follow e2b_desktop.Sandbox."""

from __future__ import annotations

import builtins
from types import TracebackType
from typing import Any, Literal

from .. import errors
from ..actions import (
    Action,
    ActionRequest,
    ActionResponse,
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
    Scroll,
    Type,
)
from ..backends import Backend, SandboxInfo, SandboxSpec, get_backend
from ..models import Window
from ._commands import AsyncCommands
from ._files import AsyncFiles
from ._transport import Transport

ScrollDirection = Literal["up", "down", "left", "right"]


class AsyncStream:
    """``sandbox.stream``: the live viewer."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def start(self) -> None:
        """The viewer is always running; kept for e2b_desktop compatibility."""

    async def get_url(self, view_only: bool = False) -> str:
        """A one-time viewer URL (valid 60 s). Safe to hand out: it carries no token."""
        ticket = await self._transport.json("POST", "/viewer/tickets", json_body={"view_only": view_only})
        return str(ticket["url"])


class AsyncSandbox:
    """A desktop sandbox. Create one with ``await AsyncSandbox.create()``."""

    def __init__(
        self,
        info: SandboxInfo,
        backend: Backend | None = None,
        envs: dict[str, str] | None = None,
        request_timeout: float | None = None,
    ) -> None:
        self.info = info
        self._backend = backend
        self._transport = Transport(info.url, info.token, request_timeout)
        self.commands = AsyncCommands(self._transport, envs)
        self.files = AsyncFiles(self._transport)
        self.stream = AsyncStream(self._transport)

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
        **backend_options: Any,
    ) -> AsyncSandbox:
        """Start a sandbox and wait until every part of it is ready."""
        chosen = get_backend(backend, **backend_options)
        spec = SandboxSpec(
            resolution=resolution,
            timeout=timeout,
            metadata=metadata or {},
            envs=envs or {},
            cpu=cpu,
            memory_mb=memory_mb,
        )
        if getattr(chosen, "drives_sandboxes", False):  # e2b stock mode: no deskbox server
            sandbox: AsyncSandbox = await chosen.open_sandbox(spec)  # type: ignore[attr-defined]
            return sandbox
        info = await chosen.create(spec)
        return cls(info, chosen, request_timeout=request_timeout)

    @classmethod
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
                raise ValueError("connect by URL needs the token too")
            return cls(SandboxInfo(sandbox_id=sandbox_id or url, url=url, token=token, backend="url"))
        if sandbox_id is None:
            raise ValueError("give a sandbox_id, or a url and token")
        chosen = get_backend(backend, **backend_options)
        if getattr(chosen, "drives_sandboxes", False):
            connected: AsyncSandbox = await chosen.open_connected(sandbox_id)  # type: ignore[attr-defined]
            return connected
        return cls(await chosen.connect(sandbox_id), chosen)

    @staticmethod
    async def list(backend: str | Backend = "docker", **backend_options: Any) -> builtins.list[SandboxInfo]:
        return await get_backend(backend, **backend_options).list()

    async def kill(self) -> None:
        """End the sandbox and free everything it held."""
        await self._transport.aclose()
        if self._backend is not None:
            await self._backend.kill(self.sandbox_id)

    async def set_timeout(self, timeout: float) -> None:
        """Kill the sandbox ``timeout`` seconds from now instead of at its current deadline."""
        if self._backend is None:
            raise ValueError("set_timeout needs a sandbox created or connected through a backend")
        await self._backend.set_timeout(self.sandbox_id, timeout)

    async def pause(self) -> None:
        """Freeze the sandbox where the backend can (e2b); ``connect(id)`` resumes it."""
        pause = getattr(self._backend, "pause", None)
        if pause is None:
            name = self._backend.name if self._backend is not None else "url"
            raise errors.BackendError(f"the {name} backend cannot pause a sandbox")
        await self._transport.aclose()
        await pause(self.sandbox_id)

    async def close(self) -> None:
        """Close the connection but leave the sandbox running."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncSandbox:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.kill()

    # ---- raw actions --------------------------------------------------------------------

    async def act(
        self,
        action: Action | Batch | builtins.list[Action],
        *,
        screenshot_after: bool = False,
        settle: float = 0.0,
        **screenshot_options: Any,
    ) -> ActionResponse:
        """Run schema actions directly: one, a Batch, or a list (sent as one batch).

        With ``screenshot_after``, the response carries the screen after them; ``settle``
        waits up to that many seconds for the screen to stop changing first.
        """
        request: ActionRequest = Batch(actions=action) if isinstance(action, list) else action
        params = (
            {"screenshot_after": True, "settle": settle, **screenshot_options} if screenshot_after else None
        )
        body = await self._transport.json(
            "POST", "/actions", json_body=request.model_dump(mode="json"), params=params
        )
        return ActionResponse.model_validate(body)

    # ---- screen and pointer -------------------------------------------------------------

    async def screenshot(
        self,
        format: ImageFormat | Literal["bytes"] = "png",
        *,
        quality: int = 80,
        width: int | None = None,
        height: int | None = None,
        settle: float = 0.0,
    ) -> bytes:
        """The screen as image bytes (e2b_desktop's ``format="bytes"`` means PNG).

        ``settle`` waits up to that many seconds for the screen to stop changing.
        """
        fmt = "png" if format == "bytes" else format
        params = {"format": fmt, "quality": quality, "width": width, "height": height, "settle": settle}
        response = await self._transport.request("GET", "/screenshot", params=params)
        return response.content

    async def _do(self, action: Action) -> None:
        """Send one action; the convenience methods need no result, so none is parsed."""
        await self._transport.request("POST", "/actions", json_body=action.model_dump(mode="json"))

    async def _click(self, button: MouseButton, x: int | None, y: int | None, count: int = 1) -> None:
        await self._do(Click(button=button, x=x, y=y, count=count))

    async def left_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("left", x, y)

    async def right_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("right", x, y)

    async def middle_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("middle", x, y)

    async def double_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("left", x, y, count=2)

    async def triple_click(self, x: int | None = None, y: int | None = None) -> None:
        await self._click("left", x, y, count=3)

    async def move_mouse(self, x: int, y: int) -> None:
        await self._do(Move(x=x, y=y))

    async def mouse_press(self, button: MouseButton = "left") -> None:
        await self._do(MouseDown(button=button))

    async def mouse_release(self, button: MouseButton = "left") -> None:
        await self._do(MouseUp(button=button))

    async def drag(self, fr: tuple[int, int], to: tuple[int, int]) -> None:
        await self._do(Drag(path=[Point(x=fr[0], y=fr[1]), Point(x=to[0], y=to[1])]))

    async def scroll(
        self, direction: ScrollDirection = "down", amount: int = 1, x: int | None = None, y: int | None = None
    ) -> None:
        dx = {"left": -amount, "right": amount}.get(direction, 0)
        dy = {"up": -amount, "down": amount}.get(direction, 0)
        await self._do(Scroll(dx=dx, dy=dy, x=x, y=y))

    # ---- keyboard -----------------------------------------------------------------------

    async def write(
        self, text: str, *, chunk_size: int | None = None, delay_in_ms: int | None = None
    ) -> None:
        """Type any Unicode text. ``chunk_size``/``delay_in_ms`` are accepted for
        e2b_desktop compatibility and ignored: typing needs neither here."""
        await self._do(Type(text=text))

    async def press(self, key: str | builtins.list[str]) -> None:
        """Press keys together: "enter", "ctrl+c" or ["ctrl", "c"]."""
        await self._do(Key(keys=key))  # type: ignore[arg-type]

    async def hold_key(self, key: str | builtins.list[str], duration: float) -> None:
        await self._do(HoldKey(keys=key, duration=duration))  # type: ignore[arg-type]

    # ---- queries and desktop ------------------------------------------------------------

    async def get_cursor_position(self) -> tuple[int, int]:
        body = await self._transport.json("GET", "/cursor")
        return int(body["x"]), int(body["y"])

    async def get_screen_size(self) -> tuple[int, int]:
        body = await self._transport.json("GET", "/screen")
        return int(body["width"]), int(body["height"])

    async def wait(self, ms: int) -> None:
        await self._transport.json("POST", "/actions", json_body={"type": "wait", "duration": ms / 1000})

    async def open(self, file_or_url: str) -> None:
        await self._transport.json("POST", "/open", json_body={"target": file_or_url})

    async def launch(self, application: str | builtins.list[str], uri: str | None = None) -> int:
        """Start an application; returns its pid."""
        command = [application] if isinstance(application, str) else list(application)
        body = await self._transport.json(
            "POST", "/launch", json_body={"command": [*command, *([uri] if uri else [])]}
        )
        return int(body["pid"])

    async def list_windows(self) -> builtins.list[Window]:
        return [Window.model_validate(w) for w in await self._transport.json("GET", "/windows")]

    async def focus_window(self, window_id: int | str) -> None:
        await self._transport.request("POST", f"/windows/{int(window_id)}/focus")

    async def get_current_window_id(self) -> str:
        active = [w for w in await self.list_windows() if w.active]
        return str(active[0].id) if active else ""

    async def get_application_windows(self, application: str) -> builtins.list[str]:
        needle = application.lower()
        return [str(w.id) for w in await self.list_windows() if needle in w.wm_class.lower()]

    async def get_window_title(self, window_id: str | int) -> str:
        for window in await self.list_windows():
            if window.id == int(window_id):
                return window.title
        return ""

    async def navigate(self, url: str) -> None:
        """Open ``url`` in the desktop browser's active tab; returns once it has loaded."""
        await self._transport.request("POST", "/browser/navigate", json_body={"url": url})

    async def go_back(self) -> bool:
        """Back one page in the browser's active tab; False if there was none."""
        return bool(
            (await self._transport.json("POST", "/browser/history", json_body={"delta": -1}))["moved"]
        )

    async def go_forward(self) -> bool:
        return bool((await self._transport.json("POST", "/browser/history", json_body={"delta": 1}))["moved"])

    async def browser_tabs(self) -> builtins.list[dict[str, Any]]:
        """The desktop browser's open pages (id, title, url), the most recently active first."""
        targets = await self._transport.json("GET", "/cdp/json/list")
        return [t for t in targets if t.get("type") == "page"]

    async def get_clipboard(self) -> str:
        return str((await self._transport.json("GET", "/clipboard"))["text"])

    async def set_clipboard(self, text: str) -> None:
        await self._transport.json("PUT", "/clipboard", json_body={"text": text})
