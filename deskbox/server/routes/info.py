"""/health (open, for probes) and /info (authenticated)."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ...desktop import Desktop
from ...errors import DesktopUnavailableError
from ...models import Health, Info, Size
from ..auth import bearer_matches
from ..deps import get_desktop

health_router = APIRouter(tags=["info"])
router = APIRouter(tags=["info"])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@health_router.get(
    "/health", response_model=Health, response_model_exclude_none=True, responses={503: {"model": Health}}
)
async def health(request: Request, response: Response) -> Health:
    """Every component's state; 503 unless all are ready. Needs no token; with it, the
    answer also says why each failed component failed.

    In a sandbox the components are the supervisor's (xvfb, session, vnc, browser, ...);
    a bare `deskbox serve` reports only itself and its display.
    """
    desktop: Desktop = request.app.state.desktop
    components = {"server": "ready"}
    errors: dict[str, str] = {}
    try:
        await desktop.screen_size()
        components["display"] = "ready"
    except DesktopUnavailableError as exc:
        components["display"] = "unavailable"
        errors["display"] = exc.message
    status_file: Path | None = request.app.state.settings.status_file
    if status_file is not None:
        try:
            supervised = json.loads(status_file.read_text())["components"]
            components.update({name: str(entry["state"]) for name, entry in supervised.items()})
            errors.update(
                {
                    name: str(entry["error"])
                    for name, entry in supervised.items()
                    if entry.get("error") and entry["state"] != "ready"
                }
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            components["supervisor"] = "unavailable"
            errors["supervisor"] = f"cannot read {status_file}: {exc}"
    healthy = all(state == "ready" for state in components.values())
    if not healthy:
        response.status_code = 503
    trusted = bearer_matches(request.app.state.tokens, request.headers.get("authorization"))
    return Health(
        status="ok" if healthy else "degraded", components=components, errors=errors if trusted else None
    )


@health_router.get("/health/live", response_model=Health)
async def live() -> Health:
    """The server process answers; nothing else is checked (for the supervisor)."""
    return Health(status="ok", components={"server": "ready"})


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
