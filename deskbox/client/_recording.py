"""``sandbox.recording``: record the screen, and download the video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from ..models import RecordingStatus
from ._connection import Connection
from ._validation import checked


class AsyncRecording:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @checked
    async def start(
        self,
        fps: Annotated[int, Field(ge=1, le=60)] = 10,
        format: Literal["mp4", "webm"] = "mp4",
        width: int | None = None,
        height: int | None = None,
    ) -> RecordingStatus:
        """Record the screen (at its size, or scaled to width x height) until ``stop``."""
        body = {"fps": fps, "format": format, "width": width, "height": height}
        answer = await self._connection.json("POST", "/recording/start", json_body=body)
        return RecordingStatus.model_validate(answer)

    @checked
    async def stop(self, path: str | Path) -> Path:
        """Stop, and stream the video into ``path``; returns the path."""
        destination = Path(path).expanduser()
        await self._connection.download("POST", "/recording/stop", destination)
        return destination

    @checked
    async def status(self) -> RecordingStatus:
        return RecordingStatus.model_validate(await self._connection.json("GET", "/recording"))
