"""What of a request's or an answer's body goes into a trace: JSON kept, cut to size.

A trace is read by a person stepping through it, so it keeps what they need to see what
happened (every field of an action, a command's output) and drops what only a machine
could use: the base64 of a screenshot (the trace has its own pictures of the screen),
the rest of a very long text. Other bodies are described by their type and size.
"""

from __future__ import annotations

import json
from typing import Any

MAX_STRING = 4000
"""Characters of one string kept; the rest is counted."""
MAX_ITEMS = 200
"""Items of one list kept (a batch of 1000 clicks keeps its first 200)."""
MAX_JSON_BYTES = 2 * 1024 * 1024
"""JSON bodies larger than this are described, not parsed."""
IMAGE_KEYS = frozenset({"format", "width", "height", "data"})


def shrink(value: Any) -> Any:
    """``value`` with image data replaced by its size, and long strings and lists cut."""
    if isinstance(value, dict):
        if value.keys() >= IMAGE_KEYS and isinstance(value.get("data"), str):
            # An Image model: its base64 is the screen, which the trace's frames show.
            return {**{k: shrink(v) for k, v in value.items() if k != "data"}, "data": _cut(value["data"])}
        return {key: shrink(item) for key, item in value.items()}
    if isinstance(value, list):
        kept = [shrink(item) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"… {len(value) - MAX_ITEMS} more")
        return kept
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[:MAX_STRING] + f"… ({len(value) - MAX_STRING} more characters)"
    return value


def _cut(data: str) -> str:
    return f"<{len(data) * 3 // 4} bytes of image data>"


def describe(body: bytes, content_type: str | None, size: int | None = None) -> Any:
    """A body as a trace keeps it: parsed and shrunk if it is JSON, else its type and size."""
    length = size if size is not None else len(body)
    kind = (content_type or "").split(";")[0].strip().lower()
    if length == 0:
        return None
    if kind in ("application/json", "") and length <= MAX_JSON_BYTES and len(body) == length:
        try:
            return shrink(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            if kind:
                return {"content_type": kind, "bytes": length, "invalid_json": True}
    return {"content_type": kind or "application/octet-stream", "bytes": length}


def error_message(status: int, answer: Any) -> str | None:
    """The one-line message of an error answer in the server's error shape."""
    if status < 400:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        message = answer["error"].get("message")
        if isinstance(message, str):
            return message
    return f"HTTP {status}"
