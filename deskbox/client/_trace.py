"""``sandbox.trace``: record every step an agent takes in the sandbox, and download it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from .. import errors
from ..trace.model import TraceStatus
from ._connection import Connection
from ._validation import checked

STATUS_KEPT = 2.0
"""Seconds ``note`` trusts what it last learned about whether a trace runs."""


class AsyncTrace:
    """The sandbox's action trace: steps, the screen around them, the model's notes.

    ``start()``, run the agent, ``stop("run.zip")``; ``deskbox trace show run.zip`` opens it.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._known: tuple[bool, float] | None = None

    def __repr__(self) -> str:
        return f"AsyncTrace({self._connection.url!r})"

    @checked
    async def start(
        self,
        frame_width: Annotated[int, Field(ge=160, le=7680)] = 1280,
        quality: Annotated[int, Field(ge=10, le=95)] = 70,
        title: Annotated[str, Field(max_length=200)] | None = None,
    ) -> TraceStatus:
        """Trace every request from now on; frames are JPEGs at most ``frame_width`` wide."""
        body = {"frame_width": frame_width, "quality": quality, "title": title}
        answer = await self._connection.json("POST", "/trace/start", json_body=body)
        self._known = (True, time.monotonic())
        return TraceStatus.model_validate(answer)

    @checked
    async def stop(self, path: str | Path) -> Path:
        """End the trace and stream it into ``path`` (one zip file); returns the path."""
        destination = Path(path).expanduser()
        self._known = (False, time.monotonic())
        await self._connection.download("POST", "/trace/stop", destination)
        return destination

    @checked
    async def status(self) -> TraceStatus:
        status = TraceStatus.model_validate(await self._connection.json("GET", "/trace"))
        self._known = (status.tracing, time.monotonic())
        return status

    @checked
    async def note(
        self,
        source: Annotated[str, Field(min_length=1, max_length=64)],
        call: Any = None,
        text: Annotated[str, Field(max_length=100_000)] | None = None,
    ) -> bool:
        """Add what a model asked for (its tool call, its words) above the steps that
        follow. True if a trace recorded it; False when no trace runs."""
        if not await self._running():
            return False
        body = {"source": source, "call": call, "text": text}
        try:
            await self._connection.json("POST", "/trace/notes", json_body=body)
        except errors.ConflictError:  # the trace stopped since we last asked
            self._known = (False, time.monotonic())
            return False
        return True

    @checked
    async def live_url(self, view_only: bool = True) -> str:
        """A one-time link (valid 60 s) to the trace as it grows, beside the live desktop."""
        ticket = await self._connection.json(
            "POST", "/viewer/tickets", json_body={"view_only": view_only, "page": "trace"}
        )
        return str(ticket["url"])

    async def _running(self) -> bool:
        known = self._known
        if known is not None and time.monotonic() - known[1] < STATUS_KEPT:
            return known[0]
        try:
            return (await self.status()).tracing
        except (errors.UnsupportedInModeError, errors.CapabilityError):
            self._known = (False, time.monotonic())  # a sandbox with no server of ours
            return False
