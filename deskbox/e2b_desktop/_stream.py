"""e2b_desktop's ``sandbox.stream``: deskbox's viewer, which is always running.

E2B's stream URL is reusable, so the one given here is a viewer link (it works many times
until it expires or the stream is stopped), not the native SDK's one-time ticket. Every
link needs its own secret, so the "auth key" of ``require_auth`` is a link's secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from ..client._sync import Stream as NativeStream
from ._errors import InvalidArgumentException, translated, unsupported

LINK_SECONDS_MAX = 7 * 24 * 3600
LINK_SECONDS_DEFAULT = 24 * 3600


class Stream:
    """e2b_desktop's live view; ``start`` and ``stop`` keep e2b's rules (no second start)."""

    def __init__(self, native: NativeStream, base_url: str, deadline: Callable[[], float | None]) -> None:
        self._native = native
        self._base_url = base_url.rstrip("/")
        self._deadline = deadline
        self._started = False
        self._auth_key: str | None = None
        self._links: list[str] = []

    def _lifetime(self) -> float:
        deadline = self._deadline()
        if deadline is None:
            return LINK_SECONDS_DEFAULT
        return max(60.0, min(LINK_SECONDS_MAX, deadline - time.time()))

    def _link(self, view_only: bool) -> tuple[str, str]:
        """A new viewer link: (its URL, its secret)."""
        made = self._native.create_link(view_only=view_only, expires_in=self._lifetime())
        self._links.append(made.id)
        url = made.url or ""
        return url, parse_qs(urlsplit(url).query)["link"][0]

    @translated
    def start(
        self,
        vnc_port: int | None = None,
        port: int | None = None,
        require_auth: bool = False,
        window_id: str | None = None,
    ) -> None:
        if self._started:
            raise RuntimeError("Stream is already running")
        if vnc_port is not None or port is not None:
            raise InvalidArgumentException("vnc_port, port: the viewer is served by the sandbox's own server")
        if window_id is not None:
            raise unsupported("stream.start(window_id=)", "the viewer shows the whole desktop")
        if require_auth:
            _, self._auth_key = self._link(view_only=False)
        self._started = True

    @translated
    def stop(self) -> None:
        """End every link this stream gave out; the viewers they opened close."""
        for link_id in self._links:
            self._native.revoke_link(link_id)
        self._links.clear()
        self._auth_key = None
        self._started = False

    @translated
    def get_url(
        self,
        auto_connect: bool = True,
        view_only: bool = False,
        resize: str = "scale",
        auth_key: str | None = None,
    ) -> str:
        """A viewer URL that works many times while the sandbox lives (or until ``stop``).
        It carries a link's own secret, never the API token."""
        if resize not in ("scale", "remote", "off"):
            raise InvalidArgumentException(f"resize: one of 'scale', 'remote', 'off', not {resize!r}")
        options = urlencode({"resize": resize, "autoconnect": str(auto_connect).lower()})
        if auth_key is not None:
            return f"{self._base_url}/viewer?{urlencode({'link': auth_key})}&{options}"
        url, _ = self._link(view_only)
        return f"{url}&{options}"

    def get_auth_key(self) -> str:
        if self._auth_key is None:
            raise RuntimeError("Unable to retrieve stream auth key, check if require_auth is enabled")
        return self._auth_key
