"""``sandbox.stream``: the live viewer."""

from __future__ import annotations

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
