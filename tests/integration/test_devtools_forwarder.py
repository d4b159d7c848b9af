"""The DevTools forwarder: a local sandbox's Chromium at a plain debugging port on
127.0.0.1, reached with Playwright's connect_over_cdp and no credentials, as OSWorld's
setup and evaluators reach a VM's Chrome."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from deskbox import AsyncSandbox, errors
from deskbox.integrations.devtools import DevToolsForwarder

pytestmark = pytest.mark.integration
SCREEN = (1024, 768)


@pytest_asyncio.fixture(loop_scope="session")
async def forwarder(sandbox: AsyncSandbox) -> AsyncIterator[DevToolsForwarder]:
    with DevToolsForwarder.for_sandbox(sandbox) as made:
        yield made


async def test_playwright_drives_the_browser_through_the_port(
    sandbox: AsyncSandbox, forwarder: DevToolsForwarder
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(forwarder.address)
        try:
            page = await browser.contexts[0].new_page()
            await page.goto("data:text/html,<title>through the forwarder</title><p id=p>here</p>")
            assert await page.text_content("#p") == "here"
            # The tab is the desktop's own: deskbox's SDK sees its window.
            await page.bring_to_front()
            titles = [w.title for w in await sandbox.list_windows()]
            for _ in range(100):
                if any("through the forwarder" in title for title in titles):
                    break
                await asyncio.sleep(0.05)
                titles = [w.title for w in await sandbox.list_windows()]
            assert any("through the forwarder" in title for title in titles), titles
            await page.close()
        finally:
            await browser.close()


async def test_the_json_endpoints_point_back_here(
    sandbox: AsyncSandbox, forwarder: DevToolsForwarder
) -> None:
    async with httpx.AsyncClient(base_url=forwarder.address) as client:
        version = (await client.get("/json/version/")).json()
        pages = (await client.get("/json/list")).json()
    assert version["webSocketDebuggerUrl"].startswith(f"ws://127.0.0.1:{forwarder.port}/devtools/browser/")
    assert pages and all(
        p["webSocketDebuggerUrl"].startswith(f"ws://127.0.0.1:{forwarder.port}/devtools/page/")
        for p in pages
        if "webSocketDebuggerUrl" in p
    )
    assert sandbox.info.token not in str(version) + str(pages)


async def test_what_is_not_devtools_is_a_404(forwarder: DevToolsForwarder) -> None:
    async with httpx.AsyncClient(base_url=forwarder.address) as client:
        answer = await client.get("/osworld/screenshot")
    assert answer.status_code == 404
    assert "no DevTools endpoint /osworld/screenshot" in answer.text
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://127.0.0.1:{forwarder.port}/actions/ws", proxy=None)
    assert refused.value.response.status_code == 404


async def test_a_wrong_token_reaches_nothing(sandbox: AsyncSandbox) -> None:
    with DevToolsForwarder(sandbox.url, "not-the-token") as wrong:
        async with httpx.AsyncClient(base_url=wrong.address) as client:
            assert (await client.get("/json/version")).status_code == 401
        async with connect(f"ws://127.0.0.1:{wrong.port}/devtools/browser/any", proxy=None) as socket_:
            with pytest.raises(ConnectionClosed):
                await socket_.send('{"id": 1, "method": "Browser.getVersion"}')
                await asyncio.wait_for(socket_.recv(), 10)


async def test_a_taken_port_is_a_deskbox_error(sandbox: AsyncSandbox) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(errors.DeskboxError, match=f"cannot listen on 127.0.0.1:{port}"):
            DevToolsForwarder(sandbox.url, sandbox.info.token, port=port)


async def test_a_browser_session_survives_the_forwarders_close_of_others(sandbox: AsyncSandbox) -> None:
    """Two forwarders on one sandbox: closing one leaves the other serving."""
    first = DevToolsForwarder.for_sandbox(sandbox)
    with DevToolsForwarder.for_sandbox(sandbox) as second:
        first.close()
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{second.address}/json/version")).status_code == 200
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{first.address}/json/version")
