"""The ``deskbox`` command.

deskbox serve --display :1        serve an existing X display
deskbox desktop                   start Xvfb, a window manager, VNC + viewer, and serve it
deskbox trace show run.zip        open an action trace in the browser
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ._ports import free_display, free_port
from .sandbox.stack import SANDBOX_DEVTOOLS_PORT, StackConfig

if TYPE_CHECKING:
    from .actions import ImageFormat

# The browser's first page: a real document with a title, so "a page is loaded" is checkable.
START_PAGE = (
    "data:text/html;charset=utf-8,<title>deskbox</title>"
    "<body style='font:20px sans-serif;margin:40px;color:%23333'><h1>deskbox</h1>"
    "<p>This desktop is ready for an agent.</p>"
)


def _serve(display: str, host: str, port: int) -> None:
    from .server import Settings, create_app
    from .server.app import tune_malloc
    from .server.run import run_server

    tune_malloc()
    settings = Settings(display=display, host=host, port=port)
    token, generated = settings.ensure_token()
    app = create_app(settings)
    print(f"deskbox: serving display {display} at http://{host}:{port}  (docs: /docs)", flush=True)
    if generated:
        # Printed once for the person who started the server; never put it in a URL.
        print(f"deskbox: token (DESKBOX_TOKEN was unset): {token}", flush=True)
    # Ctrl+C (SIGINT) is how a person stops it: uvicorn has shut down by the time it is
    # raised again here, so there is nothing to report.
    with contextlib.suppress(KeyboardInterrupt):
        run_server(app, host, port)


def cmd_serve(args: argparse.Namespace) -> int:
    _serve(args.display, args.host, args.port)
    return 0


GENERATED_TOKEN = "generated-token"
"""Where a generated token is kept in the runtime folder: a restarted sandbox (the same
container, or its supervisor started again) keeps its token, and so its clients and its
viewer's cookie; a new container starts with a new folder and a new token."""


def _token(runtime_dir: Path) -> tuple[str, bool]:
    token = os.environ.get("DESKBOX_TOKEN", "")
    if token:
        return token, False
    kept = runtime_dir / GENERATED_TOKEN
    try:
        previous = kept.read_text().strip()
    except OSError:
        previous = ""
    if previous:
        return previous, True
    token = secrets.token_urlsafe(24)
    runtime_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(token)
    return token, True


def _run_stack(config: StackConfig) -> int:
    from .sandbox.runner import run_sandbox

    token, generated = _token(config.runtime_dir)
    return asyncio.run(run_sandbox(config, token, generated))


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The container's main process: the whole supervised sandbox on a fixed display."""
    width, height = args.size
    config = StackConfig(
        display=args.display,
        width=width,
        height=height,
        host=args.host,
        port=args.port,
        runtime_dir=Path(args.runtime_dir),
        cdp_port=SANDBOX_DEVTOOLS_PORT,
        browser_sandbox=not args.no_browser_sandbox,
        start_url=args.start_url,
    )
    if args.warm_up:
        from .sandbox.runner import warm_up

        return asyncio.run(warm_up(config))
    return _run_stack(config)


