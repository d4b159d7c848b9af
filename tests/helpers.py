"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import io
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from PIL import Image

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], timeout: float = 5.0
) -> T:
    """Poll ``probe`` until ``accept`` holds; the application reads X events on its own time."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.02)


async def act(client: httpx.AsyncClient, **action: Any) -> dict[str, Any]:
    """POST one action and return the JSON body, asserting success."""
    response = await client.post("/actions", json=action)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def screenshot(client: httpx.AsyncClient, **params: Any) -> Image.Image:
    response = await client.get("/screenshot", params=params)
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


async def events(page: Any, kind: str | None = None) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = await page.evaluate("window.events")
    return [e for e in recorded if kind is None or e["type"] == kind]


async def focus_text_field(client: httpx.AsyncClient, page: Any) -> None:
    """Click the recorder page's textarea and wait until it has the focus."""
    await act(client, type="click", x=300, y=175)
    await eventually(lambda: page.evaluate("document.activeElement.id"), lambda v: v == "text")


def register_scheme_handler(root: Path, scheme: str) -> tuple[dict[str, str], Path]:
    """Register a URL scheme handler the way desktops do (a .desktop file and
    mimeapps.list); it writes the URL it was opened with to the returned file.

    Returns the XDG environment that makes xdg-open find it, and the record file.
    """
    record = root / "opened.txt"
    handler = root / "handler.sh"
    handler.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {record}\n")
    handler.chmod(handler.stat().st_mode | stat.S_IEXEC)
    (root / "data" / "applications").mkdir(parents=True)
    (root / "data" / "applications" / f"{scheme}.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Probe\n"
        f"Exec={handler} %u\nMimeType=x-scheme-handler/{scheme};\n"
    )
    (root / "config").mkdir()
    (root / "config" / "mimeapps.list").write_text(
        f"[Default Applications]\nx-scheme-handler/{scheme}={scheme}.desktop\n"
    )
    return {"XDG_DATA_HOME": str(root / "data"), "XDG_CONFIG_HOME": str(root / "config")}, record


async def file_text(path: Path) -> str:
    """The file's text, or "" while it does not exist (a probe for eventually)."""
    return path.read_text() if path.exists() else ""
