"""``sandbox.stream``: the live viewer."""

from __future__ import annotations

import builtins
from typing import Annotated

from pydantic import Field

from ..models import ViewerLinkInfo
from ._connection import Connection
from ._validation import checked


class AsyncStream:
    """``sandbox.stream``: the live viewer."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def start(self) -> None:
        """The viewer is always running; kept for e2b_desktop compatibility."""

    @checked
    async def get_url(self, view_only: bool = False) -> str:
        """A one-time viewer URL (valid 60 s). Safe to hand out: it carries no token."""
        ticket = await self._connection.json("POST", "/viewer/tickets", json_body={"view_only": view_only})
        return str(ticket["url"])

    @checked
    async def create_link(
        self,
        view_only: bool = False,
        expires_in: Annotated[float, Field(ge=60, le=7 * 24 * 3600)] = 3600,
    ) -> ViewerLinkInfo:
        """A viewer URL that works many times until it expires or is revoked: for showing
        the live view inside an app's own page. It holds its own secret, not the token;
        ``url`` is given only now."""
        body = {"view_only": view_only, "expires_in": expires_in}
        return ViewerLinkInfo.model_validate(
            await self._connection.json("POST", "/viewer/links", json_body=body)
        )

    @checked
    async def list_links(self) -> builtins.list[ViewerLinkInfo]:
        """The links still working (without their URLs)."""
        return [
            ViewerLinkInfo.model_validate(link)
            for link in await self._connection.json("GET", "/viewer/links")
        ]

    @checked
    async def revoke_link(self, link_id: str) -> None:
        """End a link: it opens nothing more, and the viewers it opened are closed."""
        await self._connection.request("DELETE", f"/viewer/links/{link_id}")
