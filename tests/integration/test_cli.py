"""The `deskbox` sandbox commands, run as a user would, against the local backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.integration


def deskbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deskbox", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DESKBOX_BACKEND": "local"},
    )


def test_up_exec_screenshot_viewer_logs_rm(tmp_path: Path) -> None:
    up = deskbox("up", "--timeout", "300")
    assert up.returncode == 0, up.stderr
    fields = dict(line.split(None, 1) for line in up.stdout.splitlines() if line.strip())
    sandbox_id = fields["sandbox"]
    try:
        assert fields["api"].startswith("http://127.0.0.1:")
        assert "/viewer?ticket=" in fields["viewer"] and fields["token"] not in fields["viewer"]
        assert sandbox_id in deskbox("ls").stdout

        run = deskbox("exec", sandbox_id, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
        assert (run.returncode, run.stdout, run.stderr) == (3, "out\n", "err\n")

        shot = tmp_path / "screen.jpg"
        assert deskbox("screenshot", sandbox_id, "-o", str(shot)).returncode == 0
        assert Image.open(shot).format == "JPEG"

        viewer = deskbox("viewer", sandbox_id, "--no-browser", "--view-only")
        assert viewer.stdout.startswith(fields["api"].split()[0] + "/viewer?ticket=")
        assert "all components ready" in deskbox("logs", sandbox_id).stdout
    finally:
        removed = deskbox("rm", sandbox_id)
    assert removed.returncode == 0, removed.stderr
    assert sandbox_id not in deskbox("ls").stdout


def test_errors_are_one_line_not_tracebacks() -> None:
    missing = deskbox("rm", "local-00000000")
    assert missing.returncode != 0
    assert "no local sandbox" in missing.stderr and "Traceback" not in missing.stderr


def test_e2b_build_template_says_what_it_needs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "E2B_API_KEY"}
    no_key = subprocess.run(
        [sys.executable, "-m", "deskbox", "e2b", "build-template"], capture_output=True, text=True, env=env
    )
    assert (
        no_key.returncode == 1 and "needs E2B_API_KEY" in no_key.stderr and "Traceback" not in no_key.stderr
    )
    elsewhere = subprocess.run(
        [sys.executable, "-m", "deskbox", "e2b", "build-template", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**env, "E2B_API_KEY": "e2b_not_used"},
    )
    assert elsewhere.returncode == 1 and "run this from a deskbox checkout" in elsewhere.stderr


def test_the_e2b_template_is_the_desktop_image_with_our_supervisor() -> None:
    import importlib.util

    definition = Path(__file__).parents[2] / "images" / "e2b" / "template.py"
    spec = importlib.util.spec_from_file_location("deskbox_e2b_template", definition)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.template()._template  # E2B's parsed form of images/desktop/Dockerfile
    assert built._start_cmd == (
        "DESKBOX_TOKEN_FILE=/home/user/.deskbox/token DESKBOX_HOST=0.0.0.0 "
        "deskbox sandbox --no-browser-sandbox"
    )
    assert "http://127.0.0.1:8000/health" in built._ready_cmd
    assert built._base_image == "debian:trixie-slim"
