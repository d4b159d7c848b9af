"""The API's own docs (/docs, /openapi.json), for the token or a full viewer cookie.

A browser cannot send a bearer header to open a page, so a person who opened the
viewer through a ticket can read the docs in that browser; anyone else sends the token.
Swagger UI's files are served from the package (fastapi-offline's copy), not a CDN: a
sandbox often has no internet, and the page must still work.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from ...errors import AuthenticationError, NotFoundError
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


ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


@functools.cache
def _assets() -> Path:
    return Path(str(resources.files("fastapi_offline") / "static"))


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    _allowed(request)
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="deskbox API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
    )


@router.get("/docs/assets/{name}")
async def docs_asset(request: Request, name: str) -> FileResponse:
    _allowed(request)
    if name not in ASSETS:
        raise NotFoundError(f"no docs asset {name!r}")
    return FileResponse(_assets() / name, headers={"Cache-Control": "private, max-age=86400"})
