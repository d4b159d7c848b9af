"""A real sandbox from `docker compose up`, for the whole e2e session.

The fixture installs and starts Docker with ../shared/ci/ensure-docker when needed,
builds the image (progress printed), brings the sandbox up with a unique project name,
a test token and a free port, and takes it down at the end, checking that nothing is
left behind. Set DESKBOX_SKIP_DOCKER=1 to skip these tests on a machine without root.

The tests touch only what they made: every docker-backend sandbox of this run carries
``RUN_LABELS`` (through ``docker_backend()``), and only those are listed, swept and
removed. ``foreign_sandboxes`` stands for a user's own sandboxes on the same machine:
started before the docker tests and checked, at the end of the session, to be alive
and untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from deskbox._ports import free_port
from deskbox.backends.docker import LABEL, DockerBackend

REPO = Path(__file__).resolve().parents[2]
RUN_ID = secrets.token_hex(4)
RUN_LABELS = {"deskbox.test-run": RUN_ID}


def docker_backend(**options: object) -> DockerBackend:
    """A docker backend scoped to this test run."""
    return DockerBackend(labels=RUN_LABELS, **options)  # type: ignore[arg-type]


ENSURE_DOCKER = Path(os.environ.get("DESKBOX_ENSURE_DOCKER", REPO.parent / "shared" / "ci" / "ensure-docker"))


@dataclass(frozen=True)
class Sandbox:
    url: str
    token: str
    project: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return compose(self.project, self.env, *args, check=check)

    @property
    def env(self) -> dict[str, str]:
        port = self.url.rsplit(":", 1)[1]
        return {**os.environ, "DESKBOX_TOKEN": self.token, "DESKBOX_PORT": port}

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", "sandbox", *argv, check=check)

    def container_id(self) -> str:
        return self.compose("ps", "-q", "sandbox").stdout.strip()


def compose(
    project: str, env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-p", project, *args],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        check=check,
    )


def _run_visible(argv: list[str], what: str) -> None:
    """Run a long step with its output streaming to the terminal (pytest -s shows it)."""
    print(f"\n[e2e] {what}: {' '.join(argv)}", file=sys.stderr, flush=True)
    result = subprocess.run(argv, cwd=REPO, stdout=sys.stderr, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        pytest.fail(f"{what} failed with exit code {result.returncode}")


def docker_labels(kind: str, project: str) -> list[str]:
    listed = subprocess.run(
        [
            "docker",
            kind,
            "ls",
            "-q",
            *(["-a"] if kind == "container" else []),
            "--filter",
            f"label=com.docker.compose.project={project}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


_image_built = False


def ensure_image() -> None:
    """Docker running (started with ensure-docker if need be) and the image built from
    this checkout, once per test session."""
    global _image_built
    if os.environ.get("DESKBOX_SKIP_DOCKER") == "1":
        pytest.skip("DESKBOX_SKIP_DOCKER=1")
    if _image_built:
        return
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        if not ENSURE_DOCKER.exists():
            pytest.fail(f"no Docker engine and no {ENSURE_DOCKER} to start one")
        _run_visible(["bash", str(ENSURE_DOCKER)], "starting Docker")
    _run_visible(["docker", "compose", "build", "--progress", "plain"], "building the image")
    _image_built = True


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    ensure_image()

    project = f"deskbox-e2e-{secrets.token_hex(3)}"
    token = secrets.token_urlsafe(24)
    port = free_port()
    box = Sandbox(url=f"http://127.0.0.1:{port}", token=token, project=project)
    up = box.compose("up", "-d", "--wait", "--no-build", check=False)
    try:
        if up.returncode != 0:
            logs = box.compose("logs", "--no-color", check=False).stdout
            pytest.fail(f"docker compose up failed:\n{up.stderr}\n{logs}")
        yield box
    finally:
        down = box.compose("down", "-v", "--remove-orphans", "--timeout", "10", check=False)
        leftovers = {kind: docker_labels(kind, project) for kind in ("container", "network", "volume")}
        assert down.returncode == 0, down.stderr
        assert leftovers == {"container": [], "network": [], "volume": []}, leftovers


def inspect(container: str) -> dict[str, object]:
    data: list[dict[str, object]] = json.loads(
        subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
    )
    return data[0]


FOREIGN_LABELS = {"deskbox.test-foreign": RUN_ID}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def foreign_sandboxes(sandbox: Sandbox) -> AsyncIterator[list[str]]:
    """A user's sandboxes on this machine: a running one and a warm pool's, made before the
    docker tests the way a user makes them. At the end they must be alive and untouched."""
    from deskbox import AsyncSandbox

    theirs = DockerBackend(labels=FOREIGN_LABELS, pool_size=1)
    running = await AsyncSandbox.create(backend=theirs, timeout=3600)
    await theirs.fill_pool()
    pooled = [c.name for c in await asyncio.to_thread(theirs._pooled, theirs.image)]
    names = [running.sandbox_id, *pooled]
    try:
        yield names
        assert await running.get_screen_size() == (1280, 800), "the user's sandbox stopped answering"
        for name in names:
            state = inspect(name)["State"]
            assert isinstance(state, dict) and state["Running"], f"{name} was stopped by the tests"
    finally:
        await running.kill()
        for name in pooled:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        await theirs.aclose()


def deskbox_containers() -> list[str]:
    """This test run's sandbox containers, running or not."""
    run_filters = [arg for key, value in RUN_LABELS.items() for arg in ("--filter", f"label={key}={value}")]
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={LABEL}", *run_filters, "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest_asyncio.fixture(loop_scope="session")
async def docker_ready(foreign_sandboxes: list[str]) -> AsyncIterator[None]:
    """Docker is up and the image built, a user's sandboxes are running beside the tests,
    and no test leaves a sandbox of its own behind."""
    yield
    leftovers = deskbox_containers()
    for name in leftovers:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    assert leftovers == [], "a test left sandbox containers behind"


