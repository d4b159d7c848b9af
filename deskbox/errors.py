"""Every error deskbox raises, under one root.

    DeskboxError
    ├── InvalidActionError        a request the desktop cannot take (HTTP 422); has .details
    │                             (every bad argument, on either side of the wire)
    │   └── RequestTooLargeError  a body, headers or an output past its size limit (413)
    ├── AuthenticationError       missing or wrong token (HTTP 401)
    ├── PermissionDeniedError     the sandbox refuses, e.g. another user without root (403)
    ├── NotFoundError             no such file, process or window (404)
    │   └── SandboxNotFoundError  no such sandbox
    ├── ConflictError             the target is in the wrong state, e.g. a directory (409)
    ├── TimeoutError              a wait ran out; a timed-out command also says so
    ├── CommandExitError          a command exited non-zero; has .result
    ├── DesktopUnavailableError   the X display cannot be reached right now (503)
    ├── StorageFullError          the sandbox's disk is full (507)
    ├── ActionFailedError         an action in a batch failed while running; has .index
    ├── ScriptError               an action's code raised or crashed (422); has .traceback
    ├── UnsupportedInModeError    a reduced mode (E2B's stock template) cannot do this (501)
    ├── CapabilityError           the backend cannot do this at all, e.g. pause (501)
    ├── ResponseValidationError   the sandbox answered with a body the SDK cannot read
    ├── TraceFileError            a file that is not a deskbox trace, or cannot be read
    └── BackendError              Docker or E2B failed to create, find or kill a sandbox

Every class carries the HTTP status the control server answers with and the ``type``
string of the JSON error body, so the server and the SDK map errors the same way in
both directions. Lower-level errors are translated where they cross into deskbox, with
``raise ... from`` keeping the original as the cause.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol


class _FieldErrors(Protocol):
    """pydantic's ValidationError, or FastAPI's RequestValidationError."""

    def errors(self) -> Sequence[Any]: ...


class DeskboxError(Exception):
    """The root of every deskbox error."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []

    def describe(self) -> str:
        """The problem in one line a model can act on."""
        return self.message


class InvalidActionError(DeskboxError):
    """The request named a field wrongly; ``details`` lists each field and the problem."""

    status_code = 422
    error_type = "invalid_request"

    @classmethod
    def at(cls, loc: tuple[str | int, ...] | list[str | int], message: str) -> InvalidActionError:
        """The error for one field, e.g. ``InvalidActionError.at(("body", "cwd"), "...")``."""
        where = ".".join(str(part) for part in loc)
        return cls(f"{where}: {message}", details=[{"loc": list(loc), "msg": message, "type": "value_error"}])

    @classmethod
    def from_validation(cls, exc: _FieldErrors, prefix: Sequence[str | int] = ()) -> InvalidActionError:
        """The error for a pydantic ValidationError: each field at fault and its problem.

        The server, the SDK and the adapters all build their validation errors here, so
        the same mistake reads the same wherever it is caught. ``prefix`` places the
        fields in the request (``("body",)``, ``("query",)``).
        """
        details = [_detail(error, prefix) for error in exc.errors()]
        return cls(validation_message(details), details=details)

    def describe(self) -> str:
        """Each field and its problem, without the request part (body, query)."""
        if not self.details:
            return self.message
        parts = []
        for detail in self.details:
            where = ".".join(str(p) for p in detail["loc"] if p not in _REQUEST_PARTS)
            parts.append(f"{where}: {detail['msg']}" if where else str(detail["msg"]))
        return "; ".join(parts)


_REQUEST_PARTS = ("body", "query", "path")


def _detail(error: Any, prefix: Sequence[str | int]) -> dict[str, Any]:
    loc: list[str | int] = [*prefix, *(part for part in error.get("loc", ()) if isinstance(part, str | int))]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    kind = str(error.get("type", "value_error"))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc.append("type")
    if kind == "union_tag_not_found":
        message = "missing 'type': name the action, e.g. \"click\""
    return {"loc": loc, "msg": message, "type": kind}


def validation_message(details: Sequence[dict[str, Any]]) -> str:
    """Up to five fields and their problems, in one line."""
    parts = [f"{'.'.join(str(p) for p in d['loc']) or 'body'}: {d['msg']}" for d in details[:5]]
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return "; ".join(parts) + more


