"""OSWorld's own DesktopEnv (desktop_env from PyPI, unmodified) running its tasks on a
deskbox sandbox through deskbox's provider: reset with setup steps, a pyautogui step, the
observation with the accessibility tree, a revert, and the end of the sandbox."""

from __future__ import annotations

import io
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
        assert '<application name="Chromium"' in observation["accessibility_tree"]
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
