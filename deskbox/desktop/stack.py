"""The processes of one sandbox, as supervisor components.

    xvfb ─┬─ session (XFCE, else Openbox)
          ├─ vnc (x11vnc, full control, 127.0.0.1:5900)
          ├─ vnc-view (x11vnc -viewonly, 127.0.0.1:5901)
          └─ browser (Chromium, DevTools on 127.0.0.1:9222)
    websockify (127.0.0.1:6080; token "full" -> 5900, "view" -> 5901)
    server (the control server: API, viewer gateway, DevTools gateway)

Every port but the server's binds to loopback; the server is the only way in, and it
checks the token. The same stack runs in the container (`deskbox sandbox`) and on a
Debian host (`deskbox desktop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from .session import window_manager_ready, x_ready
from .supervisor import Component

CHROMIUM_FLAGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,MediaRouter",
    "--password-store=basic",
    "--disable-dev-shm-usage",
)


@dataclass(frozen=True)
class StackConfig:
    display: str = ":0"
    width: int = 1280
    height: int = 800
    host: str = "127.0.0.1"
    port: int = 8000
    vnc_port: int = 5900
    vnc_view_port: int = 5901
    websockify_port: int = 6080
    cdp_port: int = 9222
    runtime_dir: Path = Path("/tmp/deskbox")
    browser_profile: Path = Path.home() / ".config" / "deskbox-chromium"
    start_url: str = "about:blank"
    window_manager: str = "auto"
    browser: bool = True
    browser_sandbox: bool = True
    """False inside containers, where Chromium's sandbox cannot get its namespaces."""

    @property
    def status_file(self) -> Path:
        return self.runtime_dir / "status.json"

    @property
    def vnc_targets_file(self) -> Path:
        return self.runtime_dir / "vnc-targets"


async def port_ready(port: int, host: str = "127.0.0.1") -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_ready(url: str) -> bool:
    async with httpx.AsyncClient(timeout=1) as client:
        try:
            return (await client.get(url)).status_code == 200
        except httpx.HTTPError:
            return False


async def browser_page_loaded(cdp_port: int) -> bool:
    """True once Chromium has a page target whose document finished loading."""
    async with httpx.AsyncClient(timeout=1) as client:
        try:
            targets = (await client.get(f"http://127.0.0.1:{cdp_port}/json/list")).json()
        except (httpx.HTTPError, ValueError):
            return False
    return any(t.get("type") == "page" and t.get("title") for t in targets)


def _session_argv(choice: str) -> list[str]:
    if choice in ("auto", "xfce") and shutil.which("xfce4-session"):
        runner = shutil.which("dbus-run-session")
        return [runner, "--", "xfce4-session"] if runner else ["xfce4-session"]
    if choice in ("auto", "openbox") and shutil.which("openbox"):
        return ["openbox"]
    raise RuntimeError(f"no window manager for {choice!r}: install xfce4-session or openbox")


def build_stack(config: StackConfig, token: str) -> list[Component]:
    """The components of one sandbox; ``token`` goes to the server only, via its env."""
    display_env = {"DISPLAY": config.display}
    config.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config.vnc_targets_file.write_text(
        f"full: 127.0.0.1:{config.vnc_port}\nview: 127.0.0.1:{config.vnc_view_port}\n"
    )
    x11vnc = [
        "x11vnc",
        "-display",
        config.display,
        "-localhost",
        "-forever",
        "-shared",
        "-nopw",
        "-quiet",
        "-nossl",
        "-noipv6",
        "-xkb",
    ]
    components = [
        Component(
            "xvfb",
            [
                "Xvfb",
                config.display,
                "-screen",
                "0",
                f"{config.width}x{config.height}x24",
                "-nolisten",
                "tcp",
                "-noreset",
                "+extension",
                "RANDR",
                "-dpi",
                "96",
                # No screen saver and no DPMS: an agent's screen must never go blank.
                "-s",
                "0",
                "-dpms",
            ],
            ready=lambda: asyncio.to_thread(x_ready, config.display),
        ),
        Component(
            "session",
            _session_argv(config.window_manager),
            needs=["xvfb"],
            env=display_env,
            ready=lambda: asyncio.to_thread(window_manager_ready, config.display),
        ),
        Component(
            "vnc",
            [*x11vnc, "-rfbport", str(config.vnc_port)],
            needs=["xvfb"],
            ready=lambda: port_ready(config.vnc_port),
        ),
        Component(
            "vnc-view",
            [*x11vnc, "-viewonly", "-rfbport", str(config.vnc_view_port)],
            needs=["xvfb"],
            ready=lambda: port_ready(config.vnc_view_port),
        ),
        Component(
            "websockify",
            [
                sys.executable,
                "-m",
                "websockify",
                f"127.0.0.1:{config.websockify_port}",
                "--token-plugin",
                "TokenFile",
                "--token-source",
                str(config.vnc_targets_file),
            ],
            ready=lambda: port_ready(config.websockify_port),
        ),
        Component(
            "server",
            [
                sys.executable,
                "-m",
                "deskbox",
                "serve",
                "--display",
                config.display,
                "--host",
                config.host,
                "--port",
                str(config.port),
            ],
            env={
                "DESKBOX_TOKEN": token,
                "DESKBOX_STATUS_FILE": str(config.status_file),
                "DESKBOX_VIEWER_UPSTREAM": f"ws://127.0.0.1:{config.websockify_port}/websockify",
                "DESKBOX_CDP_URL": f"http://127.0.0.1:{config.cdp_port}" if config.browser else "",
            },
            ready=lambda: http_ready(f"http://127.0.0.1:{config.port}/health/live"),
        ),
    ]
    if config.browser:
        flags = [
            *CHROMIUM_FLAGS,
            f"--remote-debugging-port={config.cdp_port}",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={config.browser_profile}",
            "--window-position=0,0",
            f"--window-size={config.width},{config.height}",
            "--start-maximized",
        ]
        if not config.browser_sandbox:
            flags.append("--no-sandbox")
        components.append(
            Component(
                "browser",
                [_chromium(), *flags, config.start_url],
                needs=["xvfb"],
                env=display_env,
                ready=lambda: browser_page_loaded(config.cdp_port),
            )
        )
    return components


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "chromium"
