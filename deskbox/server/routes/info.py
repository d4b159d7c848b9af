"""/health (open, for probes) and /info (authenticated)."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ...desktop import Desktop
from ...errors import DesktopUnavailableError
from ...models import Health, Info, Size
from ..deps import get_desktop

health_router = APIRouter(tags=["info"])
router = APIRouter(tags=["info"])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@health_router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request, response: Response) -> Health:
    """Whether the server can reach its display; 503 when it cannot. Needs no token."""
    desktop: Desktop = request.app.state.desktop
    try:
        await desktop.screen_size()
    except DesktopUnavailableError:
        response.status_code = 503
        return Health(status="degraded", components={"server": "ok", "display": "unavailable"})
    return Health(status="ok", components={"server": "ok", "display": "ok"})


@router.get("/info", response_model=Info)
async def info(desktop: Annotated[Desktop, Depends(get_desktop)]) -> Info:
    width, height = await desktop.screen_size()
    return Info(
        display=desktop.display,
        screen=Size(width=width, height=height),
        versions={
            "deskbox": _version("deskbox"),
            "python": platform.python_version(),
            "fastapi": _version("fastapi"),
            "mss": _version("mss"),
            "python-xlib": _version("python-xlib"),
        },
    )
