"""Dependencies routes share: the desktop of this server, and the client's presence."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response

from ..desktop import Desktop

T = TypeVar("T")


async def get_desktop(request: Request) -> Desktop:
    desktop: Desktop = request.app.state.desktop
    return desktop


async def _disconnected(request: Request) -> None:
    # The body has been read, so the next message is the client going away (or, once the
    # response is sent, the end of the request).
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(request: Request, work: Coroutine[Any, Any, T]) -> T | Response:
    """Run ``work``, cancelled if the client disconnects first (then nobody reads the answer)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return Response(status_code=499)  # "client closed request": written to no one
