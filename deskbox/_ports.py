"""Free loopback ports and X display numbers for new sandboxes (standard library only)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_display() -> str:
    """An unused display number, drawn at random so concurrent starts do not collide."""
    while True:
        number = random.randrange(100, 30000)
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
