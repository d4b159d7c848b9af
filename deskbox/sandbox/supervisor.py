"""Start the sandbox's processes in parallel, watch them, and restart the ones that die.

Each component names the components it needs; it starts as soon as those are ready, so
the whole desktop comes up in the time of its longest chain (Xvfb, then the browser),
not the sum of its parts. Readiness is a real check (an X connection, a listening port,
an HTTP answer), polled briefly, never a fixed sleep. A component that exits is started
again with a short backoff, once the components it needs are ready again.

The states are written as JSON to a status file on every change, so /health can report
them from another process and a container healthcheck can read them with `cat`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .._process import wait_exit

log = logging.getLogger("deskbox.supervisor")

State = Literal["waiting", "starting", "ready", "restarting", "failed", "stopped"]
ReadyCheck = Callable[[], Awaitable[bool]]

READY_POLL = 0.01
RESTART_BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
STABLE_AFTER = 30.0
"""A component that ran this long is healthy again: its backoff starts over."""


@dataclass
class Component:
    name: str
    argv: Sequence[str]
    ready: ReadyCheck | None = None
    """Awaitable check; None means ready once started."""
    needs: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 30.0
    optional: bool = False
    """Reported, but the sandbox is healthy without it."""
    poll: float = READY_POLL
    """Seconds between readiness checks; longer for checks that spawn a process."""
    takes_down_dependents: bool = False
    """When it exits, the components that need it restart too (the X server: every X
    client loses its connection, but each notices in its own time, and until then the
    sandbox would report itself ready on a display they are not on)."""

    state: State = "waiting"
    restarts: int = 0
    pid: int | None = None
    last_error: str | None = None
    """Why it last failed: its exit or readiness timeout, and the end of its log."""
    _process: subprocess.Popen[bytes] | None = None
    _ready_event: asyncio.Event = field(default_factory=asyncio.Event)
    _taken_down: bool = False


class Supervisor:
    def __init__(
        self,
        components: Sequence[Component],
        status_file: Path | None = None,
        log_dir: Path | None = None,
        on_first_ready: Callable[[], None] | None = None,
    ) -> None:
        self.components = {component.name: component for component in components}
        self.status_file = status_file
        self.log_dir = log_dir
        self.on_first_ready = on_first_ready
        """Called once, when every component is first ready, before the status says so:
        what it sets up is in place by the time anyone can see the sandbox ready."""
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.started_at = time.monotonic()
        for component in components:
            unknown = set(component.needs) - set(self.components)
            if unknown:
                raise ValueError(f"{component.name} needs unknown components {sorted(unknown)}")

    # ---- status ---------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return all(c.state == "ready" for c in self.components.values() if not c.optional)

    def status(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "components": {
                name: {"state": c.state, "restarts": c.restarts, "pid": c.pid, "error": c.last_error}
                for name, c in self.components.items()
            },
        }

    def _set(self, component: Component, state: State) -> None:
        if component.state == state:
            return
        component.state = state
        if state == "ready":
            component._ready_event.set()
        else:
            component._ready_event.clear()
        log.info("%s: %s", component.name, state)
        if self.on_first_ready is not None and self.ready:
            first_ready, self.on_first_ready = self.on_first_ready, None
            first_ready()
        self._write_status()

    def _write_status(self) -> None:
        if self.status_file is None:
            return
        temporary = self.status_file.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(self.status()))
            os.replace(temporary, self.status_file)
        except OSError as exc:
            # A full disk (an agent filled /tmp) must not take the supervisor down; the old
            # status stays until a write gets through again.
            log.warning("cannot write %s: %s", self.status_file, exc)

    # ---- running --------------------------------------------------------------------

    async def start(self) -> None:
        self.started_at = time.monotonic()
        self._write_status()
        self._tasks = [asyncio.create_task(self._keep_running(c)) for c in self.components.values()]

    async def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(READY_POLL)
        return True

    async def _needs_ready(self, component: Component) -> None:
        for name in component.needs:
            await self.components[name]._ready_event.wait()

    def _failed(self, component: Component, reason: str) -> None:
        """Remember and log why a component failed, with the last lines it wrote."""
        tail = self._log_tail(component)
        component.last_error = f"{reason}: {tail}" if tail else reason
        log.warning("%s: %s", component.name, component.last_error)

    def _log_tail(self, component: Component, lines: int = 3) -> str:
        if self.log_dir is None:
            return ""
        try:
            with open(self.log_dir / f"{component.name}.log", "rb") as log_file:
                log_file.seek(0, os.SEEK_END)
                log_file.seek(max(0, log_file.tell() - 4096))
                text = log_file.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())

    def _spawn(self, component: Component) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{component.name}.log" if self.log_dir is not None else os.devnull
        # The child keeps its own copy of the descriptor; ours closes when the block ends.
        with open(log_path, "ab") as output:
            return subprocess.Popen(
                list(component.argv),
                env={**os.environ, **component.env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _keep_running(self, component: Component) -> None:
        failures = 0
        while not self._stopping:
            await self._needs_ready(component)
            self._set(component, "starting")
            started = time.monotonic()
            try:
                process = self._spawn(component)
            except OSError as exc:
                self._failed(component, f"cannot start: {exc}")
                self._set(component, "failed")
                await asyncio.sleep(RESTART_BACKOFF[-1])
                continue
            component._process, component.pid = process, process.pid
            self._write_status()
            exited = asyncio.create_task(wait_exit(process))
            became_ready = await self._await_ready(component, exited)
            if became_ready and not component._taken_down:
                component.last_error = None
                self._set(component, "ready")
            code = await exited
            if self._stopping:
                break
            ran = time.monotonic() - started
            component.restarts += 1
            if component._taken_down:
                # Not its own failure: it restarts, without backoff, once its needs are back.
                component._taken_down = False
                _kill_group(process)
                continue
            failures = 0 if ran > STABLE_AFTER else failures + 1
            self._failed(component, f"exited with {code} after {ran:.1f} s; restarting")
            self._set(component, "restarting")
            _kill_group(process)
            if component.takes_down_dependents:
                self._take_down_dependents(component)
            # A component that had been running fine comes back at once; one that keeps
            # failing backs off, so a broken binary does not spin a core.
            if failures:
                await asyncio.sleep(RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF)) - 1])
        self._set(component, "stopped")

    def _take_down_dependents(self, provider: Component) -> None:
        for dependent in self.components.values():
            if provider.name not in dependent.needs or dependent.state in ("waiting", "stopped"):
                continue
            process = dependent._process
            if process is not None and process.poll() is None:
                dependent._taken_down = True
                log.info("%s: restarting with %s", dependent.name, provider.name)
                self._set(dependent, "restarting")
                _kill_group(process)
            self._take_down_dependents(dependent)

    async def _await_ready(self, component: Component, exited: asyncio.Task[int]) -> bool:
        if component.ready is None:
            return not exited.done()
        deadline = time.monotonic() + component.ready_timeout
        while not exited.done():
            with contextlib.suppress(Exception):
                if await component.ready():
                    return True
            if time.monotonic() > deadline:
                self._failed(component, f"not ready after {component.ready_timeout:.0f} s; restarting it")
                _kill_group(component._process)
                return False
            await asyncio.sleep(component.poll)
        return False

    async def stop(self) -> None:
        self._stopping = True
        # Dependents first: the browser and the VNC servers before the X server.
        order = list(self.components.values())
        for component in reversed(order):
            if component._process is not None and component._process.poll() is None:
                _signal_group(component._process, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for component in order:
            process = component._process
            while process is not None and process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            _kill_group(process)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for component in order:
            self._set(component, "stopped")


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """Kill what a component left in its process group (Chromium's crash handlers, say)."""
    if process is not None:
        _signal_group(process, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            process.poll()
