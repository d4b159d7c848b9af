"""Arguments checked at the SDK's edge, so every mistake is a DeskboxError.

``@checked`` validates a public method's arguments against its annotations (pydantic's
``validate_call``) and raises InvalidActionError naming each argument at fault. The
schema models the methods then build check the constraints (a coordinate on the screen's
range, a known key), with the same field paths and messages the server gives.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from pydantic import ConfigDict, ValidationError, validate_call

from ..errors import InvalidActionError, ResponseValidationError, validation_message

P = ParamSpec("P")
R = TypeVar("R")

_CONFIG = ConfigDict(arbitrary_types_allowed=True)


def checked(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Validate the arguments of an async method; translate pydantic's errors."""
    names = list(inspect.signature(method).parameters)
    # Built at the first call: the annotations name classes defined after the method.
    validated: list[Callable[P, Coroutine[Any, Any, R]]] = []

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if not validated:
            validated.append(validate_call(config=_CONFIG)(method))
        try:
            return await validated[0](*args, **kwargs)
        except ValidationError as exc:
            if exc.title in (method.__qualname__, method.__name__):  # the arguments, not a model inside
                raise _arguments_error(exc, names) from None
            raise ResponseValidationError(
                f"{method.__name__}: the sandbox's answer has an unexpected shape: {exc}"
            ) from exc

    return run


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "bytes", "none", "list", "dict", "tuple"})


def _is_union_member(part: object) -> bool:
    """pydantic names each member of a union it tried ("str", "list[str]", "literal['a']")."""
    return isinstance(part, str) and (not part.isidentifier() or part in _TYPE_TAGS)


def _arguments_error(exc: ValidationError, names: list[str]) -> InvalidActionError:
    merged: list[dict[str, object]] = []
    for detail in InvalidActionError.from_validation(exc).details:
        loc = detail["loc"]
        if loc and isinstance(loc[0], int) and loc[0] < len(names):
            loc[0] = names[loc[0]]  # a positional argument: name it
        while loc and _is_union_member(loc[-1]):
            loc.pop()  # one message per argument, not one per member of its type
        if merged and merged[-1]["loc"] == loc:
            merged[-1]["msg"] = f"{merged[-1]['msg']}, or {str(detail['msg'])[0].lower()}{detail['msg'][1:]}"
        else:
            merged.append(detail)
    return InvalidActionError(validation_message(merged), details=merged)
