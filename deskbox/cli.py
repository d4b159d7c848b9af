"""The ``deskbox`` command.

deskbox serve --display :1        serve an existing X display
deskbox desktop                   start Xvfb, a window manager, VNC + viewer, and serve it
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence


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


def cmd_desktop(args: argparse.Namespace) -> int:
    from .desktop.session import DesktopSession

    width, _, height = args.size.partition("x")
    session = DesktopSession(
        width=int(width),
        height=int(height),
        window_manager=args.wm,
        vnc=not args.no_vnc,
        vnc_password=os.environ.get("DESKBOX_VNC_PASSWORD"),
    )
    print(f"deskbox: starting a {args.size} desktop...", flush=True)
    with session:
        print(f"deskbox: display {session.display} is ready", flush=True)
        if session.viewer_port is not None:
            print(f"deskbox: viewer at http://127.0.0.1:{session.viewer_port}/vnc.html", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _serve(session.display, args.host, args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskbox", description="A desktop in a box for computer-use agents."
    )
    parser.add_argument("--version", action="version", version=f"deskbox {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve an existing X display")
    serve.add_argument("--display", default=os.environ.get("DISPLAY", ":0"))
    serve.set_defaults(func=cmd_serve)

    desktop = commands.add_parser("desktop", help="start a desktop on this host and serve it")
    desktop.add_argument("--size", default="1280x800", help="screen size, WIDTHxHEIGHT")
    desktop.add_argument("--wm", default="auto", choices=["auto", "xfce", "openbox", "none"])
    desktop.add_argument("--no-vnc", action="store_true", help="skip x11vnc and the web viewer")
    desktop.set_defaults(func=cmd_desktop)

    for sub in (serve, desktop):
        sub.add_argument("--host", default=os.environ.get("DESKBOX_HOST", "127.0.0.1"))
        sub.add_argument("--port", type=int, default=int(os.environ.get("DESKBOX_PORT", "8000")))
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "desktop":
        width, sep, height = args.size.partition("x")
        if not (sep and width.isdigit() and height.isdigit()):
            build_parser().error(f"--size must look like 1280x800, not {args.size!r}")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
