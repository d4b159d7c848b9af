"""Run a whole sandbox in the foreground: the supervised stack, with progress and a banner."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import time
from pathlib import Path

from .probes import http_request
from .stack import StackConfig, build_stack
from .supervisor import Supervisor

START_TIMEOUT = 120.0


def _say(message: str) -> None:
    print(f"deskbox: {message}", flush=True)


async def _show_progress(supervisor: Supervisor) -> None:
    """Print each component as it becomes ready, so a slow start is never a silent one."""
    announced: set[str] = set()
    started = time.monotonic()
    while True:
        for name, component in supervisor.components.items():
            if component.state == "ready" and name not in announced:
                announced.add(name)
                _say(f"  {name:<11} ready after {time.monotonic() - started:5.2f} s")
        if supervisor.ready:
            return
        await asyncio.sleep(0.01)


async def _viewer_link(config: StackConfig, token: str, public_url: str) -> str | None:
    try:
        status, body = await http_request(
            config.port,
            "POST",
            "/viewer/tickets",
            {"Authorization": f"Bearer {token}", "Content-Length": "0"},
        )
        url: str = json.loads(body)["url"] if status == 200 else ""
    except (OSError, TimeoutError, ValueError, KeyError):
        return None
    return public_url + url[url.index("/viewer") :] if url else None


DEADLINE_CHECK_SECONDS = 1.0
PAUSED = "paused"


async def _watch_deadline(path: Path, stop: asyncio.Event) -> None:
    """Stop the sandbox once the Unix time in ``path`` has passed.

    The deadline lives in the sandbox itself, so a sandbox whose creator died still
    ends on time; an SDK extends it by rewriting the file (through the files API).
    """
    while not stop.is_set():
        with contextlib.suppress(OSError, ValueError):
            text = path.read_text().strip()
            # "paused <seconds left>": the backend froze the clock with the sandbox, and
            # writes the deadline back when it thaws it.
            if not text.startswith(PAUSED) and time.time() > float(text or "inf"):
                _say("the sandbox's timeout has passed")
                stop.set()
                return
        await asyncio.sleep(DEADLINE_CHECK_SECONDS)


def start_deadline(config: StackConfig) -> None:
    """Turn the timeout given at creation (``timeout``: seconds, written once per
    container) into the deadline, counted from now: the moment the sandbox is first ready,
    as a backend that sets the deadline after its wait would count it. A supervisor that
    starts again in the same container finds no timeout and keeps the deadline it has."""
    given = config.runtime_dir / "timeout"
    try:
        seconds = float(given.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        config.deadline_file.write_text(str(time.time() + seconds) if seconds > 0 else "")
        given.unlink()
    except OSError as exc:
        _say(f"cannot set the deadline: {exc}")


async def run_sandbox(config: StackConfig, token: str, token_generated: bool) -> int:
    supervisor = Supervisor(
        build_stack(config, token),
        status_file=config.status_file,
        log_dir=config.runtime_dir,
        on_first_ready=lambda: start_deadline(config),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    _say(
        f"starting a {config.width}x{config.height} desktop on {config.display} (logs: {config.runtime_dir})"
    )
    await supervisor.start()
    progress = asyncio.create_task(_show_progress(supervisor))
    deadline = asyncio.create_task(_watch_deadline(config.deadline_file, stop))
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait([progress, waiting], timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    if supervisor.ready:
        _say(f"all components ready after {time.monotonic() - supervisor.started_at:.2f} s")
        public_url = os.environ.get("DESKBOX_PUBLIC_URL", f"http://{config.host}:{config.port}").rstrip("/")
        _say(f"ready: API {public_url}  (docs: {public_url}/docs)")
        if os.environ.get("DESKBOX_TOKEN_FILE"):
            # A snapshot (E2B template): its creator writes the token later; nothing to show.
            _say(f"the token will be read from {os.environ['DESKBOX_TOKEN_FILE']}")
            link = None
        else:
            if token_generated:
                _say(f"token (generated; set DESKBOX_TOKEN to choose one): {token}")
            link = await _viewer_link(config, token, public_url)
        if link:
            _say(f"viewer (one-time link, valid 60 s): {link}")
            _say(f"        more links: curl -X POST -H 'Authorization: Bearer …' {public_url}/viewer/tickets")
    elif not stop.is_set():
        _say(f"not ready after {START_TIMEOUT:.0f} s: {supervisor.status()['components']}")
    await waiting
    progress.cancel()
    deadline.cancel()
    _say("stopping")
    await supervisor.stop()
    with contextlib.suppress(OSError):
        config.status_file.unlink()
    return 0


XFCONF_FOLDER = Path.home() / ".config" / "xfce4" / "xfconf" / "xfce-perchannel-xml"
SETTINGS_TIMEOUT = 30.0


async def _settings_stored(folder: Path) -> bool:
    """Until xfconfd has written xfwm4's defaults: it saves a while after xfwm4 stores
    them, through a ``.new`` file renamed into place, and a stop before that loses them
    (seen: an image whose xfwm4.xml held 5 settings, beside a half-written ``.new``).
    True at once where there is no XFCE."""
    channel = folder / "xfwm4.xml"
    if shutil.which("xfwm4") is None or not channel.exists():
        return True
    deadline = time.monotonic() + SETTINGS_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            stored = channel.read_text().count("<property") > 20
            if stored and not any(folder.glob("*.new")):
                return True
        await asyncio.sleep(0.1)
    return False


async def warm_up(config: StackConfig) -> int:
    """Start the whole stack once and stop it, for an image build.

    XFCE's programs write their defaults on a first start (xfwm4 asks xfconfd for about
    eighty settings it does not find, one D-Bus round trip each, then stores them), and
    Chromium builds its profile. Done once in the image, every sandbox starts from a
    desktop that has already started: measured, xfwm4 became ready in 0.2-0.3 s
    instead of 0.9-1.3 s.
    """
    token = secrets.token_urlsafe(24)  # for this run only: kept nowhere, shown nowhere
    supervisor = Supervisor(
        build_stack(config, token), status_file=config.status_file, log_dir=config.runtime_dir
    )
    _say("warming up: starting the desktop once, so that sandboxes start from a used one")
    await supervisor.start()
    ready = await supervisor.wait_ready(START_TIMEOUT)
    status = supervisor.status()["components"]
    if ready and not await _settings_stored(XFCONF_FOLDER):
        _say("warm-up: XFCE's settings were not stored in time; sandboxes will store them")
    await supervisor.stop()
    # What this run left that belongs to one run, not to the image: its logs, status and
    # sockets, and Chromium's lock on its profile (named after this build's host).
    for entry in config.runtime_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    for lock in config.browser_profile.glob("Singleton*"):
        lock.unlink(missing_ok=True)
    if not ready:
        _say(f"warm-up: not ready after {START_TIMEOUT:.0f} s: {status}")
        return 1
    _say("warm-up: done")
    return 0
