"""deskbox sandboxes as OSWorld's VMs: a ``desktop_env`` provider.

    from deskbox.integrations import osworld_provider
    osworld_provider.install()                       # once, before DesktopEnv is made
    env = DesktopEnv(provider_name="docker", action_space="pyautogui", require_a11y_tree=True)

``install()`` makes ``desktop_env``'s provider factory answer ``"docker"`` with a deskbox
sandbox on local Docker (no VM image, no KVM) instead of OSWorld's QEMU-in-Docker VM.
DesktopEnv accepts only the provider names it knows, so deskbox takes that one. Each
"VM path" is one sandbox: the provider starts it, gives DesktopEnv a guest address on
127.0.0.1 (a GuestForwarder that adds the token), resets it to its first state where
OSWorld reverts to a snapshot, snapshots it where OSWorld saves a state, and kills it
where OSWorld stops the VM.

Chromium's debugging port is forwarded too (a DevToolsForwarder, token added), so
SetupController's ``chrome_*`` steps and the evaluators' Chrome getters reach the
sandbox's browser. VNC and VLC are not: DesktopEnv is given a closed port for each, so a
step that needs them fails rather than reaches something else.
"""

from __future__ import annotations

import importlib
import socket
import sys
import threading
import uuid
from typing import Any

from .. import errors
from ..client import Sandbox
from .devtools import DevToolsForwarder
from .osworld import GuestForwarder

PROVIDER_NAME = "docker"
"""The name DesktopEnv is given: one of those it accepts."""
PATH_PREFIX = "deskbox-sandbox-"


class DeskboxVMManager:
    """OSWorld's VM registry, for sandboxes: each DesktopEnv gets a new one."""

    checked_and_cleaned = True

    def initialize_registry(self, **kwargs: Any) -> None:
        return None

    def add_vm(self, vm_path: str, *args: Any, **kwargs: Any) -> None:
        return None

    def delete_vm(self, vm_path: str, *args: Any, **kwargs: Any) -> None:
        return None

    def occupy_vm(self, vm_path: str, *args: Any, **kwargs: Any) -> None:
        return None

    def list_free_vms(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def check_and_clean(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_vm_path(
        self, os_type: str = "Ubuntu", region: str | None = None, screen_size: Any = None, **kwargs: Any
    ) -> str:
        if os_type.lower() not in ("ubuntu", "linux"):
            raise errors.CapabilityError(f"deskbox sandboxes run Linux, not {os_type}", capability="os_type")
        width, height = screen_size or (1920, 1080)
        return f"{PATH_PREFIX}{uuid.uuid4().hex[:12]}@{int(width)}x{int(height)}"


class DeskboxProvider:
    """Starts, resets, snapshots and stops the sandbox behind each VM path."""

    def __init__(self, region: str | None = None, backend: str = "docker", **create_options: Any) -> None:
        self.region = region
        self._backend = backend
        self._options = create_options
        self._running: dict[str, _Running] = {}
        self._closed_port = _closed_port()
        self._lock = threading.Lock()

    def start_emulator(self, path_to_vm: str, headless: bool = True, *args: Any) -> None:
        with self._lock:
            if path_to_vm in self._running:
                return
            resolution = _resolution(path_to_vm)
            sandbox = Sandbox.create(backend=self._backend, resolution=resolution, **self._options)
            try:
                running = _Running.start(sandbox)
            except BaseException:
                sandbox.kill()
                raise
            self._running[path_to_vm] = running

    def get_ip_address(self, path_to_vm: str) -> str:
        """``ip:server:chromium:vnc:vlc``, as DesktopEnv reads it."""
        running = self._sandbox(path_to_vm)
        closed = self._closed_port
        return f"{running.guest.host}:{running.guest.port}:{running.devtools.port}:{closed}:{closed}"

    def save_state(self, path_to_vm: str, snapshot_name: str | None = None) -> None:
        self._sandbox(path_to_vm).sandbox.snapshot(snapshot_name)

    def revert_to_snapshot(self, path_to_vm: str, snapshot_name: str | None = None) -> str:
        """Back to the sandbox's first state (files, processes, screen), in place."""
        running = self._sandbox(path_to_vm)
        running.sandbox.reset()
        running.retarget()  # a reset sandbox has a new URL
        return path_to_vm

    def stop_emulator(self, path_to_vm: str, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            running = self._running.pop(path_to_vm, None)
        if running is not None:
            running.close()
            running.sandbox.kill()

    def sandbox(self, path_to_vm: str) -> Sandbox:
        """The deskbox sandbox behind a VM path, to drive it with deskbox's own SDK too."""
        return self._sandbox(path_to_vm).sandbox

    def _sandbox(self, path_to_vm: str) -> _Running:
        try:
            return self._running[path_to_vm]
        except KeyError:
            raise errors.SandboxNotFoundError(f"no sandbox runs for {path_to_vm!r}; start it first") from None


class _Running:
    """A sandbox and the two local addresses OSWorld's client is given for it."""

    def __init__(self, sandbox: Sandbox, guest: GuestForwarder, devtools: DevToolsForwarder) -> None:
        self.sandbox, self.guest, self.devtools = sandbox, guest, devtools

    @classmethod
    def start(cls, sandbox: Sandbox) -> _Running:
        guest = GuestForwarder.for_sandbox(sandbox)
        try:
            return cls(sandbox, guest, DevToolsForwarder.for_sandbox(sandbox))
        except BaseException:
            guest.close()
            raise

    def retarget(self) -> None:
        info = self.sandbox.info
        for forwarder in (self.guest, self.devtools):
            forwarder.retarget(info.url, info.token, info.headers)

    def close(self) -> None:
        self.guest.close()
        self.devtools.close()


def install(backend: str = "docker", **create_options: Any) -> None:
    """Make desktop_env's ``provider_name="docker"`` start deskbox sandboxes.

    ``create_options`` go to ``Sandbox.create`` (timeout, image, ...). Calling it again
    replaces the options; the other providers are left as they are.
    """
    try:
        providers: Any = importlib.import_module("desktop_env.providers")
    except ImportError as exc:
        raise errors.CapabilityError(
            "desktop_env is not installed: pip install desktop-env", capability="osworld"
        ) from exc
    original = getattr(providers.create_vm_manager_and_provider, "__wrapped_by_deskbox__", None)
    original = original or providers.create_vm_manager_and_provider

    def create_vm_manager_and_provider(provider_name: str, region: str, use_proxy: bool = False) -> Any:
        if provider_name.lower().strip() == PROVIDER_NAME:
            return DeskboxVMManager(), DeskboxProvider(region, backend, **create_options)
        return original(provider_name, region, use_proxy)

    create_vm_manager_and_provider.__wrapped_by_deskbox__ = original  # type: ignore[attr-defined]
    providers.create_vm_manager_and_provider = create_vm_manager_and_provider
    # DesktopEnv's module took its own reference when it was imported.
    env_module = sys.modules.get("desktop_env.desktop_env")
    if env_module is not None:
        env_module.create_vm_manager_and_provider = create_vm_manager_and_provider  # type: ignore[attr-defined]


def _resolution(path_to_vm: str) -> tuple[int, int]:
    try:
        width, height = path_to_vm.rsplit("@", 1)[1].split("x")
        return int(width), int(height)
    except (IndexError, ValueError):
        raise errors.InvalidActionError.at(
            ("path_to_vm",), f"{path_to_vm!r} is not a path the deskbox VM manager gave"
        ) from None


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
