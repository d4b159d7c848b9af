"""Waiting for a new sandbox's /health, and saying why it is not ready when it is not."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import httpx

from .._tls import tls_for
from ..errors import BackendError, TimeoutError


def not_ready(body: object) -> str:
    """The components a /health body reports as not ready, each with its error."""
    if not isinstance(body, dict) or not isinstance(body.get("components"), dict):
        return "no answer from its /health"
    found = body.get("errors")
    errors: dict[str, object] = found if isinstance(found, dict) else {}
    parts = []
    for name, state in body["components"].items():
        if state != "ready":
            reason = errors.get(name)
            parts.append(f"{name} {state}" + (f" ({reason})" if reason else ""))
    return "; ".join(parts) or "every component ready"


async def wait_healthy(
    url: str,
    timeout: float,
    *,
    client: httpx.AsyncClient | None = None,
    gone: Callable[[], Awaitable[str | None]] | None = None,
    token: str | None = None,
) -> None:
    """Poll ``url``/health until it answers 200. ``gone`` is checked now and then: a reason
    means the sandbox has ended, and waiting stops with it. Past ``timeout``, the error
    names what is not ready and why (the reasons need the sandbox's ``token``)."""
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + 1
    last: object = None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(
                httpx.AsyncClient(timeout=2, trust_env=False, verify=tls_for(url))
            )
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = await client.get(f"{url}/health", headers=headers)
                if answer.status_code == 200:
                    return
                last = answer.json()
            if gone is not None and time.monotonic() > next_check:
                next_check = time.monotonic() + 1
                reason = await gone()
                if reason is not None:
                    raise BackendError(f"the sandbox at {url} ended before it was ready: {reason}")
            await asyncio.sleep(0.05)
    raise TimeoutError(f"the sandbox at {url} was not ready after {timeout:.0f} s: {not_ready(last)}")


async def take_first_requests(url: str, token: str, client: httpx.AsyncClient) -> None:
    """Serve a new sandbox's first requests before anyone is waiting on them.

    A fresh server answers its first authenticated request 20-30 ms slower than the next,
    and the first over its action socket as much again (measured through Docker's port
    proxy); a pooled sandbox takes both before it is claimed, so a reset from the pool
    does not. Best effort: a sandbox that fails them is caught by the health check at its
    claim, and nothing here changes its state (the screen's size, both ways).
    """
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {token}"}
    with contextlib.suppress(httpx.HTTPError):
        await client.get(f"{url}/screen", headers=headers)
    socket_url = "ws" + url.removeprefix("http") + "/actions/ws"
    with contextlib.suppress(Exception):
        async with connect(socket_url, additional_headers=headers, open_timeout=5, proxy=None) as socket:
            await socket.send('{"id": 1, "method": "GET", "path": "/screen"}')
            await asyncio.wait_for(socket.recv(), 5)
