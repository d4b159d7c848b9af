"""What the live examples share: the task argument, the backend, the key check."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_TASK = (
    "Open the web browser on the desktop, go to https://en.wikipedia.org, search for "
    "'computer-use agent' and tell me the first sentence of the article you land on."
)


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("task", nargs="?", default=DEFAULT_TASK, help="what the agent should do")
    parser.add_argument(
        "--backend", default=os.environ.get("DESKBOX_BACKEND", "docker"), choices=["docker", "local"]
    )
    parser.add_argument("--max-steps", type=int, default=40)
    return parser


def require_key(*names: str) -> str:
    """The first of ``names`` set in the environment, or exit with a clear message."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    wanted = " or ".join(names)
    print(
        f"This example needs {wanted} in the environment, e.g. `export {names[0]}=...`.\n"
        "agent_examples/offline_replay.py runs without any key.",
        file=sys.stderr,
    )
    raise SystemExit(2)


def confirm(question: str) -> bool:
    """Ask the person at the terminal; with no terminal, refuse."""
    if not sys.stdin.isatty():
        print(f"{question} -> refused (no terminal to ask)", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