def cmd_desktop(args: argparse.Namespace) -> int:
    """The same sandbox on this host, on a free display, for development."""
    width, height = args.size
    runtime = Path(args.runtime_dir) if args.runtime_dir else Path(tempfile.mkdtemp(prefix="deskbox-"))
    # Free ports for everything, so several host sandboxes can run side by side.
    vnc, vnc_view, websockify, cdp = (free_port() for _ in range(4))
    return _run_stack(
        StackConfig(
            vnc_port=vnc,
            vnc_view_port=vnc_view,
            websockify_port=websockify,
            cdp_port=cdp,
            display=free_display(),
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


# ---- sandboxes through the SDK --------------------------------------------------------------


def _progress(what: str) -> threading.Event:
    """Print how long ``what`` has been going, every few seconds, until the event is set."""
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(3):
            print(f"deskbox: {what}... {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    threading.Thread(target=tick, daemon=True).start()
    return done


def cmd_up(args: argparse.Namespace) -> int:
    from .client import Sandbox

    width, height = args.size
    done = _progress("starting a sandbox")
    try:
        sbx = Sandbox.create(backend=args.backend, resolution=(width, height), timeout=args.timeout)
    finally:
        done.set()
    print(f"sandbox  {sbx.sandbox_id}")
    print(f"api      {sbx.url}  (docs: {sbx.url}/docs)")
    print(f"token    {sbx.info.token}")
    print(f"viewer   {sbx.stream.get_url()}  (one-time link; `deskbox viewer {sbx.sandbox_id}` for another)")
    print(f"ends in  {args.timeout:.0f} s  (deskbox rm {sbx.sandbox_id} to end it now)")
    sbx.close()
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from .client import Sandbox

    for info in Sandbox.list(backend=args.backend):
        left = f"{info.deadline - time.time():.0f} s left" if info.deadline else ""
        print(f"{info.sandbox_id}  {info.url}  {left}  {info.metadata or ''}".rstrip())
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from .backends import get_backend

    backend = get_backend(args.backend)
    for sandbox_id in args.ids:
        asyncio.run(backend.kill(sandbox_id))
        print(f"removed {sandbox_id}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from .backends import get_backend

    print(asyncio.run(get_backend(args.backend).logs(args.id)), end="")
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from .client import Sandbox

    sbx = Sandbox.connect(args.id, backend=args.backend)
    fmt = args.format or Path(args.output).suffix.lstrip(".").replace("jpg", "jpeg") or "png"
    Path(args.output).write_bytes(sbx.screenshot(cast("ImageFormat", fmt)))
    sbx.close()
    print(f"wrote {args.output}")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    from .client import CommandResult, Sandbox

    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv:
        raise SystemExit("deskbox exec: give a command after the sandbox id")
    sbx = Sandbox.connect(args.id, backend=args.backend)
    command: str | list[str] = argv[0] if len(argv) == 1 else argv
    result = sbx.commands.run(
        command,
        timeout=args.timeout,
        check=False,
        on_stdout=lambda text: print(text, end="", flush=True),
        on_stderr=lambda text: print(text, end="", file=sys.stderr, flush=True),
    )
    sbx.close()
    assert isinstance(result, CommandResult)
    return result.exit_code


def cmd_viewer(args: argparse.Namespace) -> int:
    from .client import Sandbox

    sbx = Sandbox.connect(args.id, backend=args.backend)
    url = sbx.stream.get_url(view_only=args.view_only)
    sbx.close()
    print(url)
    if not args.no_browser:
        webbrowser.open(url)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from .adapters.mcp import run_http, run_stdio, sandbox_for

    async def serve() -> None:
        token = os.environ.get("DESKBOX_TOKEN") if args.token is None else args.token
        async with sandbox_for(args.url, token, args.id, args.backend) as sbx:
            if args.transport == "stdio":
                await run_stdio(sbx)
            else:
                await run_http(sbx, host=args.host, port=args.port, token=os.environ.get("DESKBOX_MCP_TOKEN"))

    asyncio.run(serve())
    return 0


def cmd_e2b_build_template(args: argparse.Namespace) -> int:
    """Build the deskbox template on E2B from this repository's images/."""
    import importlib.util

    from .errors import AuthenticationError, BackendError

    if not os.environ.get("E2B_API_KEY"):
        raise AuthenticationError("building the template needs E2B_API_KEY in the environment")
    definition = Path(args.repo) / "images" / "e2b" / "template.py"
    if not definition.is_file():
        raise BackendError(f"no {definition}: run this from a deskbox checkout, or pass --repo")
    spec = importlib.util.spec_from_file_location("deskbox_e2b_template", definition)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(f"building E2B template {args.name!r} from {Path(args.repo).resolve()}...", file=sys.stderr)
    started = time.monotonic()
    info = asyncio.run(
        module.build(
            args.name, repo=Path(args.repo).resolve(), on_log=lambda line: print(line, file=sys.stderr)
        )
    )
    print(f"built {args.name!r} in {time.monotonic() - started:.0f} s: {info}")
    return 0


def cmd_trace_show(args: argparse.Namespace) -> int:
    from .trace.show import TraceServer

    server = TraceServer(args.trace, port=args.port)
    trace = server.trace
    state = "cut short (recovered)" if trace.recovered else "complete"
    print(f"deskbox: {args.trace}: {len(trace.steps)} steps, {len(trace.frames)} frames, {state}", flush=True)
    print(f"deskbox: trace viewer (one-time link; Ctrl+C ends it): {server.url}", flush=True)
    if not args.no_browser:
        threading.Timer(0.2, webbrowser.open, (server.url,)).start()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.close()
    return 0


def cmd_trace_export(args: argparse.Namespace) -> int:
    from .trace.export import export_html

    output = Path(args.output) if args.output else Path(args.trace).with_suffix(".html")
    written = export_html(args.trace, output)
    print(
        f"deskbox: wrote {written} ({written.stat().st_size / 1e6:.1f} MB); it opens offline, from the file"
    )
    return 0


def cmd_fly_push(args: argparse.Namespace) -> int:
    from .backends import fly_push
    from .errors import AuthenticationError, InvalidActionError

    app = args.app or os.environ.get("FLY_APP", "")
    if not app:
        raise InvalidActionError("name the Fly app: --app or FLY_APP")
    token = os.environ.get("FLY_API_TOKEN", "")
    if not token:
        raise AuthenticationError("set FLY_API_TOKEN (fly tokens create deploy -a APP)")
    started = time.monotonic()
    if args.flyctl:
        pushed = fly_push.push_with_flyctl(app, token, Path(args.repo).resolve(), tag=args.tag)
    else:
        pushed = fly_push.push_with_docker(app, token, source=args.image, tag=args.tag)
    print(f"pushed {pushed} in {time.monotonic() - started:.0f} s; FlyBackend(app={app!r}) starts from it")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .backends import BACKENDS

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
    sandbox.add_argument("--runtime-dir", default=os.environ.get("DESKBOX_RUNTIME_DIR", "/var/lib/deskbox"))
    sandbox.add_argument(
        "--no-browser-sandbox",
        action="store_true",
        help="run Chromium without its sandbox (containers without user namespaces)",
    )
    sandbox.add_argument(
        "--warm-up",
        action="store_true",
        help="start the desktop once and stop it (an image build's step: first starts are slow)",
    )
    sandbox.set_defaults(func=cmd_sandbox)

    desktop = commands.add_parser("desktop", help="run the sandbox on this host, on a free display")
    desktop.add_argument("--wm", default="auto", choices=["auto", "xfce", "openbox"])
    desktop.add_argument(
        "--runtime-dir", default=None, help="status, logs and deadline (default: a new temp dir)"
    )
    desktop.set_defaults(func=cmd_desktop)

    for stack_command in (sandbox, desktop):
        stack_command.add_argument(
            "--size",
            type=_size,
            default=os.environ.get("DESKBOX_RESOLUTION", "1280x800"),
            help="screen size, WIDTHxHEIGHT (env DESKBOX_RESOLUTION)",
        )
        stack_command.add_argument("--start-url", default=os.environ.get("DESKBOX_START_URL", START_PAGE))

    up = commands.add_parser("up", help="create a sandbox and print its URLs and token")
    up.add_argument(
        "--timeout", type=float, default=3600, help="seconds until the sandbox ends (default 3600)"
    )
    up.add_argument("--size", type=_size, default="1280x800")
    up.set_defaults(func=cmd_up)
    ls = commands.add_parser("ls", help="list sandboxes")
    ls.set_defaults(func=cmd_ls)
    rm = commands.add_parser("rm", help="end sandboxes")
    rm.add_argument("ids", nargs="+")
    rm.set_defaults(func=cmd_rm)
    logs = commands.add_parser("logs", help="a sandbox's log")
    logs.add_argument("id")
    logs.set_defaults(func=cmd_logs)
    shot = commands.add_parser("screenshot", help="save a sandbox's screen to a file")
    shot.add_argument("id")
    shot.add_argument("-o", "--output", default="screenshot.png")
    shot.add_argument("--format", choices=["png", "jpeg", "webp"])
    shot.set_defaults(func=cmd_screenshot)
    exec_ = commands.add_parser("exec", help="run a command in a sandbox; exits with its code")
    exec_.add_argument("id")
    exec_.add_argument("--timeout", type=float, default=600)
    exec_.add_argument("command", nargs=argparse.REMAINDER)
    exec_.set_defaults(func=cmd_exec)
    viewer = commands.add_parser("viewer", help="open a sandbox's viewer in a browser")
    viewer.add_argument("id")
    viewer.add_argument("--view-only", action="store_true")
    viewer.add_argument("--no-browser", action="store_true", help="only print the one-time URL")
    viewer.set_defaults(func=cmd_viewer)
    mcp = commands.add_parser(
        "mcp",
        help="serve a sandbox to MCP clients (stdio, or streamable HTTP with --transport http)",
        description="Serve a sandbox's actions, screenshots, shell and files over MCP. Give the "
        "sandbox by --url (and --token or DESKBOX_TOKEN) or by id; with neither, a new sandbox "
        "is started and ends with the server. Over HTTP the server needs its own bearer token: "
        "DESKBOX_MCP_TOKEN, or one is generated and printed.",
    )
    mcp.add_argument("id", nargs="?", help="a sandbox id from `deskbox ls`")
    mcp.add_argument("--url", default=os.environ.get("DESKBOX_URL"), help="a sandbox's URL (env DESKBOX_URL)")
    mcp.add_argument("--token", default=None, help="the sandbox's token (env DESKBOX_TOKEN)")
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    mcp.add_argument("--host", default="127.0.0.1")
    mcp.add_argument("--port", type=int, default=8765)
    mcp.set_defaults(func=cmd_mcp)
    e2b = commands.add_parser("e2b", help="E2B cloud: build the deskbox template")
    e2b_commands = e2b.add_subparsers(dest="e2b_command", required=True)
    build_template = e2b_commands.add_parser(
        "build-template", help="build and deploy the deskbox template with your E2B_API_KEY"
    )
    build_template.add_argument("--name", default="deskbox-desktop", help="the template's name")
    build_template.add_argument("--repo", default=".", help="the deskbox checkout to build from")
    build_template.set_defaults(func=cmd_e2b_build_template)
    trace = commands.add_parser("trace", help="look at an action trace (sandbox.trace.stop's file)")
    trace_commands = trace.add_subparsers(dest="trace_command", required=True)
    show = trace_commands.add_parser("show", help="open a trace in the browser, served from 127.0.0.1")
    show.add_argument("trace", help="the trace file (a .zip from sandbox.trace.stop)")
    show.add_argument("--port", type=int, default=0, help="the port to serve on (default: a free one)")
    show.add_argument("--no-browser", action="store_true", help="only print the one-time URL")
    show.set_defaults(func=cmd_trace_show)
    export = trace_commands.add_parser("export", help="write a trace as one HTML file that opens offline")
    export.add_argument("trace", help="the trace file (a .zip from sandbox.trace.stop)")
    export.add_argument("-o", "--output", help="the HTML file (default: the trace's name, .html)")
    export.set_defaults(func=cmd_trace_export)
    fly = commands.add_parser("fly", help="Fly Machines: put the deskbox image in an app's registry")
    fly_commands = fly.add_subparsers(dest="fly_command", required=True)
    push = fly_commands.add_parser(
        "push", help="push the image to registry.fly.io/APP:deskbox with FLY_API_TOKEN (progress printed)"
    )
    push.add_argument("--app", default=None, help="the Fly app (env FLY_APP)")
    push.add_argument("--image", default="deskbox/desktop:latest", help="the local image to push")
    push.add_argument("--tag", default="deskbox", help="the tag in the app's registry")
    push.add_argument("--flyctl", action="store_true", help="build and push with flyctl instead of Docker")
    push.add_argument("--repo", default=".", help="the deskbox checkout flyctl builds from")
    push.set_defaults(func=cmd_fly_push)
    for sdk_command in (up, ls, rm, logs, shot, exec_, viewer, mcp):
        sdk_command.add_argument(
            "--backend",
            default=os.environ.get("DESKBOX_BACKEND", "docker"),
            choices=sorted(BACKENDS),
        )

    for sub in (serve, sandbox, desktop):
        sub.add_argument("--host", default=os.environ.get("DESKBOX_HOST", "127.0.0.1"))
        sub.add_argument("--port", type=int, default=int(os.environ.get("DESKBOX_PORT", "8000")))
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import DeskboxError

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except DeskboxError as exc:
        print(f"deskbox: error: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
