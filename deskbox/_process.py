"""Waiting for a child process to exit, on the event loop (standard library only)."""

from __future__ import annotations

import asyncio
import os
import subprocess


async def wait_exit(process: subprocess.Popen[bytes]) -> int:
    """Wait for a child's exit without a thread: a pidfd turns readable when it ends."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:  # kernels before 5.3
        return await asyncio.to_thread(process.wait)
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_exit)
    try:
        await exited
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return process.wait()
