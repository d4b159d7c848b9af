"""Every error deskbox raises, under one root.

    DeskboxError
    ├── InvalidActionError        a request the desktop cannot take (HTTP 422); has .details
    ├── AuthenticationError       missing or wrong token (HTTP 401)
    ├── PermissionDeniedError     the sandbox refuses, e.g. another user without root (403)
    ├── NotFoundError             no such file, process or window (404)
    │   └── SandboxNotFoundError  no such sandbox
    ├── ConflictError             the target is in the wrong state, e.g. a directory (409)
    ├── TimeoutError              a wait ran out; a timed-out command also says so
    ├── CommandExitError          a command exited non-zero; has .result
    ├── DesktopUnavailableError   the X display cannot be reached right now (503)
    ├── ActionFailedError         an action in a batch failed while running; has .index
    └── BackendError              Docker or E2B failed to create, find or kill a sandbox

Every class carries the HTTP status the control server answers with and the ``type``
string of the JSON error body, so the server and the SDK map errors the same way in
both directions. Lower-level errors are translated where they cross into deskbox, with
``raise ... from`` keeping the original as the cause.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar


class DeskboxError(Exception):
    """The root of every deskbox error."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []


class InvalidActionError(DeskboxError):
    """The request named a field wrongly; ``details`` lists each field and the problem."""

    status_code = 422
    error_type = "invalid_request"

    @classmethod
    def at(cls, loc: tuple[str | int, ...] | list[str | int], message: str) -> InvalidActionError:
        """The error for one field, e.g. ``InvalidActionError.at(("body", "cwd"), "...")``."""
        where = ".".join(str(part) for part in loc)
        return cls(f"{where}: {message}", details=[{"loc": list(loc), "msg": message, "type": "value_error"}])


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


class BackendError(DeskboxError):
    error_type = "backend_error"


ERROR_TYPES: dict[str, type[DeskboxError]] = {
    cls.error_type: cls
    for cls in (
        DeskboxError,
        InvalidActionError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        SandboxNotFoundError,
        ConflictError,
        TimeoutError,
        CommandExitError,
        DesktopUnavailableError,
        ActionFailedError,
        BackendError,
    )
}
"""The class for each JSON error ``type``, for clients turning a response back into one."""
