"""Screen recording: start, stop (the file comes back), and where it stands."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from ...desktop import Desktop
from ...errors import InvalidActionError
from ...models import RecordingRequest, RecordingStatus
from ..deps import get_desktop

router = APIRouter(prefix="/recording", tags=["recording"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]
MEDIA_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


@router.post("/start", response_model=RecordingStatus)
async def start(request: RecordingRequest, desktop: DesktopDep) -> RecordingStatus:
    """Record the screen until stopped (a 409 when a recording is already running)."""
    if (request.width is None) != (request.height is None):
        raise InvalidActionError.at(
            ("body", "width" if request.width is None else "height"), "give both or neither"
        )
    size = (
        (request.width, request.height) if request.width is not None and request.height is not None else None
    )
    await desktop.recorder.start(await desktop.screen_size(), request.fps, request.format, size)
    return status_of(desktop)


@router.post(
    "/stop", response_class=FileResponse, responses={200: {"content": {"video/mp4": {}, "video/webm": {}}}}
)
async def stop(desktop: DesktopDep) -> FileResponse:
    """Stop and download the recording, its segments joined into one file."""
    joined = await desktop.recorder.stop()
    state = desktop.recorder.state
    assert state is not None
    return FileResponse(
        joined,
        media_type=MEDIA_TYPES[state.format],
        filename=joined.name,
        headers={"X-Deskbox-Segments": str(len(state.segments)), "X-Deskbox-Restarts": str(state.restarts)},
    )


@router.get("", response_model=RecordingStatus)
async def recording_status(desktop: DesktopDep) -> RecordingStatus:
    return status_of(desktop)


def status_of(desktop: Desktop) -> RecordingStatus:
    state = desktop.recorder.state
    if state is None:
        return RecordingStatus(recording=False)
    end = state.stopped_at if state.stopped_at is not None else time.time()
    return RecordingStatus(
        recording=desktop.recorder.recording,
        fps=state.fps,
        format=state.format,
        width=state.size[0],
        height=state.size[1],
        started_at=state.started_at,
        seconds=round(end - state.started_at, 3),
        bytes=state.bytes,
        segments=len(state.segments),
        restarts=state.restarts,
        error=state.error,
    )