@pytest.fixture(scope="session")
def modal_cloud(foreign_sandboxes: list[str]) -> Iterator[Any]:
    """The Modal stand-in for this run: its sandboxes are containers of the image, labelled
    with the run's labels, and all of them (and their snapshots' images) go at the end."""
    from harness.modal_cloud import ModalCloud

    cloud = ModalCloud(labels=RUN_LABELS)
    yield cloud
    cloud.close()
    assert standin_containers("modal") == [], "the Modal stand-in left containers behind"


def standin_containers(kind: str) -> list[str]:
    """This run's containers made by a cloud stand-in (``modal``, ``fly``)."""
    filters = [arg for key, value in RUN_LABELS.items() for arg in ("--filter", f"label={key}={value}")]
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=deskbox.standin={kind}", *filters],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip


FLY_APP = "deskbox-tests"


@pytest.fixture(scope="session")
def fly_machines(foreign_sandboxes: list[str]) -> Iterator[Any]:
    """The Fly stand-in for this run: its API and its proxy on 127.0.0.1, machines that are
    containers of the image (tagged for the app's registry as ``deskbox fly push`` tags it),
    all removed at the end with that tag."""
    import docker

    from deskbox.backends.fly_push import tag_for_fly
    from harness.fly_machines import FlyMachines

    client = docker.from_env()
    image, made = tag_for_fly(client, FLY_APP)
    try:
        with FlyMachines(apps=(FLY_APP,), labels=RUN_LABELS) as fly:
            yield fly
    finally:
        if made:  # the tag only, and only if this run made it: the image keeps its own name
            client.images.remove(image)
        client.close()
    assert standin_containers("fly") == [], "the Fly stand-in left machines behind"


def fly_backend(fly: Any, **options: Any) -> Any:
    from deskbox.backends.fly import FlyBackend

    return FlyBackend(app=FLY_APP, token=fly.token, api_url=fly.api_url, public_url=fly.proxy_url, **options)
