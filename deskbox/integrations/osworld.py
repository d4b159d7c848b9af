"""OSWorld's guest address for a deskbox sandbox.

OSWorld's client (``desktop_env``'s PythonController) talks plain HTTP to a guest
server at ``http://<vm_ip>:<port>`` and sends no credentials. A deskbox sandbox never
answers without its token, so the client is given a forwarder instead: an address on
127.0.0.1, in the caller's own process, that passes each request to the sandbox's
``/osworld`` routes with the token added. The token never leaves this process.

    with GuestForwarder.for_sandbox(sbx) as guest:
        controller = PythonController(vm_ip=guest.host, server_port=guest.port)
        controller.execute_python_command("pyautogui.click(100, 200)")
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx

from .. import errors
from .._tls import tls_for
from ._forwarding import LocalForwarder

PREFIX = "/osworld"
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}
)
"""Headers that belong to one connection, not to the request or answer passed on."""
CHUNK = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    forwarder: ClassVar[GuestForwarder]

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        client = self.forwarder.client
        try:
            with client.stream(self.command, PREFIX + self.path, content=body, headers=headers) as answer:
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in answer.iter_raw(CHUNK):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
        except httpx.HTTPError as exc:
            message = f"the sandbox at {client.base_url} did not answer: {type(exc).__name__}".encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the harness logs its own requests."""


class GuestForwarder(LocalForwarder):
    """An OSWorld guest address (``host``, ``port``) that reaches one deskbox sandbox."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        port: int = 0,
        timeout: float = 600.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._timeout = timeout
        self.client = self._client_for(url, token, headers)
        handler = type("Handler", (_Handler,), {"forwarder": self})
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            self.client.close()
            raise errors.DeskboxError(
                f"the OSWorld forwarder cannot listen on 127.0.0.1:{port}: {exc}"
            ) from exc
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="osworld-forwarder", daemon=True
        )
        self._thread.start()

    def _client_for(self, url: str, token: str, headers: Mapping[str, str] | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=url.rstrip("/"),
            # The sandbox's routing headers too (Fly's instance header: one host, many machines).
            headers={**(headers or {}), "Authorization": f"Bearer {token}"},
            timeout=self._timeout,
            verify=tls_for(url),
        )

    def retarget(self, url: str, token: str, headers: Mapping[str, str] | None = None) -> None:
        """Reach another sandbox (or the same one at a new URL, after a reset) from the
        same address, so OSWorld's client keeps the address it was given."""
        previous, self.client = self.client, self._client_for(url, token, headers)
        previous.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.client.close()
