"""e2b's terminal interface (``sandbox.pty``) on a deskbox sandbox: a login shell in a real
pseudo-terminal whose screen stream comes back through ``on_pty``."""

from __future__ import annotations

import threading
import time

from deskbox.e2b_desktop import PtySize, Sandbox


class Collected:
    def __init__(self) -> None:
        self.data = b""
        self.lock = threading.Lock()

    def __call__(self, chunk: bytes) -> None:
        with self.lock:
            self.data += chunk

    def wait_for(self, needle: bytes, after: int = 0, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while (found := self.data.find(needle, after)) < 0:
            assert time.monotonic() < deadline, f"{needle!r} never came; the screen: {self.data[-400:]!r}"
            time.sleep(0.05)
        return found + len(needle)


def test_a_shell_in_a_terminal_runs_top_and_follows_a_resize(sandbox: Sandbox) -> None:
    terminal = sandbox.pty.create(PtySize(rows=24, cols=80), timeout=0)
    screen = Collected()
    ended: list[object] = []
    waiting = threading.Thread(target=lambda: ended.append(terminal.wait(on_pty=screen)), daemon=True)
    waiting.start()

    sandbox.pty.send_stdin(terminal.pid, b"echo cols=$(tput cols)\n")
    mark = screen.wait_for(b"cols=80")
    sandbox.pty.resize(terminal.pid, PtySize(rows=40, cols=123))
    sandbox.pty.send_stdin(terminal.pid, b"echo cols=$(tput cols)\n")
    mark = screen.wait_for(b"cols=123", after=mark)

    sandbox.pty.send_stdin(terminal.pid, b"top -d 0.3\n")
    mark = screen.wait_for(b"load average", after=mark)
    sandbox.pty.send_stdin(terminal.pid, b"q")
    sandbox.pty.send_stdin(terminal.pid, b"exit 0\n")
    waiting.join(timeout=30)
    assert ended and ended[0].exit_code == 0  # type: ignore[attr-defined]
    assert terminal.pid not in [p.pid for p in sandbox.commands.list()]
