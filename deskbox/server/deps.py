"""Dependencies routes share: the desktop of this server."""

from __future__ import annotations

from fastapi import Request

from ..desktop import Desktop


async def get_desktop(request: Request) -> Desktop:
    desktop: Desktop = request.app.state.desktop
    return desktop
