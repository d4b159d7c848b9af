"""Bearer-token authentication for every route but /health."""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..errors import AuthenticationError


class TokenStore:
    """The token requests are checked against: fixed, or read from a file.

    A sandbox started from a snapshot (an E2B template) was started before anyone knew
    its token; its creator writes the token into ``DESKBOX_TOKEN_FILE`` afterwards. The
    file is re-read when it changes (one stat per request). Until it exists, no token is
    valid, so a sandbox without one refuses everything instead of accepting a default.
    """

    def __init__(self, token: str | None, file: Path | None = None) -> None:
        self._fixed = token
        self._file = file
        self._seen: tuple[int, int] | None = None
        self._from_file: str | None = None

    def current(self) -> str | None:
        if self._file is None:
            return self._fixed
        try:
            stat = os.stat(self._file)
        except OSError:
            return None
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            text = self._file.read_text().strip()
            self._seen, self._from_file = (stat.st_mtime_ns, stat.st_size), text or None
        return self._from_file


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
    if not _same(credentials.credentials, request.app.state.tokens.current()):
        raise AuthenticationError("invalid token")


def _same(supplied: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(supplied.strip().encode(), expected.encode())


def bearer_matches(tokens: TokenStore, authorization: str | None) -> bool:
    """Check an Authorization header by hand, for websockets (no HTTPBearer there)."""
    scheme, _, supplied = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and bool(supplied) and _same(supplied, tokens.current())
