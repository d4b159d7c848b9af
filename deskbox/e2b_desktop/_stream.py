"""e2b_desktop's ``sandbox.stream``: deskbox's viewer, which is always running."""

from __future__ import annotations

from urllib.parse import urlencode

from ..client._sync import Stream as NativeStream
from ._errors import InvalidArgumentException, translated, unsupported


class Stream:
    """e2b_desktop's live view. deskbox's viewer needs no start; ``start`` and ``stop``
    keep e2b's rules (no second start) so code written for them behaves the same."""

    def __init__(self, native: NativeStream) -> None:
        self._native = native
        self._started = False

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
        self._started = True

    def stop(self) -> None:
        self._started = False

    @translated
    def get_url(
        self,
        auto_connect: bool = True,
        view_only: bool = False,
        resize: str = "scale",
        auth_key: str | None = None,
    ) -> str:
        """A viewer link that carries a one-time ticket (valid 60 s), never the API token;
        every link needs authentication, so ``auth_key`` has nothing to add."""
        if resize not in ("scale", "remote", "off"):
            raise InvalidArgumentException(f"resize: one of 'scale', 'remote', 'off', not {resize!r}")
        url = self._native.get_url(view_only=view_only)
        return f"{url}&{urlencode({'resize': resize, 'autoconnect': str(auto_connect).lower()})}"

    def get_auth_key(self) -> str:
        raise unsupported(
            "stream.get_auth_key",
            "every viewer link carries its own one-time ticket; there is no shared password",
        )
