"""A trace as one HTML file: the viewer, its scripts, the steps and every picture inline.

It opens from disk (a file:// URL) with no network and no server, so it can be attached
to a bug report. Pictures are the trace's own JPEGs, base64 in ``data:`` URLs, so the
file is about a third larger than the trace.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from ..errors import TraceFileError
from . import viewer
from .archive import TraceFile


def export_html(source: str | Path, output: str | Path) -> Path:
    """Write the trace at ``source`` as a self-contained HTML file at ``output``."""
    target = Path(output)
    with TraceFile(source) as trace:
        frames = {}
        for frame in trace.frames:
            picture = trace.frame(frame.seq)
            if picture is not None:
                frames[frame.seq] = "data:image/jpeg;base64," + base64.b64encode(picture).decode("ascii")
        events = trace.as_events()
        document = viewer.standalone(
            {"meta": events.meta.model_dump() if events.meta else None,
             "events": [event.model_dump() for event in events.events]},
            frames,
            title=f"{trace.meta.title or 'deskbox trace'} ({Path(source).name})",
        )  # fmt: skip
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(document, encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise TraceFileError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
