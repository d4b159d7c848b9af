"""The real command, `deskbox serve`, under uvicorn on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import deskbox_serve

pytestmark = pytest.mark.integration

TOKEN = "uvicorn-" + os.urandom(6).hex()


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server(display: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with deskbox_serve(display, TOKEN) as served:
        yield served


@pytest.fixture
def http(server: tuple[str, subprocess.Popen[bytes]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        yield client


def test_serves_on_loopback_with_the_token(
    server: tuple[str, subprocess.Popen[bytes]], http: httpx.Client
) -> None:
    assert server[0].startswith("http://127.0.0.1:")
    assert httpx.get(f"{server[0]}/info").status_code == 401
    assert http.get("/info").json()["screen"] == {"width": 1280, "height": 800}
    assert http.post("/actions", json={"type": "move", "x": 77, "y": 88}).status_code == 200
    assert http.get("/cursor").json() == {"x": 77, "y": 88}
    assert http.get("/screenshot").headers["content-type"] == "image/png"
    display = http.get("/info").json()["display"]
    assert http.post("/shell/run", json={"cmd": "echo $DISPLAY"}).json()["stdout"] == f"{display}\n"


def test_docs_describe_the_api_to_token_holders(
    server: tuple[str, subprocess.Popen[bytes]], http: httpx.Client
) -> None:
    assert httpx.get(f"{server[0]}/openapi.json").status_code == 401
    assert httpx.get(f"{server[0]}/docs").status_code == 401
    schema = http.get("/openapi.json").json()
    assert "/actions" in schema["paths"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    page = http.get("/docs").text
    assert "swagger" in page.lower() and "cdn." not in page  # served here: sandboxes may be offline
    assert http.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert httpx.get(f"{server[0]}/docs/assets/swagger-ui-bundle.js").status_code == 401

    # A browser that opened the viewer through a ticket may read them too.
    with httpx.Client(base_url=server[0]) as browser:
        ticket_url = http.post("/viewer/tickets").json()["url"]
        browser.get(ticket_url)
        assert browser.get("/docs").status_code == 200
        assert browser.get("/info").status_code == 401, "the cookie never opens the API"


def test_large_upload_and_download_stream_without_buffering(
    server: tuple[str, subprocess.Popen[bytes]], http: httpx.Client, tmp_path: Path
) -> None:
    size = 512 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            digest.update(block)
            yield block

    target = tmp_path / "big.bin"
    before = peak_rss_kib(server[1].pid)
    response = http.put("/files/upload", params={"path": str(target)}, content=body())
    assert response.status_code == 200, response.text
    assert target.stat().st_size == size

    received = hashlib.sha256()
    with http.stream("GET", "/files/download", params={"path": str(target)}) as download:
        assert download.headers["content-length"] == str(size)
        for chunk in download.iter_bytes():
            received.update(chunk)
    assert received.hexdigest() == digest.hexdigest()
    grown_mib = (peak_rss_kib(server[1].pid) - before) / 1024
    assert grown_mib < 128, f"the server's peak memory grew {grown_mib:.0f} MiB for a 512 MiB file"


def test_sse_stream_over_a_real_socket(http: httpx.Client) -> None:
    started = time.monotonic()
    first_at = None
    text = ""
    with http.stream("POST", "/shell/stream", json={"cmd": "echo early; sleep 1; echo late"}) as response:
        for chunk in response.iter_text():
            if "early" in chunk and first_at is None:
                first_at = time.monotonic() - started
            text += chunk
    assert first_at is not None and first_at < 0.9, "output was not streamed before the command ended"
    assert "event: exit" in text and '"late\\n"' in text


def raw_request(url: str, head: bytes, body_chunks: Iterator[bytes] | None = None) -> tuple[int, bytes]:
    """Send a request over a plain socket, as much of it as the server takes, and read the
    status line and body of what it answers (it may answer before the body is sent)."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        try:
            sock.sendall(head)
            for chunk in body_chunks or ():
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed without reading the rest: the point
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and received.split(b"\r\n\r\n", 1)[1]:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0
    return status, received.split(b"\r\n\r\n", 1)[-1]


def current_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_an_anonymous_body_is_refused_before_it_is_read(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    """Four 300 MB POSTs without the token at once: each a 401, and the server's memory
    does not grow by what they sent."""
    import concurrent.futures

    url, proc = server
    size = 300 * 1024 * 1024
    head = (
        b"POST /actions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(size).encode() + b"\r\n\r\n"
    )
    block = b"[" * (1024 * 1024)
    before = peak_rss_kib(proc.pid)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: raw_request(url, head, iter([block] * 300)), range(4)))
    assert [status for status, _ in answers] == [401] * 4, answers
    grown = (peak_rss_kib(proc.pid) - before) / 1024
    assert grown < 100, f"the server's peak memory grew {grown:.0f} MiB"


def test_malformed_json_without_the_token_is_a_401(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    response = httpx.post(
        f"{server[0]}/actions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_huge_headers_are_refused_while_they_arrive(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = server
    before = current_rss_mib(proc.pid)
    filler = (b"x" * (1024 * 1024) for _ in range(100))  # a 100 MB header value
    status, body = raw_request(url, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ", filler)
    assert status == 431 and b"request_too_large" in body
    assert current_rss_mib(proc.pid) - before < 50
    assert httpx.get(f"{url}/health").status_code in (200, 503)  # and it keeps serving


def test_an_authenticated_body_over_the_cap_is_a_413(
    server: tuple[str, subprocess.Popen[bytes]], http: httpx.Client
) -> None:
    declared = http.post("/files/write", content=b"{" + b" " * (33 * 1024 * 1024) + b"}")
    assert declared.status_code == 413 and declared.json()["error"]["type"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"path": "/tmp/x", "content": "'
        for _ in range(40):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    streamed = http.post("/files/write", content=chunks())
    assert streamed.status_code == 413
    assert http.get("/screen").status_code == 200  # and the next request on the client works
