"""The ``deskbox`` command.

deskbox serve --display :1        serve an existing X display
deskbox desktop                   start Xvfb, a window manager, VNC + viewer, and serve it
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .sandbox.stack import StackConfig

# The browser's first page: a real document with a title, so "a page is loaded" is checkable.
START_PAGE = (
    "data:text/html;charset=utf-8,<title>deskbox</title>"
    "<body style='font:20px sans-serif;margin:40px;color:%23333'><h1>deskbox</h1>"
    "<p>This desktop is ready for an agent.</p>"
)


def _serve(display: str, host: str, port: int) -> None:
    import uvicorn

    from .server import Settings, create_app
    from .server.app import tune_malloc

    tune_malloc()
    settings = Settings(display=display, host=host, port=port)
    token, generated = settings.ensure_token()
    app = create_app(settings)
    print(f"deskbox: serving display {display} at http://{host}:{port}  (docs: /docs)", flush=True)
    if generated:
        # Printed once for the person who started the server; never put it in a URL.
        print(f"deskbox: token (DESKBOX_TOKEN was unset): {token}", flush=True)
    # httptools parses requests several times faster than h11; the plain asyncio loop
    # is kept because uvloop makes starting subprocesses slower.
    uvicorn.run(
        app, host=host, port=port, log_level="warning", access_log=False, http="httptools", loop="asyncio"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    _serve(args.display, args.host, args.port)
    return 0


def _token() -> tuple[str, bool]:
    token = os.environ.get("DESKBOX_TOKEN", "")
    return (token, False) if token else (secrets.token_urlsafe(24), True)


def _free_display() -> str:
    number = 10
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    return f":{number}"


def _run_stack(config: StackConfig) -> int:
    from .sandbox.runner import run_sandbox

    token, generated = _token()
    return asyncio.run(run_sandbox(config, token, generated))


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The container's main process: the whole supervised sandbox on a fixed display."""
    width, height = args.size
    return _run_stack(
        StackConfig(
            display=args.display,
            width=width,
            height=height,
            host=args.host,
            port=args.port,
            runtime_dir=Path(args.runtime_dir),
            browser_sandbox=not args.no_browser_sandbox,
            start_url=args.start_url,
        )
    )


def cmd_desktop(args: argparse.Namespace) -> int:
    """The same sandbox on this host, on a free display, for development."""
    width, height = args.size
    runtime = Path(tempfile.mkdtemp(prefix="deskbox-"))
    return _run_stack(
        StackConfig(
            display=_free_display(),
            width=width,
            height=height,
            host=args.host,
            port=args.port,
            runtime_dir=runtime,
            browser_profile=runtime / "chromium",
            window_manager=args.wm,
            # Chromium's sandbox refuses to run as root.
            browser_sandbox=os.geteuid() != 0,
            start_url=args.start_url,
        )
    )


def _size(value: str) -> tuple[int, int]:
    width, sep, height = value.lower().partition("x")
    if not (
        sep
        and width.isdigit()
        and height.isdigit()
        and 64 <= int(width) <= 8192
        and 64 <= int(height) <= 8192
    ):
        raise argparse.ArgumentTypeError(f"give WIDTHxHEIGHT between 64 and 8192, not {value!r}")
    return int(width), int(height)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskbox", description="A desktop in a box for computer-use agents."
    )
    parser.add_argument("--version", action="version", version=f"deskbox {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve an existing X display")
    serve.add_argument("--display", default=os.environ.get("DISPLAY", ":0"))
    serve.set_defaults(func=cmd_serve)

    sandbox = commands.add_parser(
        "sandbox", help="run the whole supervised sandbox (the container's command)"
    )
    sandbox.add_argument("--display", default=":0")
    sandbox.add_argument("--runtime-dir", default=os.environ.get("DESKBOX_RUNTIME_DIR", "/tmp/deskbox"))
    sandbox.add_argument(
        "--no-browser-sandbox",
        action="store_true",
        help="run Chromium without its sandbox (containers without user namespaces)",
    )
    sandbox.set_defaults(func=cmd_sandbox)

    desktop = commands.add_parser("desktop", help="run the sandbox on this host, on a free display")
    desktop.add_argument("--wm", default="auto", choices=["auto", "xfce", "openbox"])
    desktop.set_defaults(func=cmd_desktop)

    for stack_command in (sandbox, desktop):
        stack_command.add_argument(
            "--size",
            type=_size,
            default=os.environ.get("DESKBOX_RESOLUTION", "1280x800"),
            help="screen size, WIDTHxHEIGHT (env DESKBOX_RESOLUTION)",
        )
        stack_command.add_argument("--start-url", default=os.environ.get("DESKBOX_START_URL", START_PAGE))

    for sub in (serve, sandbox, desktop):
        sub.add_argument("--host", default=os.environ.get("DESKBOX_HOST", "127.0.0.1"))
        sub.add_argument("--port", type=int, default=int(os.environ.get("DESKBOX_PORT", "8000")))
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
