"""`deskbox mcp` driven by the official MCP client, over stdio and streamable HTTP."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from deskbox import AsyncSandbox
from deskbox._ports import free_port
from tests.helpers import eventually, field_center, recorded

pytestmark = pytest.mark.integration

DESKBOX = str(Path(sys.executable).parent / "deskbox")
MCP_TOKEN = "mcp-test-" + os.urandom(6).hex()
TOOLS = {
    "screenshot",
    "zoom",
    "screen_size",
    "click",
    "move_mouse",
    "drag",
    "scroll",
    "type_text",
    "press_keys",
    "act",
    "cursor_position",
    "open_url",
    "run_command",
    "read_file",
    "write_file",
    "list_files",
    "accessibility_tree",
    "find_elements",
    "element_at",
}


@asynccontextmanager
async def stdio_client(sandbox: AsyncSandbox) -> AsyncIterator[Client]:
    """`deskbox mcp` as an MCP client launches it: a subprocess spoken to over stdio."""
    params = StdioServerParameters(
        command=DESKBOX,
        args=["mcp", "--url", sandbox.url],
        env={**os.environ, "DESKBOX_TOKEN": sandbox.info.token},
    )
    async with Client(params) as client:
        yield client


@pytest.fixture(scope="module")
def http_server(sandbox: AsyncSandbox) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DESKBOX_TOKEN": sandbox.info.token, "DESKBOX_MCP_TOKEN": MCP_TOKEN}
    process = subprocess.Popen(
        [DESKBOX, "mcp", "--url", sandbox.url, "--transport", "http", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = process.stderr.read() if process.stderr else ""
                pytest.fail(f"deskbox mcp --transport http did not start: {log}")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


def text(result: Any) -> str:
    return "".join(c.text for c in result.content if c.type == "text")


async def test_stdio_tools_screenshots_and_actions(sandbox: AsyncSandbox, recorder: Any) -> None:
    async with stdio_client(sandbox) as client:
        listed = await client.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        click = next(tool for tool in listed.tools if tool.name == "click")
        assert set(click.input_schema["required"]) == {"x", "y"}

        result = await client.call_tool("screenshot", {})
        assert not result.is_error
        image_content = result.content[0]
        assert image_content.type == "image" and image_content.mime_type == "image/png"
        image = Image.open(io.BytesIO(base64.b64decode(image_content.data)))
        assert image.size == await sandbox.get_screen_size()
        assert image.convert("RGB").getpixel(await field_center(recorder, "target")) == (255, 0, 0)

        tx, ty = await field_center(recorder, "target")
        zoomed = await client.call_tool("zoom", {"x": tx - 30, "y": ty - 20, "width": 60, "height": 40})
        assert not zoomed.is_error, text(zoomed)
        picture = Image.open(io.BytesIO(base64.b64decode(zoomed.content[0].data))).convert("RGB")
        screen_w, screen_h = await sandbox.get_screen_size()
        assert picture.width == screen_w or picture.height == screen_h  # scaled up to fit
        right, bottom = picture.width - 1, picture.height - 1
        corners = {picture.getpixel(corner) for corner in ((0, 0), (right, 0), (0, bottom), (right, bottom))}
        assert corners == {(255, 0, 0)}  # the whole region lies inside the red target
        off_screen = await client.call_tool("zoom", {"x": screen_w - 5, "y": 0, "width": 60, "height": 40})
        assert off_screen.is_error and "region" in text(off_screen)

        x, y = await field_center(recorder, "text")
        result = await client.call_tool("click", {"x": x, "y": y, "modifiers": ["shift"]})
        assert not result.is_error and f"({x}, {y})" in text(result)
        downs = await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
        assert (downs[0]["screenX"], downs[0]["screenY"], downs[0]["shift"]) == (x, y, True)
        await client.call_tool("type_text", {"text": "über MCP ✓"})
        await client.call_tool("press_keys", {"keys": "ctrl+a"})
        actions = [{"type": "key", "keys": "End"}, {"type": "type", "text": "!"}]
        await client.call_tool("act", {"actions": actions})
        value = await eventually(
            lambda: recorder.evaluate("document.getElementById('text').value"), lambda v: v.endswith("!")
        )
        assert value == "über MCP ✓!"
        px, py = await field_center(recorder, "pad")
        await client.call_tool("scroll", {"x": px, "y": py, "direction": "down", "amount": 2})
        await eventually(lambda: recorded(recorder, "wheel"), lambda e: sum(w["dy"] for w in e) == 240)
        await client.call_tool("drag", {"path": [{"x": px - 40, "y": py}, {"x": px + 40, "y": py + 30}]})
        ups = await eventually(lambda: recorded(recorder, "mouseup"), lambda e: len(e) == 2)
        assert (ups[-1]["screenX"], ups[-1]["screenY"]) == (px + 40, py + 30)
        position = await client.call_tool("cursor_position", {})
        assert position.structured_content == {"x": px + 40, "y": py + 30}


async def test_stdio_accessibility_tools(sandbox: AsyncSandbox, recorder: Any) -> None:
    async with stdio_client(sandbox) as client:
        outline = text(await client.call_tool("accessibility_tree", {"application": "Chromium"}))
        assert "frame 'deskbox recorder - Chromium'" in outline, outline
        assert "entry" in outline and "panel ''" not in outline  # nameless layout boxes left out
        found = await client.call_tool("find_elements", {"role": "entry"})
        assert not found.is_error, text(found)
        fx, fy = await field_center(recorder, "line")
        entries = found.structured_content["result"]
        line = [e for e in entries if abs(e["center"]["x"] - fx) < 10 and abs(e["center"]["y"] - fy) < 10]
        assert len(line) == 1 and line[0]["size"]["width"] >= 400, (entries, (fx, fy))
        at = await client.call_tool("element_at", line[0]["center"])
        assert at.structured_content["role"] == "entry", at.structured_content
        assert any(a["role"] == "frame" for a in at.structured_content["inside"])
        missing = await client.call_tool("accessibility_tree", {"application": "gimp"})
        assert missing.is_error and "no application named 'gimp'" in text(missing)


async def test_stdio_shell_files_and_bad_calls(sandbox: AsyncSandbox, tmp_path: Path) -> None:
    async with stdio_client(sandbox) as client:
        target = str(tmp_path / "from-mcp.txt")
        written = await client.call_tool("write_file", {"path": target, "content": "héllo\n"})
        assert not written.is_error and Path(target).read_text() == "héllo\n"
        assert text(await client.call_tool("read_file", {"path": target})) == "héllo\n"
        ran = await client.call_tool("run_command", {"command": f"wc -c < {target}; exit 3"})
        assert ran.structured_content == {"stdout": "7\n", "stderr": "", "exit_code": 3}
        listed = await client.call_tool("list_files", {"path": str(tmp_path)})
        assert "from-mcp.txt" in str(listed.structured_content)

        for tool, arguments, reason in BAD_CALLS:
            result = await client.call_tool(tool, arguments)
            assert result.is_error and reason in text(result), (tool, arguments, text(result))
            assert not (await client.call_tool("screen_size", {})).is_error  # still serving


BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("click", {"x": 5000, "y": 5}, "x=5000 is outside the screen"),
    ("click", {"x": 99999, "y": 5}, "x: Input should be less than or equal to 32767"),
    ("click", {"x": 5, "y": 5, "count": 7}, "count"),
    ("click", {"x": 5}, "y"),
    ("press_keys", {"keys": "ctrl+nosuch"}, "unknown key name 'nosuch'"),
    ("act", {"actions": [{"type": "fly"}]}, "fly"),
    ("read_file", {"path": "/no/such/file"}, "/no/such/file"),
    ("drag", {"path": [{"x": 1, "y": 1}]}, "path"),
]


async def test_http_transport_with_its_token(http_server: str, recorder: Any) -> None:
    headers = {"Authorization": f"Bearer {MCP_TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(http_server, http_client=http)) as client,
    ):
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        x, y = await field_center(recorder, "pad")
        assert not (await client.call_tool("click", {"x": x, "y": y})).is_error
        await eventually(lambda: recorded(recorder, "mousedown"), lambda e: len(e) == 1)
        shot = await client.call_tool("screenshot", {"format": "jpeg", "width": 640})
        assert shot.content[0].mime_type == "image/jpeg"
        assert Image.open(io.BytesIO(base64.b64decode(shot.content[0].data))).width == 640


async def test_http_transport_refuses_without_the_token(http_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(http_server, json=body, headers=headers)
        assert response.status_code == 401
