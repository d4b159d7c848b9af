"""``deskbox trace show``: a trace file in the browser, served from 127.0.0.1.

A small server of the standard library's, for as long as the command runs. Like the
sandbox's viewer it takes no token in a URL: the link it prints carries a one-time
ticket that the browser trades for a cookie, so another user of the machine who finds
the port cannot read the trace.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import NotFoundError
from . import viewer
from .archive import TraceFile

COOKIE = "deskbox_trace"
_FRAME = re.compile(r"^/frames/(\d{1,12})$")


class TraceServer:
    """Serves one trace file until closed. ``url`` opens it once, in one browser."""

    def __init__(self, path: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.trace = TraceFile(path)
        self._ticket: str | None = secrets.token_urlsafe(24)
        self._session = secrets.token_urlsafe(32)
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError:
            self.trace.close()
            raise
        self._server.daemon_threads = True
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._events = json.dumps(self.trace.as_events().model_dump(mode="json")).encode()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/?ticket={self._ticket}"

    def start(self) -> TraceServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="deskbox-trace-show", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.trace.close()

    def __enter__(self) -> TraceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redeem(self, ticket: str) -> bool:
        with self._lock:
            if self._ticket is None or not secrets.compare_digest(ticket, self._ticket):
                return False
            self._ticket = None
            return True

    def admits(self, cookie_header: str | None) -> bool:
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(cookie_header or "")
        except Exception:
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and secrets.compare_digest(morsel.value, self._session)

    def answer(self, path: str) -> tuple[bytes, str]:
        """The body and media type for an admitted GET."""
        if path == "/":
            page = viewer.page(
                {"source": "remote", "base": "/", "live": False},
                assets="/assets/",
                title=f"{self.trace.meta.title or 'deskbox trace'} ({self.trace.path.name})",
            )
            return page.encode(), "text/html; charset=utf-8"
        if path == "/events":
            return self._events, "application/json"
        if path.startswith("/assets/"):
            return viewer.asset(path.removeprefix("/assets/"))
        match = _FRAME.match(path)
        if match is not None:
            picture = self.trace.frame(int(match.group(1)))
            if picture is not None:
                return picture, "image/jpeg"
        raise NotFoundError(f"no {path} here")


class _Handler(BaseHTTPRequestHandler):
    owner: TraceServer
    server_version = "deskbox-trace"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        ticket = parse_qs(parts.query).get("ticket", [""])[0]
        if parts.path == "/" and ticket:
            if not self.owner.redeem(ticket):
                self._send(HTTPStatus.FORBIDDEN, b"This link was used already: run deskbox trace show again.")
                return
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Location", "/")
            self.send_header(
                "Set-Cookie", f"{COOKIE}={self.owner._session}; HttpOnly; SameSite=Strict; Path=/"
            )
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self.owner.admits(self.headers.get("Cookie")):
            self._send(HTTPStatus.FORBIDDEN, b"Open the link deskbox trace show printed.")
            return
        try:
            body, media_type = self.owner.answer(parts.path)
        except NotFoundError as exc:
            self._send(HTTPStatus.NOT_FOUND, exc.message.encode())
            return
        self._send(HTTPStatus.OK, body, media_type)

    def _send(self, status: HTTPStatus, body: bytes, media_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a viewer's requests are not news
