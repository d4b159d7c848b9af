"""A command's every process, found and ended by its session.

Each command starts a session of its own (``setsid``), and everything it starts stays in
that session however it forks: a backgrounded child (``sleep 300 &``), a grandchild
reparented after its parent exited, a fork bomb. Only an explicit ``setsid`` leaves it.
So a timeout or a kill ends the session, not just its first process, and repeats until
nothing in it is left: each sweep signals the process group at once (the kernel does
not let a process fork past a group signal) and then every member the sweep finds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

SWEEP_PAUSE = 0.005
"""Seconds between sweeps while members remain: long enough for the killed to be reaped."""


def members(session: int) -> list[int]:
    """Pids of the live processes in ``session`` (zombies excluded)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        # After the command name: state, ppid, pgrp, session, ...
        if int(fields[3]) == session and fields[0] != b"Z":
            found.append(int(entry.name))
    return found


def signal_session(session: int, signum: int) -> bool:
    """Send ``signum`` to every process of the session; False if none was left."""
    sent = False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signum)
        sent = True
    for pid in members(session):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)
            sent = True
    return sent


async def end_session(session: int, timeout: float = 5.0) -> bool:
    """SIGKILL the session until it is empty; False if members remain after ``timeout``.

    A process stopped by SIGSTOP still dies of SIGKILL, so a frozen session ends too.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(session, signal.SIGKILL)
        remaining = members(session)
        if not remaining:
            return True
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(SWEEP_PAUSE)
