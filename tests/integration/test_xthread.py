"""The X thread's quick path: short calls run on the caller's thread when no X work is
running, and wait their turn behind X work that is."""

from __future__ import annotations

import asyncio
import threading

import pytest

from deskbox.desktop import Desktop

pytestmark = pytest.mark.integration


async def test_a_quick_call_runs_here_when_the_x_thread_is_idle(desktop: Desktop) -> None:
    await desktop.cursor_position()  # the connection is open
    assert await desktop.xthread.call_quick(threading.get_ident) == threading.get_ident()


async def test_a_quick_call_waits_behind_running_x_work(desktop: Desktop) -> None:
    await desktop.cursor_position()
    started, release = threading.Event(), threading.Event()

    def hold() -> str:
        started.set()
        assert release.wait(10)
        return "held"

    busy = asyncio.ensure_future(desktop.xthread.call(hold))
    assert await asyncio.to_thread(started.wait, 10)
    quick = asyncio.ensure_future(desktop.xthread.call_quick(threading.get_ident))
    await asyncio.sleep(0)  # let it try: it must not run while hold() has the connection
    assert not quick.done()
    release.set()
    assert await busy == "held"
    assert await quick != threading.get_ident(), "it ran on the X thread, after the work"
    x, y = await desktop.cursor_position()
    await desktop.move(x, y)  # and the quick path is back
