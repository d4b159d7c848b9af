"""Viewer access without the token in a URL: tickets and links traded for a signed cookie.

An API client (holding the token) asks for a ticket and gets a URL carrying it. The
ticket works once, within a minute, so the URL is safe to paste into a browser even if
it ends up in a log. Opening it sets an HttpOnly, SameSite=Strict cookie signed with
the token, which the viewer's page and its websocket then carry. Nothing else opens the
viewer: the token never appears in a URL, and the cookie cannot be forged without it.

A link is a ticket for embedding: an app's own page shows the live view in a frame and
reloads it, so the same URL must work many times. It works until it expires or is
revoked, and the sessions it opened (their cookies name it) end with it, open viewers
included. Only a hash of its secret is kept.
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


LINK_SECONDS_MAX = 7 * 24 * 3600.0
NO_LINK = "-"


@dataclass
class ViewerLink:
    id: str
    mode: Mode
    expires_at: float
    """Unix time."""
    digest: str


@dataclass(frozen=True)
class Grant:
    """What a ticket or a link opened: the viewer's mode, for how long, through which link."""

    mode: Mode
    expires_at: float
    link: str = NO_LINK


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class ViewerAuth:
    tokens: TokenStore
    _tickets: dict[str, tuple[float, Mode]] = field(default_factory=dict)
    _links: dict[str, ViewerLink] = field(default_factory=dict)
    _viewers: dict[str, set[object]] = field(default_factory=dict)
    """The open viewer sockets of each link, to close when it is revoked."""

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

    def issue_link(self, mode: Mode, seconds: float) -> tuple[ViewerLink, str]:
        """A link that opens the viewer until it expires or is revoked; and its secret."""
        self._forget_expired()
        secret = secrets.token_urlsafe(32)
        link = ViewerLink(
            id=secrets.token_hex(8), mode=mode, expires_at=time.time() + seconds, digest=_digest(secret)
        )
        self._links[link.id] = link
        return link, secret

    def links(self) -> list[ViewerLink]:
        self._forget_expired()
        return list(self._links.values())

    def use_link(self, secret: str) -> Grant | None:
        """What a link's secret opens, if it is live; it stays usable."""
        digest = _digest(secret)
        for link in self.links():
            if hmac.compare_digest(link.digest, digest):
                return Grant(link.mode, link.expires_at, link.id)
        return None

    def revoke(self, link_id: str) -> set[object] | None:
        """Revoke a link; the viewer sockets it had open (to close), or None if unknown."""
        if self._links.pop(link_id, None) is None:
            return None
        return self._viewers.pop(link_id, set())

    def viewer_opened(self, link_id: str, socket: object) -> None:
        if link_id != NO_LINK:
            self._viewers.setdefault(link_id, set()).add(socket)

    def viewer_closed(self, link_id: str, socket: object) -> None:
        self._viewers.get(link_id, set()).discard(socket)

    def _forget_expired(self) -> None:
        now = time.time()
        for link_id in [i for i, link in self._links.items() if link.expires_at <= now]:
            del self._links[link_id]
            self._viewers.pop(link_id, None)

    def _sign(self, message: str) -> str:
        # No token yet (a snapshot waiting for its own): sign with a random key, so no
        # cookie checks out.
        key = self.tokens.current() or secrets.token_hex(32)
        return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()

    def session_cookie(self, mode: Mode, link: str = NO_LINK, until: float | None = None) -> str:
        expires = int(min(time.time() + SESSION_SECONDS, until or float("inf")))
        return f"{mode}.{expires}.{link}.{self._sign(f'viewer:{mode}:{expires}:{link}')}"

    def check_cookie(self, value: str | None) -> Mode | None:
        """The mode a cookie grants, or None if it is missing, expired, forged or from a
        revoked link."""
        grant = self.cookie_grant(value)
        return None if grant is None else grant.mode

    def cookie_grant(self, value: str | None) -> Grant | None:
        if not value or len(value) > 200 or not value.isascii():
            return None  # anything else is not a cookie this server made
        parts = value.split(".")
        if len(parts) != 4:
            return None
        mode, expires, link, signature = parts
        if mode not in ("full", "view") or not (expires.isdigit() and len(expires) <= 12):
            return None
        if int(expires) < time.time():
            return None
        if not hmac.compare_digest(
            signature.encode(), self._sign(f"viewer:{mode}:{expires}:{link}").encode()
        ):
            return None
        if link != NO_LINK and link not in self._links:
            return None  # revoked, or gone with a restart of the server
        return Grant(mode, float(expires), link)  # type: ignore[arg-type]
