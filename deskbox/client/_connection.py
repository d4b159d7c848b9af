"""The SDK's one connection to a sandbox: keep-alive requests, and error translation.

Requests go over the transport the backend hands out: HTTP to the sandbox's control
server for every backend that runs one, or a transport that answers the same requests
itself (``deskbox.transports``). Every failure leaves here as a DeskboxError: the
server's JSON error body picks the class (its ``type``), and httpx's own errors become
DeskboxError or TimeoutError with the original kept as ``__cause__``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import httpx

from .. import errors
from .._tls import tls_for
from ._action_socket import ActionSocketTransport

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
CHANNEL_VARIABLE = "DESKBOX_ACTION_CHANNEL"


def action_channel() -> Literal["websocket", "http"]:
    """How actions reach a sandbox's server: over its websocket (the default), or as
    HTTP requests (``DESKBOX_ACTION_CHANNEL=http``). Transports that answer requests
    themselves (E2B's stock mode) take neither."""
    chosen = os.environ.get(CHANNEL_VARIABLE, "websocket").strip().lower() or "websocket"
    if chosen not in ("websocket", "http"):
        raise errors.InvalidActionError(f"{CHANNEL_VARIABLE} is {chosen!r}: give 'websocket' or 'http'")
    return "http" if chosen == "http" else "websocket"


class RequestOptions(TypedDict, total=False):
    json_body: Any
    json_text: str
    """The JSON body already written, as a model's ``model_dump_json`` gives it."""
    params: Mapping[str, Any] | None
    timeout: float | None


class Connection:
    """An authenticated client of one control server (or of a transport standing in)."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(timeout, connect=10.0) if timeout is not None else DEFAULT_TIMEOUT
        self.reopen(url, token, transport, headers)

    def reopen(
        self,
        url: str,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Point at the sandbox anew (after a resume); the old client must be closed.
        ``headers`` ride on every request, the action socket's opening included."""
        self.url = url.rstrip("/")
        self._closed = False
        self._socket: ActionSocketTransport | None = None
        tls = tls_for(self.url)
        if transport is None and action_channel() == "websocket":
            transport = self._socket = ActionSocketTransport(httpx.AsyncHTTPTransport(verify=tls))
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})},
            timeout=self._timeout,
            transport=transport,
            verify=tls,
            # Sandboxes live on loopback or behind their own URL; a system proxy would
            # only add a hop (or refuse 127.0.0.1 outright).
            trust_env=False,
        )

    async def aclose(self) -> None:
        self._closed = True
        await self._client.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise errors.DeskboxError(
                f"the connection to {self.url} is closed (by close(), kill() or pause()); connect again"
            )

    async def request(
        self, method: str, path: str, *, content: Any = None, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        """The answer to a request, raised as a DeskboxError when it is an error. The body
        is ``json_body`` (a value), ``json_text`` (that value already written as JSON) or
        ``content`` (bytes)."""
        return _checked(await self._answer(method, path, content, options))

    async def content(self, method: str, path: str, **options: Unpack[RequestOptions]) -> bytes:
        """The body of the answer, as ``request`` gets it; no httpx.Response is built for
        an answer that came over the socket (140 us on cold caches, a tenth of a key's
        whole time)."""
        answer = await self._answer(method, path, None, options)
        if isinstance(answer, tuple) and answer[0] < 400:
            return answer[2]
        return _checked(answer).content

    async def json(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        body = await self.content(method, path, **options)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise errors.ResponseValidationError(f"{method} {path} answered with no JSON") from exc

    async def _answer(
        self, method: str, path: str, content: Any, options: RequestOptions
    ) -> tuple[int, dict[str, str], bytes] | httpx.Response:
        """(status, headers, body) from the open socket, or httpx's response; transport
        failures raised as DeskboxError."""
        json_body, json_text = options.get("json_body"), options.get("json_text")
        params, timeout = options.get("params"), options.get("timeout")
        self._check_open()
        socket = self._socket
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            if socket is not None and content is None and socket.open_for(method, path):
                # The short way: the frame is made from the arguments, with no HTTP
                # request built, parsed or encoded in between.
                query = {key: str(value) for key, value in (_clean(params) or {}).items()}
                body_json = json_text if json_text is not None else json.dumps(json_body)
                read_timeout = self._timeout.read if timeout is None else timeout
                exchanged = await socket.exchange(method, path, query, body_json, read_timeout)
                if exchanged is not None:
                    return exchanged
            if json_text is not None:
                content, extra["headers"] = json_text.encode(), {"content-type": "application/json"}
            request = self._client.build_request(
                method, path, json=json_body, params=_clean(params), content=content, **extra
            )
            if socket is not None and socket.carries(request):
                # Straight to the socket: the client's send machinery (auth, hooks,
                # cookies, redirects) has nothing to do for these requests.
                response = await socket.handle_async_request(request)
                await response.aread()  # read already, unless it fell back to HTTP
                return response
            return await self._client.send(request)
        except httpx.TimeoutException as exc:
            raise errors.TimeoutError(f"{method} {path} timed out") from exc
        except httpx.HTTPError as exc:
            raise errors.DeskboxError(f"cannot reach the sandbox at {self.url}: {exc}") from exc

    async def download(self, method: str, path: str, destination: Path) -> int:
        """Stream an answer's body into a file (written beside it, then renamed into place)."""
        self._check_open()
        partial = destination.with_name(f".{destination.name}.partial")
        written = 0
        try:
            async with self._client.stream(method, path, timeout=None) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response)
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        written += len(chunk)
            partial.replace(destination)
        except httpx.HTTPError as exc:
            raise errors.DeskboxError(f"the download from {self.url}{path} broke: {exc}") from exc
        except OSError as exc:
            raise errors.DeskboxError(f"cannot write {destination}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        return written

    async def stream_bytes(
        self, method: str, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[bytes]:
        """An answer's body as it arrives, for bodies too large to hold at once."""
        self._check_open()
        try:
            async with self._client.stream(method, path, params=_clean(params), timeout=None) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.HTTPError as exc:
            raise errors.DeskboxError(f"the download from {self.url}{path} broke: {exc}") from exc

    async def events(self, path: str, json_body: Any = None) -> AsyncIterator[tuple[str, Any]]:
        """Server-sent events from a POST (or a GET without a body), as (event, data)."""
        self._check_open()
        method = "POST" if json_body is not None else "GET"
        try:
            async with self._client.stream(method, path, json=json_body, timeout=None) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response)
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        yield event, json.loads(line[6:])
        except httpx.HTTPError as exc:
            raise errors.DeskboxError(f"the output stream from {self.url} broke: {exc}") from exc


def _checked(answer: tuple[int, dict[str, str], bytes] | httpx.Response) -> httpx.Response:
    """The answer as a response, raised as its DeskboxError when it is an error."""
    if isinstance(answer, tuple):
        status, headers, body = answer
        answer = httpx.Response(status, headers=headers, content=body)
    if answer.status_code >= 400:
        raise error_from_response(answer)
    return answer


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}


def error_from_response(response: httpx.Response) -> errors.DeskboxError:
    """The DeskboxError a server error response stands for."""
    try:
        info = response.json()["error"]
        kind, message = str(info["type"]), str(info["message"])
        details = list(info.get("details") or [])
    except (ValueError, KeyError, TypeError):
        kind, message, details = "", f"HTTP {response.status_code}: {response.text[:200]}", []
    cls = errors.ERROR_TYPES.get(kind) or _by_status(response.status_code)
    if cls is errors.ActionFailedError:
        failure = errors.ActionFailedError(
            message,
            index=int(info.get("failed_index") or 0),
            action_type="",
            results=info.get("results") or [],
        )
        failure.details = details
        return failure
    if cls in (
        errors.CommandExitError,
        errors.UnsupportedInModeError,
        errors.CapabilityError,
        errors.ScriptError,
    ):
        return cls(message)
    return cls(message, details=details)


def _by_status(status: int) -> type[errors.DeskboxError]:
    return {
        401: errors.AuthenticationError,
        403: errors.PermissionDeniedError,
        404: errors.NotFoundError,
        409: errors.ConflictError,
        413: errors.RequestTooLargeError,
        422: errors.InvalidActionError,
        431: errors.RequestTooLargeError,
        503: errors.DesktopUnavailableError,
        504: errors.TimeoutError,
    }.get(status, errors.DeskboxError)
