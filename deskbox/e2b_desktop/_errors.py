"""e2b's exception names, each a DeskboxError, and the one place native errors become them.

Code written for e2b catches ``CommandExitException`` or ``TimeoutException``; the SDK
underneath raises deskbox's own errors. ``translated`` turns one into the other at this
layer's boundary, keeping the original as the cause, so both ``except`` clauses work:
every exception here is also a ``DeskboxError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn, ParamSpec, TypeVar

from .. import errors

P = ParamSpec("P")
R = TypeVar("R")

MODE = "the e2b_desktop compatibility layer"


class SandboxException(errors.DeskboxError):
    """e2b's root of sandbox errors."""

    def __init__(self, *args: Any, status_code: int | None = None) -> None:
        super().__init__(" ".join(str(a) for a in args))
        self.args = args
        if status_code is not None:
            self.status = status_code


class TimeoutException(SandboxException, errors.TimeoutError):
    """A command, a request or the sandbox itself ran out of time."""


class InvalidArgumentException(SandboxException):
    """An argument was refused; the message names it."""


class NotEnoughSpaceException(SandboxException):
    pass


class NotFoundException(SandboxException):
    pass


class FileNotFoundException(NotFoundException):
    pass


class SandboxNotFoundException(NotFoundException):
    pass


class SandboxNotRunningException(TimeoutException):
    pass


class SandboxUnreachableException(TimeoutException):
    pass


class AuthenticationException(SandboxException):
    pass


class RateLimitException(SandboxException):
    pass


class GuestUnresponsiveException(SandboxException):
    pass


class ServiceBusyException(SandboxException):
    pass


class UnsupportedException(SandboxException, errors.UnsupportedInModeError):
    """A member of e2b's SDK that deskbox does not offer; ``what`` names it."""

    def __init__(self, what: str, why: str) -> None:
        SandboxException.__init__(self, f"{what} is not available in deskbox: {why}")
        self.what = what
        self.mode = MODE


@dataclass
class CommandResult:
    """A finished command, as e2b gives it."""

    stderr: str
    stdout: str
    exit_code: int
    error: str | None = None


@dataclass
class CommandExitException(SandboxException):
    """A command exited with a non-zero code; it carries the command's result."""

    stderr: str = ""
    stdout: str = ""
    exit_code: int = 1
    error: str | None = None
    cmd: str = ""
    args: Any = field(default_factory=tuple)
    envs: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None

    def __post_init__(self) -> None:
        errors.DeskboxError.__init__(self, str(self))

    def __str__(self) -> str:
        return f"Command exited with code {self.exit_code} and error:\n{self.stderr}"


def _mapped(exc: errors.DeskboxError, not_found: type[SandboxException]) -> Exception:
    if isinstance(exc, SandboxException):
        return exc
    if isinstance(exc, errors.CommandExitError):
        result = exc.result
        return CommandExitException(
            stderr=getattr(result, "stderr", ""),
            stdout=getattr(result, "stdout", ""),
            exit_code=getattr(result, "exit_code", 1),
            error=getattr(result, "stderr", None),
        )
    if isinstance(exc, errors.UnsupportedInModeError | errors.CapabilityError):
        return UnsupportedException(getattr(exc, "what", "") or "this", exc.message)
    kind: type[SandboxException] = SandboxException
    if isinstance(exc, errors.TimeoutError):
        kind = TimeoutException
    elif isinstance(exc, errors.SandboxNotFoundError):
        kind = SandboxNotFoundException
    elif isinstance(exc, errors.NotFoundError):
        kind = not_found
    elif isinstance(exc, errors.InvalidActionError):
        kind = InvalidArgumentException
    elif isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
        kind = AuthenticationException
    elif isinstance(exc, errors.StorageFullError):
        kind = NotEnoughSpaceException
    elif isinstance(exc, errors.DesktopUnavailableError):
        kind = SandboxUnreachableException
    mapped = kind(exc.message)
    mapped.details = exc.details
    return mapped


def _reraise(exc: errors.DeskboxError, not_found: type[SandboxException]) -> NoReturn:
    mapped = _mapped(exc, not_found)
    if mapped is exc:
        raise exc
    raise mapped from exc


def translated(function: Callable[P, R]) -> Callable[P, R]:
    """Raise e2b's exception for whatever deskbox error ``function`` raises."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except errors.DeskboxError as exc:
            _reraise(exc, NotFoundException)

    return wrapper


def translated_files(function: Callable[P, R]) -> Callable[P, R]:
    """``translated``, for the file calls: what is not found there is a file, and e2b
    says so with FileNotFoundException (a NotFoundException)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except errors.DeskboxError as exc:
            _reraise(exc, FileNotFoundException)

    return wrapper


def translated_iterator(
    iterator: Iterator[R], not_found: type[SandboxException] = NotFoundException
) -> Iterator[R]:
    try:
        yield from iterator
    except errors.DeskboxError as exc:
        _reraise(exc, not_found)


def unsupported(what: str, why: str) -> UnsupportedException:
    return UnsupportedException(what, why)
