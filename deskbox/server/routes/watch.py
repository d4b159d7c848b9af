"""Folder watches: start one, take its events (or follow them as server-sent events), stop it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from ...desktop import Desktop
from ...desktop.watching import FolderWatch
from ...models import WatchEvents, WatchInfo, WatchRequest
from ..deps import get_desktop

router = APIRouter(tags=["files"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]


@router.post("/files/watches", response_model=WatchInfo, status_code=201)
async def start_watch(request: WatchRequest, desktop: DesktopDep) -> WatchInfo:
    """Watch a folder (and with ``recursive`` every folder below) for changes."""
    return (await desktop.watches.start(request.path, request.recursive)).info()


@router.get("/files/watches", response_model=list[WatchInfo])
async def list_watches(desktop: DesktopDep) -> list[WatchInfo]:
    return [watch.info() for watch in desktop.watches.list()]


@router.get("/files/watches/{watch_id}/events", response_model=WatchEvents)
async def take_events(watch_id: str, desktop: DesktopDep) -> WatchEvents:
    """The changes since the last time they were taken."""
    return desktop.watches.get(watch_id).take()


async def _sse(watch: FolderWatch) -> AsyncIterator[str]:
    async for event in watch.follow():
        yield f"event: change\ndata: {json.dumps(event.model_dump())}\n\n"
    yield f"event: end\ndata: {json.dumps(watch.info().model_dump())}\n\n"


@router.get(
    "/files/watches/{watch_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def follow_events(watch_id: str, desktop: DesktopDep) -> StreamingResponse:
    """The changes as server-sent events (``change``, then ``end`` when the watch ends)."""
    return StreamingResponse(
        _sse(desktop.watches.get(watch_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.delete("/files/watches/{watch_id}", status_code=204)
async def stop_watch(watch_id: str, desktop: DesktopDep) -> None:
    await desktop.watches.stop(watch_id)
