"""Waiting on file descriptors and child exits, on the event loop (standard library only)."""

from __future__ import annotations

import asyncio
import os
import subprocess


async def wait_exit(process: subprocess.Popen[bytes]) -> int:
    """Wait for a child's exit without a thread: a pidfd turns readable when it ends."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:  # kernels before 5.3
        return await asyncio.to_thread(process.wait)
    try:
        await fd_ready(pidfd)
    finally:
        os.close(pidfd)
    return process.wait()


async def fd_ready(fd: int, *, write: bool = False) -> None:
    """Wait until ``fd`` is readable (or writable), without a thread."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    if write:
        loop.add_writer(fd, on_ready)
    else:
        loop.add_reader(fd, on_ready)
    try:
        await ready
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)
