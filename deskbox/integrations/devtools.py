"""A sandbox's Chromium as a local debugging port, for tools that add no credentials.

deskbox's DevTools gateway (``/cdp``) answers only with the sandbox's token, sent as a
header. Tools written for a browser's own debugging port (OSWorld's setup and
evaluators, ``connect_over_cdp("http://host:9222")`` scripts) send none. This forwarder
gives them that port on 127.0.0.1, in the caller's own process: ``GET /json/*`` and the
DevTools websockets go to the sandbox with the token added, and the websocket URLs in
the answers point back here. The token never leaves this process.

    with DevToolsForwarder.for_sandbox(sbx) as devtools:
        browser = playwright.chromium.connect_over_cdp(devtools.address)
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.http11 import Request, Response

from .. import errors
from .._tls import tls_for
from ._forwarding import LocalForwarder

GATEWAY = "/cdp"
START_TIMEOUT = 10.0
SOCKET_ADDRESS = re.compile(r"^wss?://[^/]+/cdp(?=/)")
"""The start of a websocket URL the gateway hands out (``ws://<sandbox>/cdp/devtools/...``)."""


class DevToolsForwarder(LocalForwarder):
    """Chromium's DevTools at ``http://127.0.0.1:<port>`` for one sandbox."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        port: int = 0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._target(url, token, headers)
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="devtools-forwarder", daemon=True)
        self._thread.start()
        try:
            self._server = asyncio.run_coroutine_threadsafe(self._listen(port), self._loop).result(
                START_TIMEOUT
            )
        except OSError as exc:
            self._stop_loop()
            raise errors.DeskboxError(
                f"the DevTools forwarder cannot listen on 127.0.0.1:{port}: {exc}"
            ) from exc
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _target(self, url: str, token: str, headers: Mapping[str, str] | None) -> None:
        base = url.rstrip("/")
        self._http = base + GATEWAY
        self._ws = "ws" + base.removeprefix("http") + GATEWAY
        self._verify = tls_for(url)
        # The sandbox's routing headers too (Fly's instance header: one host, many machines).
        self._headers = {**(headers or {}), "Authorization": f"Bearer {token}"}

    def retarget(self, url: str, token: str, headers: Mapping[str, str] | None = None) -> None:
        """Reach another sandbox (or the same one at a new URL, after a reset) from the
        same port; sessions already open stay with the sandbox they reached."""
        self._target(url, token, headers)

    async def _listen(self, port: int) -> Server:
        return await serve(
            self._relay,
            "127.0.0.1",
            port,
            process_request=self._answer_http,
            max_size=None,
            compression=None,
        )

    async def _answer_http(self, connection: ServerConnection, request: Request) -> Response | None:
        """``/json/*`` is answered here; a websocket upgrade goes on to ``_relay``."""
        path = request.path.split("?", 1)[0]
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None if path.startswith("/devtools/") else _answer(404, "no such DevTools socket\n")
        if not (path == "/json" or path.startswith("/json/")):
            return _answer(404, f"no DevTools endpoint {path}\n")
        try:
            async with httpx.AsyncClient(headers=self._headers, verify=self._verify, timeout=10) as client:
                answer = await client.get(self._http + request.path)
        except httpx.HTTPError as exc:
            return _answer(502, f"the sandbox at {self._http} did not answer: {type(exc).__name__}\n")
        body = answer.content
        if answer.headers.get("content-type", "").startswith("application/json"):
            body = json.dumps(_pointed_here(answer.json(), f"ws://{self.host}:{self.port}")).encode()
        return _answer(answer.status_code, body, answer.headers.get("content-type", "text/plain"))

    async def _relay(self, client: ServerConnection) -> None:
        """One DevTools session, passed to the sandbox's gateway and back, message by message."""
        assert client.request is not None
        upstream_url = self._ws + client.request.path
        try:
            upstream = await connect(
                upstream_url,
                additional_headers=self._headers,
                ssl=self._verify if upstream_url.startswith("wss:") else None,
                max_size=None,
                compression=None,
                proxy=None,
                open_timeout=10,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError):
            await client.close(1011, "the sandbox's DevTools did not answer")
            return
        async with upstream:
            pumps = [
                asyncio.ensure_future(_pump(client, upstream)),
                asyncio.ensure_future(_pump(upstream, client)),
            ]
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pending:
                pump.cancel()
        await client.close()

    def close(self) -> None:
        if self._server is not None:
            server = self._server
            self._server = None

            async def shut() -> None:
                server.close()
                await server.wait_closed()

            # Sessions that would not close in time end with the loop below.
            with contextlib.suppress(TimeoutError):
                asyncio.run_coroutine_threadsafe(shut(), self._loop).result(START_TIMEOUT)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()


def _answer(status: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8") -> Response:
    """An HTTP answer that ends its connection, as the websocket server does after one:
    a client told so opens a new one for its next request instead of reusing a closed one."""
    data = body.encode() if isinstance(body, str) else body
    headers = Headers({"Content-Type": content_type, "Content-Length": str(len(data)), "Connection": "close"})
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:  # a status with no standard name
        reason = ""
    return Response(status, reason, headers, data)


async def _pump(
    source: ServerConnection | ClientConnection, sink: ServerConnection | ClientConnection
) -> None:
    try:
        async for message in source:
            await sink.send(message)
    except ConnectionClosed:
        pass


def _pointed_here(value: Any, local_ws: str) -> Any:
    """The gateway's websocket URLs, made to point at this forwarder."""
    if isinstance(value, dict):
        return {key: _pointed_here(item, local_ws) for key, item in value.items()}
    if isinstance(value, list):
        return [_pointed_here(item, local_ws) for item in value]
    if isinstance(value, str):
        return SOCKET_ADDRESS.sub(local_ws, value)
    return value
