"""/actions/ws: the action API over one persistent websocket.

A keep-alive HTTP request still pays for a request line, headers, routing and a
response per action; over a socket that stays open, an action is one frame each way.
The socket carries the same requests as HTTP, restricted to the action routes (actions,
screenshots, the pointer's position and the screen's size):

    client, text frame:  {"id": 7, "method": "POST", "path": "/actions",
                          "query": {"screenshot_after": "true"}, "body": {...}}
    server, binary frame: a 4-byte big-endian header length, the header as JSON
                          {"id": 7, "status": 200, "headers": {"content-type": ...}},
                          then the body: the JSON HTTP would answer, or the image bytes

``query`` holds what the HTTP query string would (strings or JSON values) and is checked
by the same rules; errors come back with the HTTP status and the one error body. Every
request runs as its own task, so several can be in flight; ``{"id": 7, "cancel": true}``
stops one early, and closing the socket stops them all, as a client leaving an HTTP
request does (a cancelled request gets no answer). The token goes in the Authorization
header when the socket opens. Screenshots travel as bytes; an action's response keeps
its images in base64, the form agents hand to a model.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import struct
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ...actions import ActionRequest, screenshot_query
from ...desktop import Desktop
from ...dispatch import perform
from ...errors import DeskboxError, InvalidActionError, NotFoundError
from ...timing import clock
from ...trace.bodies import describe, shrink
from ..auth import bearer_matches
from ..errors import error_body
from ..tracing import Tracer, traced
from .desktop import cursor, screen
from .screenshot import take_screenshot

router = APIRouter(tags=["actions"])
log = logging.getLogger("deskbox.server")
JSON = "application/json"

POLICY_VIOLATION = 1008
MAX_IN_FLIGHT = 32
"""Requests one socket may have running at once; the next waits for a free slot."""

_requests: TypeAdapter[Any] = TypeAdapter(ActionRequest)
_flag: TypeAdapter[bool] = TypeAdapter(bool)


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    content_type: str
    content: bytes
    headers: dict[str, str] | None = None


CANCELLED = 499
"""The client went away: nothing is sent (a trace still records the step)."""


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int | str
    method: str = "POST"
    path: str = "/actions"
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    cancel: bool = False


ROUTES = {("POST", "/actions"), ("GET", "/screenshot"), ("GET", "/cursor"), ("GET", "/screen")}
"""What the socket carries; anything else is answered 404, as HTTP would a wrong path."""


@router.websocket("/actions/ws")
async def action_socket(websocket: WebSocket) -> None:
    if not bearer_matches(websocket.app.state.tokens, websocket.headers.get("authorization")):
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the handshake gets a 403
        return
    await websocket.accept()
    desktop: Desktop = websocket.app.state.desktop
    session = _Session(websocket, desktop)
    try:
        await session.serve()
    finally:
        await session.stop()


class _Session:
    def __init__(self, websocket: WebSocket, desktop: Desktop) -> None:
        self.websocket = websocket
        self.desktop = desktop
        self.running: dict[int | str, asyncio.Task[None]] = {}
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.sending = asyncio.Lock()

    async def serve(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                binary = InvalidActionError.at(("frame",), "send each request as a text frame of JSON")
                await self._send_error(None, binary)
                continue
            try:
                frame = _Frame.model_validate_json(text)
            except ValidationError as exc:
                await self._send_error(_frame_id(text), InvalidActionError.from_validation(exc, ("frame",)))
                continue
            if frame.cancel:
                task = self.running.get(frame.id)
                if task is not None:
                    task.cancel()
                continue
            if frame.id in self.running:
                await self._send_error(
                    frame.id,
                    InvalidActionError.at(("frame", "id"), "a request with this id is still running"),
                )
                continue
            await self.slots.acquire()
            task = asyncio.create_task(self._answer(frame))
            self.running[frame.id] = task
            task.add_done_callback(functools.partial(self._finished, frame.id))

    def _finished(self, key: int | str, _: asyncio.Task[None]) -> None:
        self.running.pop(key, None)
        self.slots.release()

    async def stop(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def _answer(self, frame: _Frame) -> None:
        tracer: Tracer | None = getattr(self.websocket.app.state, "tracer", None)
        step = None
        if tracer is not None and tracer.active and traced(frame.method.upper(), frame.path):
            step = await tracer.begin(frame.method.upper(), frame.path, dict(frame.query), "socket")
        with clock() as spent:
            try:
                reply = await self._reply(frame)
            except asyncio.CancelledError:
                if step is not None and tracer is not None:  # cancelled by the client: still a step
                    await tracer.finish(step, CANCELLED, shrink(frame.body), None, spent)
                raise
        if step is not None and tracer is not None:
            answer = describe(reply.content, reply.content_type)
            await tracer.finish(step, reply.status, shrink(frame.body), answer, spent)
        if reply.status != CANCELLED:
            with contextlib.suppress(WebSocketDisconnect):
                await self._send(frame.id, reply.status, reply.content_type, reply.content, reply.headers)

    async def _reply(self, frame: _Frame) -> _Reply:
        try:
            return await self._route(frame)
        except DeskboxError as exc:
            status, body = error_body(exc)
            return _Reply(status, JSON, json.dumps(body).encode())
        except WebSocketDisconnect:
            return _Reply(CANCELLED, JSON, b"")  # nobody is left to answer
        except Exception as exc:  # the HTTP app's last resort, in the same shape
            log.exception("unexpected error in %s %s over /actions/ws", frame.method, frame.path)
            status, body = error_body(DeskboxError(f"internal error: {type(exc).__name__}"))
            return _Reply(status, JSON, json.dumps(body).encode())

    async def _route(self, frame: _Frame) -> _Reply:
        if (frame.method.upper(), frame.path) not in ROUTES:
            raise NotFoundError(f"{frame.method} {frame.path} is not carried by /actions/ws")
        if frame.path in ("/cursor", "/screen"):
            answer = await (cursor if frame.path == "/cursor" else screen)(self.desktop)
            return _Reply(200, JSON, answer.model_dump_json().encode())
        options, settle = screenshot_query(frame.query)
        if frame.path == "/screenshot":
            encoded = await take_screenshot(self.desktop, options, settle)
            size = {"x-image-width": str(encoded.width), "x-image-height": str(encoded.height)}
            return _Reply(200, encoded.media_type, encoded.data, size)
        try:
            request = _requests.validate_python(frame.body)
        except ValidationError as exc:
            raise InvalidActionError.from_validation(exc, ("body",)) from None
        try:
            after = _flag.validate_python(frame.query.get("screenshot_after", False))
        except ValidationError as exc:
            raise InvalidActionError.from_validation(exc, ("query", "screenshot_after")) from None
        response = await perform(self.desktop, request, options if after else None, settle)
        return _Reply(200, JSON, response.model_dump_json(exclude_none=True).encode())

    async def _send_error(self, key: int | str | None, exc: DeskboxError) -> None:
        status, body = error_body(exc)
        await self._send(key, status, JSON, json.dumps(body).encode())

    async def _send(
        self,
        key: int | str | None,
        status: int,
        content_type: str,
        content: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        header = {"id": key, "status": status, "headers": {"content-type": content_type, **(headers or {})}}
        head = json.dumps(header).encode()
        async with self.sending:
            await self.websocket.send_bytes(struct.pack(">I", len(head)) + head + content)


def _frame_id(text: str) -> int | str | None:
    """The id of a frame that failed validation, if it has a usable one."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        key = json.loads(text).get("id")
        if isinstance(key, int | str):
            return key
    return None