class RequestTooLargeError(InvalidActionError):
    """A request (its body or headers) or what it asks for (an output) is over a limit."""

    status_code = 413
    error_type = "request_too_large"


class AuthenticationError(DeskboxError):
    status_code = 401
    error_type = "authentication_error"


class PermissionDeniedError(DeskboxError):
    status_code = 403
    error_type = "permission_denied"


class NotFoundError(DeskboxError):
    status_code = 404
    error_type = "not_found"


class SandboxNotFoundError(NotFoundError):
    error_type = "sandbox_not_found"


class ConflictError(DeskboxError):
    status_code = 409
    error_type = "conflict"


class TimeoutError(DeskboxError, builtins.TimeoutError):
    status_code = 504
    error_type = "timeout"


class CommandExitError(DeskboxError):
    """A command exited with a non-zero code."""

    error_type = "command_exit"

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class DesktopUnavailableError(DeskboxError):
    status_code = 503
    error_type = "desktop_unavailable"


class StorageFullError(DeskboxError):
    """The sandbox has no space left for what was being written; what was there is kept."""

    status_code = 507
    error_type = "storage_full"


class ActionFailedError(DeskboxError):
    """An action failed while running; the ones before it took effect."""

    status_code = 422
    error_type = "action_failed"

    def __init__(
        self, message: str, *, index: int, action_type: str, results: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.index = index
        self.action_type = action_type
        self.results: list[Any] = results or []
        """Results of the actions that ran before the failing one."""


class ScriptError(DeskboxError):
    """Code an action ran (pyautogui) raised or crashed; the sandbox keeps serving.

    ``traceback`` is Python's, ``line`` the line of the code it came from, ``output``
    what the code printed before it failed.
    """

    status_code = 422
    error_type = "script_error"

    def __init__(
        self, message: str, *, traceback: str = "", line: int | None = None, output: str = ""
    ) -> None:
        located = f"line {line}: " if line is not None else ""
        summary = message.splitlines()[0] if message else "the code failed"
        super().__init__(
            message, details=[{"loc": ["code"], "msg": f"{located}{summary}", "type": "script_error"}]
        )
        self.traceback = traceback
        self.line = line
        self.output = output


class UnsupportedInModeError(DeskboxError):
    """A reduced mode cannot do this; ``what`` and ``mode`` name the operation and the mode."""

    status_code = 501
    error_type = "unsupported"

    def __init__(self, message: str, *, what: str = "", mode: str = "") -> None:
        super().__init__(message)
        self.what = what
        self.mode = mode


class CapabilityError(DeskboxError):
    """The sandbox's backend lacks a capability (pause, resume, ...); ``capability`` names it."""

    status_code = 501
    error_type = "capability_missing"

    def __init__(self, message: str, *, capability: str = "") -> None:
        super().__init__(message)
        self.capability = capability


class ResponseValidationError(DeskboxError):
    """The sandbox's answer does not have the shape the SDK expects (a version mismatch)."""

    error_type = "response_validation_error"


class TraceFileError(DeskboxError):
    """A file given as a trace is not one, or nothing of it can be read."""

    status_code = 422
    error_type = "trace_file_error"


class BackendError(DeskboxError):
    error_type = "backend_error"


ERROR_TYPES: dict[str, type[DeskboxError]] = {
    cls.error_type: cls
    for cls in (
        DeskboxError,
        InvalidActionError,
        RequestTooLargeError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        SandboxNotFoundError,
        ConflictError,
        TimeoutError,
        CommandExitError,
        DesktopUnavailableError,
        StorageFullError,
        ActionFailedError,
        ScriptError,
        UnsupportedInModeError,
        CapabilityError,
        ResponseValidationError,
        TraceFileError,
        BackendError,
    )
}
"""The class for each JSON error ``type``, for clients turning a response back into one."""

__all__ = [
    "ActionFailedError",
    "AuthenticationError",
    "BackendError",
    "CapabilityError",
    "CommandExitError",
    "ConflictError",
    "DeskboxError",
    "DesktopUnavailableError",
    "InvalidActionError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestTooLargeError",
    "ResponseValidationError",
    "SandboxNotFoundError",
    "ScriptError",
    "StorageFullError",
    "TimeoutError",
    "TraceFileError",
    "UnsupportedInModeError",
]
