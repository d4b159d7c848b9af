"""The trace viewer's page: one script (app.js) over Preact with htm, no build step.

The same page is served three ways: by ``deskbox trace show`` for a file, by a sandbox
at ``/trace/live`` for the trace it is writing, and written out whole, pictures and
scripts inline, by ``deskbox trace export`` (a file that opens from disk, offline).
``window.DESKBOX_VIEWER`` tells the script where its data is.
"""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from typing import Any

from ...errors import NotFoundError

ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "htm-preact.umd.js": "text/javascript; charset=utf-8",
}
_SCRIPTS = ("htm-preact.umd.js", "app.js")


@cache
def _read(name: str) -> bytes:
    folder = resources.files(__package__)
    path = folder / "vendor" / name if name.startswith("htm-") else folder / name
    return path.read_bytes()


def asset(name: str) -> tuple[bytes, str]:
    """A file of the viewer and its media type."""
    if name not in ASSETS:
        raise NotFoundError(f"the trace viewer has no file {name!r}")
    return _read(name), ASSETS[name]


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element ("</script>" cannot end it early)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace("\u2028", "\\u2028")


def _document(title: str, head: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>{head}</head>"
        f"<body><div id='app'><p class='loading'>Loading the trace…</p></div>{body}</body></html>\n"
    )


def page(config: dict[str, Any], assets: str, title: str = "deskbox trace") -> str:
    """The viewer with its scripts and styles linked from ``assets`` (a URL path ending in /)."""
    head = f"<link rel='stylesheet' href='{html.escape(assets)}app.css'>"
    body = f"<script>window.DESKBOX_VIEWER = {_script_json(config)};</script>" + "".join(
        f"<script src='{html.escape(assets)}{name}'></script>" for name in _SCRIPTS
    )
    return _document(title, head, body)


def standalone(trace: dict[str, Any], frames: dict[int, str], title: str) -> str:
    """The whole viewer in one HTML file: scripts, styles, events and pictures inline.

    ``frames`` maps a frame's seq to its picture as a ``data:`` URL.
    """
    config = {"source": "embedded", "live": False}
    head = f"<style>{_read('app.css').decode()}</style>"
    scripts = "".join(f"<script>{_read(name).decode()}</script>" for name in _SCRIPTS)
    body = (
        f"<script>window.DESKBOX_VIEWER = {_script_json(config)};"
        f"window.DESKBOX_TRACE = {_script_json(trace)};"
        f"window.DESKBOX_FRAMES = {_script_json({str(seq): url for seq, url in frames.items()})};</script>"
        + scripts
    )
    return _document(title, head, body)
