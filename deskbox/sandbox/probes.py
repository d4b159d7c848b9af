"""Readiness checks with the standard library only (no Xlib, no HTTP client)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


async def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def x_server_accepts(display: str) -> bool:
    """True once the X server listens on its socket, which it does only when ready."""
    number = display.rsplit(":", 1)[-1].split(".")[0]
    try:
        _, writer = await asyncio.open_unix_connection(f"/tmp/.X11-unix/X{number}")
    except OSError:
        return False
    writer.close()
    return True


async def window_manager_running(display: str) -> bool:
    """True once an EWMH window manager has set _NET_SUPPORTING_WM_CHECK on the root."""
    proc = await asyncio.create_subprocess_exec(
        "xprop",
        "-display",
        display,
        "-root",
        "_NET_SUPPORTING_WM_CHECK",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output, _ = await proc.communicate()
    return proc.returncode == 0 and b"window id" in output


async def http_request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, timeout: float = 2.0
) -> tuple[int, bytes]:
    """A minimal HTTP request on loopback: the status code and the body."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        # HTTP/1.1, because Chromium's DevTools server refuses 1.0; the server closes after.
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            None,
        )
        # Chromium keeps the connection open whatever we ask, so read by length.
        body = await asyncio.wait_for(
            reader.readexactly(length) if length is not None else reader.read(), timeout
        )
    finally:
        writer.close()
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


async def http_ok(port: int, path: str) -> bool:
    try:
        status, _ = await http_request(port, "GET", path)
    except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
        return False
    return status == 200


async def browser_page_loaded(cdp_port: int) -> bool:
    """True once Chromium has a page target with a title, i.e. a loaded document."""
    try:
        status, body = await http_request(cdp_port, "GET", "/json/list")
        targets: list[dict[str, Any]] = json.loads(body) if status == 200 else []
    except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
        return False
    return any(t.get("type") == "page" and t.get("title") for t in targets)
