"""The processes of one sandbox, as supervisor components.

    xvfb ─┬─ wm (xfwm4, else Openbox) ─┬─ panel (xfce4-panel)
          │                            └─ desktop (xfdesktop)
          ├─ settings (xfsettingsd)        dbus: the session bus XFCE's parts share
          ├─ vnc (x11vnc, full control, 127.0.0.1:5900)
          ├─ vnc-view (x11vnc -viewonly, 127.0.0.1:5901)
          └─ browser (Chromium, DevTools on 127.0.0.1:1337 in the image)
    websockify (127.0.0.1:6080; token "full" -> 5900, "view" -> 5901)
    server (the control server: API, viewer gateway, DevTools gateway)

XFCE's parts run as components of their own rather than under xfce4-session: each one
that dies comes back by itself, and the session manager's memory and its autostarted
helpers (file manager daemon) stay out of every sandbox. The accessibility bus is started
by the session bus the first time an application or the server asks for it.

Every port but the server's binds to loopback; the server is the only way in, and it
checks the token. The same stack runs in the container (`deskbox sandbox`) and on a
Debian host (`deskbox desktop`).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .probes import browser_page_loaded, http_ok, port_open, window_manager_running, x_server_accepts
from .supervisor import Component

CHROMIUM_FLAGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--password-store=basic",
    "--disable-dev-shm-usage",
    # The WebUI omnibox popups are preloaded into a renderer of their own, and a spare
    # renderer waits for the next tab; neither is worth its memory in a sandbox.
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,OmniboxAimPopup,"
    "SpareRendererForSitePerProcess,Translate,MediaRouter,OptimizationHints",
)


SANDBOX_DEVTOOLS_PORT = 1337
"""Chromium's DevTools port in the image: where OSWorld's VMs keep Chrome's, so a task's
``socat tcp-listen:9222,fork tcp:localhost:1337`` reaches the desktop's browser (and 9222
is left to it)."""


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
    runtime_dir: Path = Path("/var/lib/deskbox")
    browser_profile: Path = Path.home() / ".config" / "deskbox-chromium"
    start_url: str = "about:blank"
    window_manager: str = "auto"
    """"auto" (XFCE, else Openbox), "xfce" or "openbox"."""
    browser: bool = True
    browser_sandbox: bool = True
    """False inside containers, where Chromium's sandbox cannot get its namespaces."""

    @property
    def status_file(self) -> Path:
        return self.runtime_dir / "status.json"

    @property
    def vnc_targets_file(self) -> Path:
        return self.runtime_dir / "vnc-targets"

    @property
    def deadline_file(self) -> Path:
        """Unix time at which the sandbox stops itself; absent or empty for never."""
        return self.runtime_dir / "deadline"

    @property
    def bus_socket(self) -> Path:
        return self.runtime_dir / "bus"


