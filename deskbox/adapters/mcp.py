"""An MCP server over one sandbox: computer actions, screenshots, shell and files as tools.

    deskbox mcp --url http://127.0.0.1:8000            # stdio, for a desktop MCP client
    deskbox mcp --transport http --port 8765           # streamable HTTP on 127.0.0.1

Screenshots come back as image content. Every tool validates its arguments against the
action schema; a bad call comes back as a tool error naming the field, not a crash, and
the sandbox keeps serving. Over HTTP the server asks for a bearer token of its own.

Needs the ``mcp`` extra.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image as McpImage
from pydantic import Field

from .. import errors
from ..actions import (
    MAX_SETTLE_SECONDS,
    SCROLL_DIRECTIONS,
    ActionResponse,
    Click,
    CursorPosition,
    Drag,
    Key,
    Move,
    Point,
    Region,
    Scroll,
    ScrollDirection,
    Type,
    Zoom,
    scroll_motion,
)
from ..client import AsyncSandbox
from ..models import AccessibleNode, FileInfo
from ._computer import DEFAULT_SETTLE, Computer, ToolCallError, note_call

T = TypeVar("T")
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]
INSTRUCTIONS = (
    "These tools drive a Linux desktop (XFCE with Chromium) in a sandbox. Take a screenshot "
    "first; coordinates are screen pixels from the top-left corner. Shell commands and "
    "files act inside the same sandbox."
)


async def _guard(operation: Awaitable[T]) -> T:
    """Run a sandbox call, telling the model what went wrong instead of crashing the tool."""
    try:
        return await operation
    except ToolCallError as exc:
        raise ToolError(str(exc)) from exc
    except errors.DeskboxError as exc:
        raise ToolError(exc.describe()) from exc


class _TracedServer(MCPServer):
    """Each tool call goes into the sandbox's trace (when one runs) before it is run."""

    def __init__(self, sandbox: AsyncSandbox, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sandbox = sandbox

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        await note_call(self._sandbox, "mcp", {"tool": name, "arguments": arguments})
        return await super().call_tool(name, arguments, context)


def build_server(sandbox: AsyncSandbox) -> MCPServer:
    """The MCP server for ``sandbox``; run it with ``run_stdio`` or ``run_http``."""
    # WARNING, not INFO: at INFO every HTTP call to the sandbox is logged to stderr.
    server = _TracedServer(sandbox, "deskbox", instructions=INSTRUCTIONS, log_level="WARNING")
    # Screen pixels as they are: MCP clients see the screenshots at full size.
    computer = Computer(sandbox, scaling=False)

    def build(model: type[Any], **fields: Any) -> Any:
        try:
            return computer.build(model, **{k: v for k, v in fields.items() if v is not None})
        except ToolCallError as exc:
            raise ToolError(str(exc)) from exc

    async def do(*actions: Any) -> str:
        # The pointer's position rides along in the same batch: one round trip.
        response: ActionResponse = await _guard(computer.run([*actions, build(CursorPosition)]))
        cursor = response.results[-1].cursor
        assert cursor is not None
        return f"done ({len(actions)} action(s)); the pointer is at ({cursor.x}, {cursor.y})"

    @server.tool()
    async def screenshot(
        format: Literal["png", "jpeg", "webp"] = "png",
        width: Annotated[
            int | None, Field(description="scale to this width, keeping the aspect ratio")
        ] = None,
        settle: Annotated[
            float,
            Field(
                ge=0,
                le=MAX_SETTLE_SECONDS,
                description="wait up to this many seconds for the screen to stop changing",
            ),
        ] = DEFAULT_SETTLE,
    ) -> McpImage:
        """The screen as an image, once it has stopped changing."""
        data = await _guard(sandbox.screenshot(format, width=width, settle=settle))
        return McpImage(data=data, format=format)

    @server.tool()
    async def zoom(
        x: int,
        y: int,
        width: Annotated[int, Field(gt=0)],
        height: Annotated[int, Field(gt=0)],
        format: Literal["png", "jpeg", "webp"] = "png",
    ) -> McpImage:
        """A region of the screen (x, y: its top-left corner) scaled up to fit the screen,
        to read small text or place a click precisely."""
        region = build(Region, x=x, y=y, width=width, height=height)
        response: ActionResponse = await _guard(computer.run([build(Zoom, region=region, format=format)]))
        image = response.results[0].image
        assert image is not None
        return McpImage(data=base64.b64decode(image.data), format=format)

    @server.tool()
    async def screen_size() -> dict[str, int]:
        """The screen's width and height in pixels."""
        width, height = await _guard(sandbox.get_screen_size())
        return {"width": width, "height": height}

    @server.tool()
    async def click(
        x: int,
        y: int,
        button: Literal["left", "right", "middle", "back", "forward"] = "left",
        count: Annotated[int, Field(ge=1, le=3, description="2 for a double click, 3 for a triple")] = 1,
        modifiers: Annotated[
            list[str] | None, Field(description='keys held while clicking, e.g. ["shift"]')
        ] = None,
    ) -> str:
        """Click at (x, y)."""
        return await do(build(Click, x=x, y=y, button=button, count=count, modifiers=modifiers))

    @server.tool()
    async def move_mouse(x: int, y: int) -> str:
        """Move the pointer to (x, y)."""
        return await do(build(Move, x=x, y=y))

    @server.tool()
    async def drag(
        path: Annotated[list[Point], Field(min_length=2, description="points from press to release")],
    ) -> str:
        """Press at the first point, move through the rest, release at the last."""
        return await do(build(Drag, path=path))

    @server.tool()
    async def scroll(
        x: int,
        y: int,
        direction: ScrollDirection = "down",
        amount: Annotated[int, Field(ge=1, le=200, description="wheel notches")] = 3,
    ) -> str:
        """Turn the mouse wheel with the pointer at (x, y)."""
        if direction not in SCROLL_DIRECTIONS:
            raise ToolError(f"direction must be one of {', '.join(SCROLL_DIRECTIONS)}, got {direction!r}")
        return await do(build(Scroll, x=x, y=y, **scroll_motion(direction, amount)))

    @server.tool()
    async def type_text(text: str) -> str:
        """Type any Unicode text at the keyboard focus; newlines press Return."""
        return await do(build(Type, text=text))

    @server.tool()
    async def press_keys(
        keys: Annotated[str, Field(description='a combination such as "ctrl+c", "Return" or "alt+Tab"')],
        repeat: Annotated[int, Field(ge=1, le=100)] = 1,
    ) -> str:
        """Press keys together and release them."""
        return await do(build(Key, keys=keys, repeat=repeat))

    @server.tool()
    async def act(
        actions: Annotated[list[dict[str, Any]], Field(description="deskbox actions, each with a 'type'")],
    ) -> dict[str, Any]:
        """Run several deskbox actions in order in one step (move, click, drag, scroll, key,
        type, wait, ...). The first failure stops the rest."""
        response = await _guard(sandbox.act(actions))
        return response.model_dump(mode="json", exclude_none=True)

    @server.tool()
    async def cursor_position() -> dict[str, int]:
        """Where the pointer is."""
        x, y = await _guard(sandbox.get_cursor_position())
        return {"x": x, "y": y}

    @server.tool()
    async def open_url(url: str) -> str:
        """Open a web address in the desktop's browser and wait for the page to load."""
        await _guard(sandbox.navigate(url))
        return f"opened {url}"

    @server.tool()
    async def run_command(
        command: str,
        timeout: Annotated[float, Field(gt=0, le=3600, description="seconds")] = 60,
        cwd: str | None = None,
    ) -> dict[str, Any]:
        """Run a shell command in the sandbox and return its output and exit code."""
        result = await _guard(sandbox.commands.run(command, timeout=timeout, cwd=cwd, check=False))
        return {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.exit_code}

    @server.tool()
    async def read_file(path: str) -> str:
        """A text file's contents."""
        return str(await _guard(sandbox.files.read(path)))

    @server.tool()
    async def write_file(path: str, content: str) -> str:
        """Create or replace a text file (parent directories are made)."""
        info: FileInfo = await _guard(sandbox.files.write(path, content))
        return f"wrote {info.size} bytes to {info.path}"

    @server.tool()
    async def list_files(path: str = "/home") -> list[dict[str, Any]]:
        """The entries of a directory."""
        entries = await _guard(sandbox.files.list(path))
        return [{"name": e.name, "path": e.path, "type": e.type, "size": e.size} for e in entries]

    @server.tool()
    async def accessibility_tree(
        application: str | None = None,
        max_depth: Annotated[int | None, Field(ge=0, le=500)] = None,
    ) -> str:
        """The showing elements of the desktop's applications, one per line, indented by
        depth: role, "name", the centre to click, size, and states that matter."""
        tree = await _guard(sandbox.accessibility.tree(application, visible_only=True, max_depth=max_depth))
        lines = [_outline(app, 0) for app in tree.applications]
        notes = [f"(not read: {e.application}: {e.message})" for e in tree.errors]
        if tree.truncated:
            notes.append("(cut at the element limit: name an application or a max_depth)")
        return "\n".join(line for line in [*lines, *notes] if line)

    @server.tool()
    async def find_elements(
        role: str | None = None,
        name_contains: str | None = None,
        application: str | None = None,
    ) -> list[dict[str, Any]]:
        """Showing elements by role ("push button", "entry", "link", ...) and part of
        their name; each with the centre to click."""
        found = await _guard(
            sandbox.accessibility.find(role, name_contains=name_contains, application=application)
        )
        return [_brief(element) for element in found.elements]

    @server.tool()
    async def element_at(x: int, y: int) -> dict[str, Any]:
        """The element at a point on screen, and the elements it sits in."""
        found = await _guard(sandbox.accessibility.element_at(x, y))
        return {**_brief(found.element), "inside": [_brief(a) for a in found.ancestors]}

    return server


OUTLINE_STATES = ("focused", "checked", "selected", "expanded", "pressed", "editable")
LAYOUT_ROLES = frozenset({"panel", "filler", "section", "unknown", "redundant object"})


def _brief(element: AccessibleNode) -> dict[str, Any]:
    brief: dict[str, Any] = {"role": element.role, "name": element.name}
    if element.bounds is not None:
        x, y = element.bounds.center
        brief["center"] = {"x": x, "y": y}
        brief["size"] = {"width": element.bounds.width, "height": element.bounds.height}
    if element.text and element.text != element.name:
        brief["text"] = element.text[:500]
    states = [state for state in OUTLINE_STATES if state in element.states]
    if states:
        brief["states"] = states
    return brief


def _outline(node: AccessibleNode, depth: int) -> str:
    """``node`` and what is below it, leaving out nameless layout boxes (not their children)."""
    lines = []
    shown = node.role not in LAYOUT_ROLES or bool(node.name)
    if shown:
        line = f"{'  ' * depth}{node.role} {node.name!r}"
        if node.bounds is not None:
            x, y = node.bounds.center
            line += f" at ({x}, {y}) {node.bounds.width}x{node.bounds.height}"
        if node.text and node.text != node.name:
            line += f" text={node.text[:200]!r}"
        states = [state for state in OUTLINE_STATES if state in node.states]
        if states:
            line += f" [{', '.join(states)}]"
        lines.append(line)
    lines.extend(_outline(child, depth + 1 if shown else depth) for child in node.children)
    return "\n".join(line for line in lines if line)


async def run_stdio(sandbox: AsyncSandbox) -> None:
    await build_server(sandbox).run_stdio_async()


def bearer_guard(app: ASGIApp, token: str) -> ASGIApp:
    """Refuse HTTP requests without ``Authorization: Bearer <token>`` (compared in constant time)."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                body = b'{"error": "missing or wrong bearer token"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


async def run_http(
    sandbox: AsyncSandbox, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None
) -> None:
    """Streamable HTTP at ``http://host:port/mcp``, behind a bearer token."""
    import uvicorn

    if token is None:
        token = secrets.token_urlsafe(24)
        print(f"MCP token (send as 'Authorization: Bearer <token>'): {token}", file=sys.stderr)
    app = build_server(sandbox).streamable_http_app(host=host)
    config = uvicorn.Config(
        bearer_guard(app, token), host=host, port=port, log_level="warning", lifespan="on"
    )
    print(f"MCP server at http://{host}:{port}/mcp", file=sys.stderr)
    await uvicorn.Server(config).serve()


@contextlib.asynccontextmanager
async def sandbox_for(
    url: str | None, token: str | None, sandbox_id: str | None, backend: str
) -> AsyncIterator[AsyncSandbox]:
    """The sandbox to serve: by URL, by id, or a new one that ends with the server."""
    if url is None and sandbox_id is None:
        print(f"starting a new {backend} sandbox for this MCP server...", file=sys.stderr)
        async with await AsyncSandbox.create(backend=backend) as created:
            yield created
        return
    if url is not None:
        if not token:
            raise errors.DeskboxError("give the sandbox's token with --token or DESKBOX_TOKEN")
        sandbox = await AsyncSandbox.connect(url=url, token=token)
    else:
        sandbox = await AsyncSandbox.connect(sandbox_id, backend=backend)
    try:
        yield sandbox
    finally:
        await sandbox.close()
