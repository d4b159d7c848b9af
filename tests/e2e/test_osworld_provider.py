"""OSWorld's own DesktopEnv (desktop_env from PyPI, unmodified) running its tasks on a
deskbox sandbox through deskbox's provider: reset with setup steps, a pyautogui step, the
observation with the accessibility tree, a revert, and the end of the sandbox."""

from __future__ import annotations

import importlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from deskbox import errors
from deskbox.integrations import osworld_provider
from tests.helpers import osworld_stand_ins

pytestmark = pytest.mark.e2e
pytest.importorskip("gymnasium")
pytest.importorskip("desktop_env")

MARKER = "/home/user/osworld-marker.txt"


@pytest.fixture
def desktop_env_class(docker_ready: None) -> Iterator[Any]:
    with osworld_stand_ins():
        from desktop_env.desktop_env import DesktopEnv

        osworld_provider.install(timeout=600)
        yield DesktopEnv


def test_desktop_env_runs_a_task_on_a_deskbox_sandbox(desktop_env_class: Any, tmp_path: Path) -> None:
    env = desktop_env_class(
        provider_name="docker",
        action_space="pyautogui",
        screen_size=(1280, 800),
        require_a11y_tree=True,
        cache_dir=str(tmp_path),
    )
    sandbox = env.provider.sandbox(env.path_to_vm)
    try:
        task = {
            "id": "deskbox-smoke",
            "instruction": "nothing to do",
            "config": [
                {"type": "execute", "parameters": {"command": ["sh", "-c", f"echo marked > {MARKER}"]}}
            ],
            "evaluator": {"func": "infeasible"},
        }
        observation = env.reset(task_config=task)
        assert Image.open(io.BytesIO(observation["screenshot"])).size == (1280, 800)
        assert '<application name="Google Chrome"' in observation["accessibility_tree"]
        assert observation["instruction"] == "nothing to do"
        assert sandbox.files.read(MARKER) == "marked\n"

        env.step("pyautogui.moveTo(321, 234)", pause=0)
        assert sandbox.get_cursor_position() == (321, 234)

        # The task above changed the desktop, so the next reset reverts it: a fresh start.
        env.reset(
            task_config={
                "id": "second",
                "instruction": "again",
                "config": [],
                "evaluator": {"func": "infeasible"},
            }
        )
        assert not sandbox.files.exists(MARKER)
        assert env.controller.get_vm_screen_size() == {"width": 1280, "height": 800}
    finally:
        env.close()
    with pytest.raises(errors.DeskboxError):
        sandbox.get_cursor_position()


def test_a_chrome_task_runs_as_on_osworlds_vm(
    desktop_env_class: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A Chrome-domain task's setup as OSWorld writes it (google-chrome with a debugging
    port, socat on 9222, tabs opened over CDP, the window brought forward by name), then
    OSWorld's own Chrome getters reading the result: the open tabs over CDP, the profile's
    Preferences from Chrome's folder, and the address bar from the accessibility tree."""
    env = desktop_env_class(
        provider_name="docker", action_space="pyautogui", screen_size=(1280, 800), cache_dir=str(tmp_path)
    )
    sandbox = env.provider.sandbox(env.path_to_vm)
    pages = {name: f"/home/user/{name}.html" for name in ("first", "second")}
    try:
        for name, path in pages.items():
            sandbox.files.write(path, f"<title>{name} page</title><p>{name}</p>")
        task = {
            "id": "deskbox-chrome",
            "instruction": "look at the tabs",
            "config": [
                {
                    "type": "launch",
                    "parameters": {"command": ["google-chrome", "--remote-debugging-port=1337"]},
                },
                {
                    "type": "launch",
                    "parameters": {"command": ["socat", "tcp-listen:9222,fork", "tcp:localhost:1337"]},
                },
                {
                    "type": "chrome_open_tabs",
                    "parameters": {"urls_to_open": [f"file://{p}" for p in pages.values()]},
                },
                {"type": "activate_window", "parameters": {"window_name": "Google Chrome"}},
            ],
            "evaluator": {"func": "infeasible"},
        }
        with caplog.at_level(logging.INFO):
            env.reset(task_config=task)
        failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert not failures, failures
        with osworld_stand_ins():
            chrome: Any = importlib.import_module("desktop_env.evaluators.getters.chrome")
            tabs = chrome.get_open_tabs_info(env, {})
            # The start page was closed, as on OSWorld's VM; the task's pages are open.
            assert sorted(tab["title"] for tab in tabs) == ["first page", "second page"], tabs
            assert chrome.get_profile_name(env, {})  # Preferences, read from ~/.config/google-chrome
            active = chrome.get_active_url_from_accessTree(env, {"goto_prefix": ""})
            assert active is not None and active.endswith("second.html"), active

        # Inside the sandbox, 9222 reaches the browser through the task's socat, as there.
        inside = env.controller.execute_python_command(
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9222/json/version').read().decode())"
        )
        assert '"Browser"' in inside["output"], inside
        active_window = next(w for w in sandbox.list_windows() if w.active)
        assert "Chromium" in active_window.title, active_window
        assert [w for w in sandbox.list_windows() if "Chromium" in w.title] == [active_window]
    finally:
        env.close()


def test_the_provider_refuses_what_it_cannot_be() -> None:
    with pytest.raises(errors.CapabilityError, match="Linux, not Windows"):
        osworld_provider.DeskboxVMManager().get_vm_path(os_type="Windows")
    with pytest.raises(errors.SandboxNotFoundError):
        osworld_provider.DeskboxProvider().get_ip_address("deskbox-sandbox-unknown@10x10")


def test_install_leaves_the_other_providers_as_they_were() -> None:
    import desktop_env.providers as providers

    osworld_provider.install()
    osworld_provider.install(timeout=60)  # again: still one wrapper around OSWorld's factory
    manager, provider = providers.create_vm_manager_and_provider(" Docker ", "local")
    assert isinstance(manager, osworld_provider.DeskboxVMManager)
    assert isinstance(provider, osworld_provider.DeskboxProvider)
    with pytest.raises(NotImplementedError, match="nosuch not implemented"):
        providers.create_vm_manager_and_provider("nosuch", "local")
