"""The event loop under the blocking SDK: one loop in a daemon thread, shared by every
sync sandbox, so the sync client works from any thread, including one whose own event
loop is running (where ``asyncio.run`` would refuse)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _portal() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="deskbox-sync", daemon=True).start()
            _loop = loop
        return _loop


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the portal's loop and wait for its result."""
    future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, _portal())
    return future.result()


def iterate(chunks: AsyncIterator[T]) -> Iterator[T]:
    """An async iterator, item by item, as a blocking one; closed if the caller stops early."""

    async def next_item() -> T:
        return await anext(chunks)

    async def close() -> None:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    try:
        while True:
            try:
                yield run(next_item())
            except StopAsyncIteration:
                return
    finally:
        run(close())
