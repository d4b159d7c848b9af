"""A few DevTools calls on the desktop browser's active tab: navigate and go through history.

Driving the address bar with keys races Chromium's focus of it (the first characters can
land before the box has the focus), so navigation goes through the protocol instead,
the way Playwright's ``goto`` does, and waits for the page to commit and load.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ..errors import DesktopUnavailableError, InvalidActionError

LOAD_TIMEOUT = 15.0


class Tab:
    """One DevTools session on a page target."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self._socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise InvalidActionError(
                        f"the browser refused {method}: {message['error'].get('message')}"
                    )
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                await self._events.put(message)

    async def wait_for(self, *events: str, timeout: float = LOAD_TIMEOUT) -> None:
        """Until one of ``events`` arrives, or quietly at the timeout: a slow page is not an error."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while True:
                    while not self._events.empty():
                        if self._events.get_nowait().get("method") in events:
                            return
                    message = json.loads(await self._socket.recv())
                    if message.get("method") in events:
                        return


async def _active_page(cdp_url: str) -> str:
    try:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            targets = (await client.get(f"{cdp_url}/json/list")).json()
    except httpx.HTTPError as exc:
        raise DesktopUnavailableError(f"the browser is not answering: {exc}") from exc
    pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
    if not pages:
        raise DesktopUnavailableError("the browser has no open page")
    return str(pages[0]["webSocketDebuggerUrl"])


async def _session(cdp_url: str) -> ClientConnection:
    try:
        return await connect(await _active_page(cdp_url), max_size=None, open_timeout=10, proxy=None)
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        raise DesktopUnavailableError(f"cannot open a DevTools session: {exc}") from exc


async def navigate(cdp_url: str, url: str) -> None:
    try:
        async with await _session(cdp_url) as socket:
            tab = Tab(socket)
            await tab.call("Page.enable")
            try:
                result = await tab.call("Page.navigate", url=url)
            except InvalidActionError as exc:  # e.g. "Cannot navigate to invalid URL"
                raise InvalidActionError.at(("body", "url"), f"cannot open {url!r}: {exc.message}") from None
            if result.get("errorText"):
                raise InvalidActionError.at(("body", "url"), f"cannot open {url!r}: {result['errorText']}")
            await tab.wait_for("Page.loadEventFired")
    except ConnectionClosed as exc:
        raise DesktopUnavailableError(f"the browser closed the DevTools session: {exc}") from exc


async def open_tab(cdp_url: str, url: str) -> None:
    """Open ``url`` in a new tab in front, and wait for it to load; a page that cannot be
    shown (no such file, a name that does not resolve) closes its tab and raises."""
    try:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            target = (await client.put(f"{cdp_url}/json/new?about:blank")).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DesktopUnavailableError(f"the browser did not open a tab: {exc}") from exc
    try:
        async with await connect(
            target["webSocketDebuggerUrl"], max_size=None, open_timeout=10, proxy=None
        ) as socket:
            tab = Tab(socket)
            await tab.call("Page.enable")
            await tab.call("Page.bringToFront")
            try:
                result = await tab.call("Page.navigate", url=url)
            except InvalidActionError as exc:
                result = {"errorText": exc.message}
            if result.get("errorText"):
                await _close_tab(cdp_url, target["id"])
                raise InvalidActionError.at(("body", "target"), f"cannot open {url!r}: {result['errorText']}")
            await tab.wait_for("Page.loadEventFired")
    except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed, KeyError) as exc:
        raise DesktopUnavailableError(f"cannot drive the browser's new tab: {exc}") from exc


async def _close_tab(cdp_url: str, target_id: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            await client.get(f"{cdp_url}/json/close/{target_id}")


async def go(cdp_url: str, delta: int) -> bool:
    """Move ``delta`` entries through the tab's history; False if there is none that far."""
    try:
        async with await _session(cdp_url) as socket:
            tab = Tab(socket)
            await tab.call("Page.enable")
            history = await tab.call("Page.getNavigationHistory")
            index = int(history["currentIndex"]) + delta
            entries = history["entries"]
            if not 0 <= index < len(entries):
                return False
            await tab.call("Page.navigateToHistoryEntry", entryId=entries[index]["id"])
            # A page restored from the back-forward cache fires no load event.
            await tab.wait_for("Page.loadEventFired", "Page.frameNavigated")
            return True
    except ConnectionClosed as exc:
        raise DesktopUnavailableError(f"the browser closed the DevTools session: {exc}") from exc
