"""One JSON error shape for every failure, and the handlers that produce it.

    {"error": {"type": "invalid_request", "message": "...", "details": [{"loc": [...], "msg": "..."}]}}

Validation errors become 422s naming each field; deskbox errors carry their own status;
anything unexpected is logged and becomes a 500 that still has this shape.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ActionFailedError, DeskboxError, InvalidActionError
from ..models import ErrorBody, ErrorDetail, ErrorInfo

log = logging.getLogger("deskbox.server")


def error_response(status: int, info: ErrorInfo, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        ErrorBody(error=info).model_dump(exclude_none=True), status_code=status, headers=headers
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return await _on_deskbox_error(request, InvalidActionError.from_validation(exc))


def error_info(exc: DeskboxError) -> ErrorInfo:
    details = [ErrorDetail.model_validate(d) for d in exc.details if "msg" in d]
    info = ErrorInfo(type=exc.error_type, message=exc.message, details=details)
    if isinstance(exc, ActionFailedError):
        info.failed_index = exc.index
        info.results = exc.results
    return info


def error_body(exc: DeskboxError) -> tuple[int, dict[str, object]]:
    """The status and JSON body of a failure, for answers that are not HTTP responses."""
    return exc.status_code, ErrorBody(error=error_info(exc)).model_dump(mode="json", exclude_none=True)


async def _on_deskbox_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeskboxError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if exc.status_code >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
    return error_response(exc.status_code, error_info(exc), headers)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, ErrorInfo(type=kind, message=str(exc.detail)))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return error_response(
        500, ErrorInfo(type="internal_error", message=f"internal error: {type(exc).__name__}")
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DeskboxError, _on_deskbox_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
