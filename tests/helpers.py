"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
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
