"""The agent examples: the offline replay finishes its task; the live ones ask for a key."""

from __future__ import annotations

import pytest

from tests.helpers import run_example


@pytest.mark.integration
def test_offline_replay_fills_and_submits_the_form() -> None:
    result = run_example("offline_replay.py", "--backend", "local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every submission reached the form server" in result.stdout
    # What the server received is printed; every run is there with its Unicode.
    assert '"name": "Zoë Ørsted-Łukasiewicz 山田"' in result.stdout
    assert '"message": "Ένα μήνυμα από το toolset ✓"' in result.stdout
    assert '"plan": "enterprise"' in result.stdout


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("claude_computer_use.py", "ANTHROPIC_API_KEY"),
        ("openai_computer_use.py", "OPENAI_API_KEY"),
        ("gemini_computer_use.py", "GEMINI_API_KEY"),
    ],
)
def test_live_examples_say_which_key_is_missing(name: str, key: str) -> None:
    result = run_example(name, timeout=60)
    assert result.returncode == 2
    assert f"needs {key}" in result.stderr and "offline_replay.py" in result.stderr
