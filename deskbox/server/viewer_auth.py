"""Viewer access without the token in a URL: one-time tickets traded for a signed cookie.

An API client (holding the token) asks for a ticket and gets a URL carrying it. The
ticket works once, within a minute, so the URL is safe to paste into a browser even if
it ends up in a log. Opening it sets an HttpOnly, SameSite=Strict cookie signed with
the token, which the viewer's page and its websocket then carry. Nothing else opens the
viewer: the token never appears in a URL, and the cookie cannot be forged without it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

from .auth import TokenStore

Mode = Literal["full", "view"]
TICKET_SECONDS = 60.0
SESSION_SECONDS = 12 * 3600
COOKIE = "deskbox_viewer"


@dataclass
class ViewerAuth:
    tokens: TokenStore
    _tickets: dict[str, tuple[float, Mode]] = field(default_factory=dict)

    def issue_ticket(self, mode: Mode) -> str:
        now = time.monotonic()
        self._tickets = {t: v for t, v in self._tickets.items() if v[0] > now}
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = (now + TICKET_SECONDS, mode)
        return ticket

    def redeem(self, ticket: str) -> Mode | None:
        """The ticket's mode if it is valid; it can never be used again either way."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _sign(self, message: str) -> str:
        # No token yet (a snapshot waiting for its own): sign with a random key, so no
        # cookie checks out.
        key = self.tokens.current() or secrets.token_hex(32)
        return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()

    def session_cookie(self, mode: Mode) -> str:
        expires = int(time.time() + SESSION_SECONDS)
        return f"{mode}.{expires}.{self._sign(f'viewer:{mode}:{expires}')}"

    def check_cookie(self, value: str | None) -> Mode | None:
        """The mode a cookie grants, or None if it is missing, expired or forged."""
        if not value or len(value) > 200 or not value.isascii():
            return None  # anything else is not a cookie this server made
        mode, _, rest = value.partition(".")
        expires, _, signature = rest.partition(".")
        if mode not in ("full", "view") or not (expires.isdigit() and len(expires) <= 12):
            return None
        if int(expires) < time.time():
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(f"viewer:{mode}:{expires}").encode()):
            return None
        return mode  # type: ignore[return-value]
