"""The deskbox template for E2B: the images/desktop image, snapshotted with the sandbox up.

Built with E2B's template SDK from the same Dockerfile the docker backend uses, so both
run the same desktop. Its start command is our supervisor; E2B snapshots the sandbox once
the ready command (our /health answering 200) passes, so a new sandbox starts with its desktop already
running. The token is not known at build time: the server reads it from a file that the
e2b backend writes into each new sandbox (DESKBOX_TOKEN_FILE), and refuses every request
until then.

    deskbox e2b build-template            # needs E2B_API_KEY; run from the repository
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2b import AsyncTemplate

from deskbox.backends.e2b import DEFAULT_TEMPLATE, TOKEN_FILE

REPO = Path(__file__).resolve().parents[2]
START_COMMAND = f"DESKBOX_TOKEN_FILE={TOKEN_FILE} DESKBOX_HOST=0.0.0.0 deskbox sandbox --no-browser-sandbox"
"""The E2B microVM is the isolation boundary, as the container is for Docker; Chromium's
own sandbox needs user namespaces that a VM's unprivileged user may not have. E2B's proxy
reaches the port from outside the VM's loopback, so the server listens on every address
(the image sets this too; the command does not rely on E2B keeping the image's ENV)."""
READY_COMMAND = (
    'python3 -c "import sys, urllib.request; '
    "sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)\" 2>/dev/null"
)
"""Ready once /health answers 200 (it answers 503 until every part is ready). The image
has Python but no curl for E2B's wait_for_url helper."""
CPU_COUNT = 2
MEMORY_MB = 2048


def template(repo: Path = REPO) -> Any:
    """The template definition (an e2b TemplateFinal)."""
    return (
        AsyncTemplate(file_context_path=str(repo))
        .from_dockerfile(str(repo / "images" / "desktop" / "Dockerfile"))
        .set_start_cmd(START_COMMAND, READY_COMMAND)
    )


async def build(
    name: str = DEFAULT_TEMPLATE,
    *,
    api_key: str | None = None,
    repo: Path = REPO,
    on_log: Callable[[str], None] = print,
) -> Any:
    """Build and deploy the template to E2B; returns E2B's BuildInfo."""
    return await AsyncTemplate.build(
        template(repo),
        name,
        cpu_count=CPU_COUNT,
        memory_mb=MEMORY_MB,
        on_build_logs=lambda entry: on_log(str(entry)),
        **({"api_key": api_key} if api_key else {}),
    )
