"""``POST /open``: a URL or a file, shown on the desktop, or an error saying why not.

``xdg-open`` alone cannot be trusted with this: it exits 0 when the program it handed
the file to dies at once, and with no default application it may raise a chooser dialog
instead. So what the browser can show (web pages, files of the kinds below) opens in a
new tab of the desktop's running Chromium, over DevTools, where a failed load is an
answer; anything else goes to its default application through xdg-open, whose failure
(no application for the type, a file it cannot read) is an error.
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..desktop import Desktop
from ..desktop.files import resolve
from ..errors import InvalidActionError, NotFoundError
from ..models import Opened
from . import devtools

WINDOW_TIMEOUT = 20.0
"""Seconds an application gets to show a window for what it was asked to open."""
POLL = 0.1

BROWSER_SCHEMES = frozenset({"http", "https", "file", "about", "data"})
BROWSER_TYPES = ("text/", "image/", "application/pdf", "application/json", "application/xml")
BROWSER_SUFFIXES = frozenset({".xhtml", ".svg", ".json", ".log", ".md", ".csv"})


def _browser_can_show(path: Path) -> bool:
    if path.is_dir():
        return False
    kind, _ = mimetypes.guess_type(path.name)
    return (kind is not None and kind.startswith(BROWSER_TYPES)) or path.suffix.lower() in BROWSER_SUFFIXES


def _local_path(target: str) -> Path:
    """The file a path or a file:// URL names, which must exist."""
    path = Path(unquote(urlsplit(target).path)) if target.startswith("file:") else resolve(target)
    if not path.exists():
        raise NotFoundError(f"cannot open {target!r}: {path} does not exist")
    return path


async def open_target(desktop: Desktop, cdp_url: str | None, target: str) -> Opened:
    scheme = urlsplit(target).scheme.lower()
    if scheme and scheme != "file" and len(scheme) > 1:  # "c:" is not a scheme here
        if scheme not in BROWSER_SCHEMES or cdp_url is None:
            return await _with_application(desktop, target)
        await devtools.open_tab(cdp_url, target)
        return Opened(via="browser", url=target)
    path = _local_path(target)
    if cdp_url is not None and _browser_can_show(path):
        url = path.resolve().as_uri()
        await devtools.open_tab(cdp_url, url)
        return Opened(via="browser", url=url)
    return await _with_application(desktop, str(path))


async def _with_application(desktop: Desktop, target: str) -> Opened:
    """Hand ``target`` to its default application: done once a new window shows or the
    opener has finished with success (a handler that needs no window); an error when the
    opener fails, or neither happens in time."""
    before = {window.id for window in await desktop.list_windows()}
    pid = await desktop.open(target)
    opener = desktop.exit_of(pid)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WINDOW_TIMEOUT
    while loop.time() < deadline:
        if opener is not None:
            await asyncio.wait({opener}, timeout=POLL)
        else:
            await asyncio.sleep(POLL)
        if opener is not None and opener.done():
            if opener.result() != 0:
                raise InvalidActionError.at(
                    ("body", "target"),
                    f"cannot open {target!r}: its opener exited with status {opener.result()}",
                )
            return Opened(via="application", pid=pid)
        if any(window.id not in before for window in await desktop.list_windows()):
            return Opened(via="application", pid=pid)
    raise InvalidActionError.at(
        ("body", "target"), f"cannot open {target!r}: no window appeared within {WINDOW_TIMEOUT:.0f} s"
    )
