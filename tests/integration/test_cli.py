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
