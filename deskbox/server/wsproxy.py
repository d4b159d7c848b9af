"""Bridge a client WebSocket to an upstream WebSocket, both ways, until either side ends."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

UPSTREAM_UNAVAILABLE = 1011  # the close code for "server error"


async def bridge(client: WebSocket, upstream_url: str, headers: dict[str, str] | None = None) -> None:
    """Accept ``client`` once the upstream answers, then relay frames as they come.

    The client's subprotocols are offered upstream and the one upstream picks is the one
    accepted, so protocols such as noVNC's "binary" pass through unchanged.
    """
    offered = client.scope.get("subprotocols") or []
    try:
        upstream = await connect(
            upstream_url,
            subprotocols=offered or None,
            additional_headers=headers,
            max_size=None,
            ping_interval=None,
            open_timeout=10,
            compression=None,
            proxy=None,
        )
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError):
        await client.close(code=UPSTREAM_UNAVAILABLE, reason="upstream unavailable")
        return
    async with upstream:
        await client.accept(subprotocol=upstream.subprotocol)

        async def to_upstream() -> None:
            while True:
                message = await client.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                await upstream.send(data if data is not None else message.get("text", ""))

        async def to_client() -> None:
            async for data in upstream:
                if isinstance(data, bytes):
                    await client.send_bytes(data)
                else:
                    await client.send_text(data)

        tasks = [asyncio.create_task(to_upstream()), asyncio.create_task(to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(
                    asyncio.CancelledError, ConnectionClosed, WebSocketDisconnect, RuntimeError
                ):
                    await task
    with contextlib.suppress(RuntimeError):
        await client.close()