def _desktop_components(config: StackConfig, env: dict[str, str]) -> list[Component]:
    """The window manager, and with XFCE its panel, desktop and settings daemon."""
    choice = config.window_manager
    if choice in ("auto", "xfce") and shutil.which("xfwm4"):
        bus_env = {**env, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={config.bus_socket}"}
        wm_ready = lambda: window_manager_running(config.display)  # noqa: E731
        return [
            Component(
                "wm", ["xfwm4", "--compositor=off"], needs=["xvfb", "dbus"], env=bus_env, ready=wm_ready
            ),
            Component("settings", ["xfsettingsd", "--disable-wm-check"], needs=["xvfb", "dbus"], env=bus_env),
            Component("panel", ["xfce4-panel"], needs=["wm"], env=bus_env),
            Component("desktop", ["xfdesktop"], needs=["wm"], env=bus_env),
        ]
    if choice in ("auto", "openbox") and shutil.which("openbox"):
        return [
            Component(
                "wm",
                ["openbox"],
                needs=["xvfb"],
                env=env,
                ready=lambda: window_manager_running(config.display),
            )
        ]
    raise RuntimeError(f"no window manager for {choice!r}: install xfwm4 or openbox")


async def _socket_exists(path: Path) -> bool:
    return path.exists()


def _session_bus(config: StackConfig) -> list[Component]:
    """One session bus for every desktop program, as a login session would have: XFCE's
    parts share it, and it hands out the accessibility bus."""
    if not shutil.which("dbus-daemon"):
        return []
    argv = ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address=unix:path={config.bus_socket}"]
    # The accessibility bus's launcher, which this bus starts, puts its socket under
    # XDG_RUNTIME_DIR: one per sandbox, also for sandboxes side by side on one host.
    env = {"XDG_RUNTIME_DIR": str(config.runtime_dir)}
    return [Component("dbus", argv, env=env, ready=lambda: _socket_exists(config.bus_socket))]


def build_stack(config: StackConfig, token: str) -> list[Component]:
    """The components of one sandbox; ``token`` goes to the server only, via its env."""
    display_env = {"DISPLAY": config.display}
    if shutil.which("dbus-daemon"):
        display_env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={config.bus_socket}"
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
    xvfb = [
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
    ]
    components = [
        Component("xvfb", xvfb, ready=lambda: x_server_accepts(config.display), takes_down_dependents=True),
        *_session_bus(config),
        *_desktop_components(config, display_env),
        Component(
            "vnc",
            [*x11vnc, "-rfbport", str(config.vnc_port)],
            needs=["xvfb"],
            ready=lambda: port_open(config.vnc_port),
        ),
        Component(
            "vnc-view",
            [*x11vnc, "-viewonly", "-rfbport", str(config.vnc_view_port)],
            needs=["xvfb"],
            ready=lambda: port_open(config.vnc_view_port),
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
            ready=lambda: port_open(config.websockify_port),
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
                **(
                    {"DBUS_SESSION_BUS_ADDRESS": display_env["DBUS_SESSION_BUS_ADDRESS"]}
                    if "DBUS_SESSION_BUS_ADDRESS" in display_env
                    else {}
                ),
                "DESKBOX_TOKEN": token,
                "DESKBOX_STATUS_FILE": str(config.status_file),
                "DESKBOX_VIEWER_UPSTREAM": f"ws://127.0.0.1:{config.websockify_port}/websockify",
                "DESKBOX_CDP_URL": f"http://127.0.0.1:{config.cdp_port}" if config.browser else "",
            },
            ready=lambda: http_ok(config.port, "/health/live"),
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
            # --test-type keeps Chromium from putting a warning bar about --no-sandbox
            # over every page (the image's policy does the same for containers).
            flags += ["--no-sandbox", "--test-type"]
        components.append(
            Component(
                "browser",
                [_chromium(), *flags, *_start_urls(config)],
                # After the window manager, so a manager already there places and
                # maximises the window. Started beside Chromium's first window, xfwm4 took
                # 0.38-0.58 s to be ready, against 0.19-0.22 s on an empty display.
                needs=["xvfb", "wm"],
                # Chromium publishes its accessibility tree (AT-SPI) only when told that
                # an assistive technology is there; an agent is one.
                env={**display_env, "ACCESSIBILITY_ENABLED": "1"},
                ready=lambda: browser_page_loaded(config.cdp_port),
            )
        )
    return components


RESTORE_TABS = "deskbox-restore-tabs"
"""In the browser profile: the tabs to open at the next start, one URL per line. A
snapshot writes it, so a sandbox started from the snapshot opens the tabs its source had
(Chromium's own session files are written lazily, and a snapshot is taken mid-run)."""


def _start_urls(config: StackConfig) -> list[str]:
    saved = config.browser_profile / RESTORE_TABS
    try:
        urls = [line for line in saved.read_text().splitlines() if line.strip()]
    except OSError:
        return [config.start_url]
    saved.unlink(missing_ok=True)  # once: a later restart opens the start page
    return urls or [config.start_url]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "chromium"
