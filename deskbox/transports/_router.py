"""A route table for transports that answer the control server's requests themselves."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from ..errors import InvalidActionError


@dataclass(frozen=True)
class Call:
    """One request, as a handler sees it."""

    method: str
    path: str
    params: httpx.QueryParams
    body: bytes
    path_args: Mapping[str, str]

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            raise InvalidActionError.at(("body",), "not valid JSON") from None

    def model(self, model: type[Any]) -> Any:
        """The body parsed into ``model``, refused as the server refuses it."""
        try:
            return model.model_validate(self.json())
        except ValidationError as exc:
            raise InvalidActionError.from_validation(exc, ("body",)) from None

    def query(self, model: type[Any]) -> Any:
        """The query parameters parsed into ``model``, refused as the server refuses them."""
        try:
            return model.model_validate(dict(self.params))
        except ValidationError as exc:
            raise InvalidActionError.from_validation(exc, ("query",)) from None

    def param(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value is None else str(value)

    def required(self, name: str) -> str:
        value = self.params.get(name)
        if not value:
            raise InvalidActionError.at(("query", name), "Field required")
        return str(value)

    def flag(self, name: str) -> bool:
        return self.params.get(name, "false").lower() in ("1", "true", "yes")


Handler = Callable[[Call], Awaitable[httpx.Response]]


class RouteTable:
    """Handlers keyed by "METHOD /path/{arg}"; the keys are the transport's allowlist."""

    def __init__(self, routes: Mapping[str, Handler]) -> None:
        self.routes = dict(routes)
        self._patterns = [
            (key.split(" ", 1)[0], re.compile(_regex(key.split(" ", 1)[1])), handler)
            for key, handler in routes.items()
        ]

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for wanted, pattern, handler in self._patterns:
            found = pattern.fullmatch(path)
            if wanted == method and found is not None:
                return handler, found.groupdict()
        return None


def _regex(template: str) -> str:
    return re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))


def respond(value: Any, status: int = 200) -> httpx.Response:
    """A JSON response, as the server would send it."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return httpx.Response(status, json=value)


def no_content() -> httpx.Response:
    return httpx.Response(204)


class EventStream(httpx.AsyncByteStream):
    """Server-sent events from an async iterator of (event, data)."""

    def __init__(self, events: AsyncIterator[tuple[str, Any]]) -> None:
        self._events = events

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for event, data in self._events:
            yield f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()

    async def aclose(self) -> None:
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()
