"""The API's own docs (/docs, /openapi.json), for the token or a full viewer cookie.

A browser cannot send a bearer header to open a page, so a person who opened the
viewer through a ticket can read the docs in that browser; anyone else sends the token.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from ...errors import AuthenticationError
from ..auth import bearer_matches
from ..viewer_auth import COOKIE

router = APIRouter(include_in_schema=False)


def _allowed(request: Request) -> None:
    if bearer_matches(request.app.state.tokens, request.headers.get("authorization")):
        return
    if request.app.state.viewer_auth.check_cookie(request.cookies.get(COOKIE)) == "full":
        return
    raise AuthenticationError("the API docs need the token, or a viewer opened through a ticket")


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    _allowed(request)
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    _allowed(request)
    return get_swagger_ui_html(openapi_url="/openapi.json", title="deskbox API")
