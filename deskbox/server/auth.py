"""Bearer-token authentication for every route but /health."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..errors import AuthenticationError

# auto_error=False: a missing token gets deskbox's own 401 body, not FastAPI's 403.
bearer = HTTPBearer(auto_error=False, description="The sandbox token (DESKBOX_TOKEN)")


async def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Reject the request unless it carries the server's token.

    Async on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, and
    that hop would cost more than everything else a small action does.

    The comparison is constant-time so a caller cannot learn the token byte by byte.
    The token is never accepted in a query string, which would end up in access logs.
    """
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <token>'")
    if not _same(credentials.credentials, request.app.state.token):
        raise AuthenticationError("invalid token")


def _same(supplied: str, expected: str) -> bool:
    return hmac.compare_digest(supplied.strip().encode(), expected.encode())


def bearer_matches(expected: str, authorization: str | None) -> bool:
    """Check an Authorization header by hand, for websockets (no HTTPBearer there)."""
    scheme, _, supplied = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and bool(supplied) and _same(supplied, expected)
