"""Long actions do not hold the desktop: the server answers while one runs, and one whose
client has gone away stops (a real uvicorn server on a display of its own)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from Xlib import X
from Xlib import display as xdisplay

from deskbox.actions import MAX_TEXT_LENGTH
from harness.desktop_session import start_xvfb
from tests.helpers import deskbox_serve

pytestmark = pytest.mark.integration

TOKEN = "long-" + os.urandom(6).hex()
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


class KeyCounter:
    """A focused window on the display that counts the key releases it receives."""

    def __init__(self, display: str) -> None:
        self.count = 0
        self._conn = xdisplay.Display(display)
        screen = self._conn.screen()
        self.window = screen.root.create_window(
            0, 0, 200, 200, 0, screen.root_depth, override_redirect=True, event_mask=X.KeyReleaseMask
        )
        self.window.map()
        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._conn.sync()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            while True:
                if self._conn.next_event().type == X.KeyRelease:
                    self.count += 1
        except Exception:
            return


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, str]]:
    """`deskbox serve` on an X server of its own: typing here reaches no other test."""
    xvfb, display = start_xvfb(800, 600)
    try:
        with deskbox_serve(display, TOKEN) as (url, _):
            yield url, display
    finally:
        xvfb.kill()
        xvfb.wait()


def test_the_server_answers_during_a_long_type(served: tuple[str, str]) -> None:
    url, display = served
    counter = KeyCounter(display)
    # Long enough to be under way while the other requests are asked: 6000 keys were
    # typed in under 0.1 s once, and ended before the first question (60000 take ~0.8 s).
    text = "x" * 40_000
    answers: list[int] = []

    def type_it() -> None:
        body = {"type": "type", "text": text}
        answers.append(httpx.post(f"{url}/actions", json=body, headers=HEADERS, timeout=120).status_code)

    typing = threading.Thread(target=type_it)
    typing.start()
    deadline = time.monotonic() + 30
    while counter.count < 100:
        assert time.monotonic() < deadline and typing.is_alive(), f"no typing arrived ({answers})"
        time.sleep(0.01)
    waits = []
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as http:
        while typing.is_alive() and len(waits) < 5:
            started = time.monotonic()
            assert http.get("/health").status_code == 200
            assert http.get("/screenshot", params={"format": "jpeg"}).status_code == 200
            waits.append(time.monotonic() - started)
    typing.join()
    assert answers == [200]
    assert waits, "the typing ended before anything was asked"
    assert max(waits) < 2, f"health and a screenshot waited {max(waits):.1f} s behind typing"
    deadline = time.monotonic() + 10
    while counter.count < len(text) and time.monotonic() < deadline:
        time.sleep(0.02)  # the last releases may still be on their way to the window
    assert counter.count == len(text)


def test_an_abandoned_action_stops(served: tuple[str, str]) -> None:
    url, display = served
    counter = KeyCounter(display)
    text = "y" * MAX_TEXT_LENGTH
    body = json.dumps({"type": "type", "text": text}).encode()
    host, port = httpx.URL(url).host, httpx.URL(url).port
    assert port is not None
    client = socket.create_connection((host, port))
    request = (
        f"POST /actions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    client.sendall(request.encode() + body)
    deadline = time.monotonic() + 30
    while counter.count < 100:
        assert time.monotonic() < deadline, "no typing arrived"
        time.sleep(0.002)
    client.close()  # the client leaves once typing has begun, however fast the typing is
    stopped_at = _settled(counter)
    assert stopped_at < len(text) // 2, f"typing went on after its client left ({stopped_at} keys)"
    with httpx.Client(base_url=url, headers=HEADERS) as http:
        assert http.get("/health").status_code == 200


def _settled(counter: KeyCounter) -> int:
    """The count once no key has arrived for half a second."""
    last, still_since = counter.count, time.monotonic()
    while time.monotonic() - still_since < 0.5:
        time.sleep(0.02)
        if counter.count != last:
            last, still_since = counter.count, time.monotonic()
    return last
