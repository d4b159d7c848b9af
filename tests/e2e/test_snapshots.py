"""Snapshots, forks and reset on the docker backend: files and installed packages carry
over, each copy changes only itself, the browser reopens its tabs, a reset sandbox is back
as it was created under the same id, and no image outlives what owns it."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
import subprocess
import zipfile
from collections.abc import Awaitable, Callable

import docker
import pytest

from deskbox import AsyncSandbox, ConflictError, InvalidActionError, NotFoundError
from deskbox.backends.docker import DockerBackend
from tests.e2e.conftest import RUN_ID, deskbox_containers, docker_backend
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

PAGE = "/home/user/notes/page.html"
PYLIB = "/home/user/pylib"
WHEEL = "deskbox_probe_pkg-1.0-py3-none-any.whl"
INFO = "deskbox_probe_pkg-1.0.dist-info"


def tiny_wheel() -> bytes:
    """A real wheel of a one-module package, for pip to install inside the sandbox."""
    files = {
        "deskbox_probe_pkg/__init__.py": b"VALUE = 'installed before the snapshot'\n",
        f"{INFO}/METADATA": b"Metadata-Version: 2.1\nName: deskbox-probe-pkg\nVersion: 1.0\n",
        f"{INFO}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{INFO}/RECORD,,")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{INFO}/RECORD", "\n".join(record) + "\n")
    return out.getvalue()


async def package_value(sbx: AsyncSandbox) -> str:
    result = await sbx.commands.run(
        ["python3", "-c", "import deskbox_probe_pkg; print(deskbox_probe_pkg.VALUE)"],
        envs={"PYTHONPATH": PYLIB},
    )
    return result.stdout.strip()


async def notes(sbx: AsyncSandbox) -> set[str]:
    return {entry.name for entry in await sbx.files.list("/home/user/notes")}


async def page_urls(sbx: AsyncSandbox) -> list[str]:
    return [str(tab["url"]) for tab in await sbx.browser_tabs()]


def window_titles(sbx: AsyncSandbox) -> Callable[[], Awaitable[list[str]]]:
    async def titles() -> list[str]:
        return sorted(w.title for w in await sbx.list_windows())

    return titles


def our_images(label: str) -> list[str]:
    listed = subprocess.run(
        ["docker", "images", "-q", "--filter", f"label={label}", "--filter", "label=deskbox.snapshot.scope"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    scoped = []
    for image in listed:
        labels = docker.from_env().images.get(image).attrs["Config"]["Labels"] or {}
        if RUN_ID in labels.get("deskbox.snapshot.scope", ""):
            scoped.append(image)
    return scoped


async def test_a_snapshot_starts_sandboxes_that_each_change_only_themselves(docker_ready: None) -> None:
    backend = docker_backend()
    source = await AsyncSandbox.create(backend=backend, timeout=600, envs={"PROBE_ENV": "kept"})
    copies: list[AsyncSandbox] = []
    name = f"test-{RUN_ID}"
    try:
        await source.files.write("/home/user/notes/plan.txt", "from the source")
        await source.files.write(PAGE, "<title>restored page</title><h1>the source's page</h1>")
        await source.files.write(f"/tmp/{WHEEL}", tiny_wheel())
        await source.commands.run(["pip", "install", "--no-index", "--target", PYLIB, f"/tmp/{WHEEL}"])
        assert await package_value(source) == "installed before the snapshot"
        await source.navigate(f"file://{PAGE}")

        with pytest.raises(InvalidActionError, match="name"):
            await source.snapshot("Not A Tag!")
        snap = await source.snapshot(name)
        assert snap.name == name and snap.source == source.sandbox_id and snap.size_bytes > 0
        with pytest.raises(ConflictError):  # never overwritten
            await source.snapshot(name)
        assert name in [s.name for s in await AsyncSandbox.list_snapshots(backend=backend)]
        image_env = docker.from_env().images.get(f"deskbox/snapshot:{name}").attrs["Config"]["Env"]
        assert "DESKBOX_TOKEN=" in image_env and "PROBE_ENV=" in image_env, "a secret went into the image"
        await source.files.write("/home/user/notes/after.txt", "written after the snapshot")

        copies = list(
            await asyncio.gather(
                AsyncSandbox.create(backend=backend, snapshot=snap, timeout=600),
                AsyncSandbox.create(backend=backend, snapshot=name, timeout=600),
            )
        )
        first, second = copies
        assert first.info.token != source.info.token != second.info.token
        for copy in copies:
            assert await copy.files.read("/home/user/notes/plan.txt") == "from the source"
            assert await package_value(copy) == "installed before the snapshot"
            urls = await eventually(
                functools.partial(page_urls, copy), lambda u: f"file://{PAGE}" in u, timeout=30
            )
            assert "about:blank" not in urls
            assert not (await copy.commands.run("printenv PROBE_ENV", check=False)).stdout.strip()

        await first.files.write("/home/user/notes/first.txt", "the first copy's")
        await second.files.remove("/home/user/notes/plan.txt")
        assert await notes(first) == {"plan.txt", "page.html", "first.txt"}
        assert await notes(second) == {"page.html"}
        assert await notes(source) == {"plan.txt", "page.html", "after.txt"}

        # A sandbox from a snapshot resets to the snapshot, not to the base image.
        await first.reset()
        assert await notes(first) == {"plan.txt", "page.html"}

        with pytest.raises(ConflictError, match="in use"):
            await AsyncSandbox.delete_snapshot(snap, backend=backend)
    finally:
        for copy in copies:
            await copy.kill()
        await source.kill()
        if name in [s.name for s in await AsyncSandbox.list_snapshots(backend=backend)]:
            await AsyncSandbox.delete_snapshot(name, backend=backend)
        await backend.aclose()
    assert name not in [s.name for s in await AsyncSandbox.list_snapshots(backend=docker_backend())]
    with pytest.raises(NotFoundError):
        await AsyncSandbox.create(backend=docker_backend(), snapshot=name)
    assert our_images("deskbox.snapshot") == []


async def test_fork_copies_the_files_as_they_are_now_and_its_image_goes_with_the_forks(
    docker_ready: None,
) -> None:
    backend = docker_backend()
    source = await AsyncSandbox.create(backend=backend, timeout=600, metadata={"task": "forked"})
    forks: list[AsyncSandbox] = []
    try:
        await source.files.write("/home/user/notes/state.txt", "step 7")
        forks = await source.fork(2)
        assert len({f.sandbox_id for f in forks} | {source.sandbox_id}) == 3
        for index, fork in enumerate(forks):
            assert await fork.files.read("/home/user/notes/state.txt") == "step 7"
            assert fork.info.metadata == {"task": "forked"}
            await fork.files.write("/home/user/notes/state.txt", f"fork {index}")
        assert await source.files.read("/home/user/notes/state.txt") == "step 7"
        assert [await f.files.read("/home/user/notes/state.txt") for f in forks] == ["fork 0", "fork 1"]
        assert our_images("deskbox.snapshot.ephemeral=1"), "the forks' image is not there"
        await forks[0].kill()
        assert our_images("deskbox.snapshot.ephemeral=1"), "the image went while a fork still runs"
        await forks[1].kill()
        assert our_images("deskbox.snapshot.ephemeral=1") == [], "the forks' image outlived them"
    finally:
        for fork in forks:
            if fork.sandbox_id in deskbox_containers():
                await fork.kill()
        await source.kill()
        await backend.aclose()


@pytest.mark.parametrize("pooled", [True, False], ids=["from-the-pool", "started-fresh"])
async def test_reset_puts_files_windows_and_page_back_under_the_same_id(
    docker_ready: None, pooled: bool
) -> None:
    backend = docker_backend(pool={"base": 1}, pool_memory_mb=1536) if pooled else docker_backend()
    if pooled:
        await backend.fill_pool()
    sbx = await AsyncSandbox.create(backend=backend, timeout=600)
    try:
        if pooled:  # claimed from a pool kept within its budget, then given the default limit
            memory = docker.from_env().containers.get(sbx.sandbox_id).attrs["HostConfig"]["Memory"]
            assert memory == 2048 * 2**20
        original_id = sbx.sandbox_id
        home = {entry.name for entry in await sbx.files.list("/home/user")}
        # The desktop's own windows (its background, the panels) appear a moment after
        # the sandbox is ready: compare settled lists.
        titles = await eventually(window_titles(sbx), lambda t: "Desktop" in t, timeout=30)
        start_urls = await page_urls(sbx)
        deadline_before = await sbx.files.read("/var/lib/deskbox/deadline")

        await sbx.files.write("/home/user/agent-was-here.txt", "changed")
        await sbx.launch("xfce4-terminal")
        await eventually(sbx.list_windows, lambda ws: len(ws) > len(titles), timeout=30)
        await sbx.navigate("data:text/html,<title>elsewhere</title>away")
        old_container = docker.from_env().containers.get(original_id).id

        await sbx.reset()
        assert sbx.sandbox_id == original_id
        assert docker.from_env().containers.get(original_id).id != old_container
        assert {entry.name for entry in await sbx.files.list("/home/user")} == home
        await eventually(window_titles(sbx), lambda t: t == titles, timeout=30)
        assert await page_urls(sbx) == start_urls
        kept = float(await sbx.files.read("/var/lib/deskbox/deadline"))
        assert abs(kept - float(deadline_before)) < 5, "the reset sandbox got a new deadline"
        again = await AsyncSandbox.connect(original_id, backend=backend)
        assert again.url == sbx.url
        await again.close()
        await eventually(
            lambda: asyncio.to_thread(deskbox_containers),
            lambda names: not any(n.startswith(f"{original_id}-reset-") for n in names),
            timeout=30,
        )
    finally:
        await sbx.kill()
        await backend.aclose()  # the pool's refills have finished
        for name in deskbox_containers():
            if name.startswith("deskbox-pool-"):
                subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_a_pool_over_its_memory_budget_is_refused() -> None:
    with pytest.raises(InvalidActionError, match="pool_memory_mb"):
        DockerBackend(pool={"base": 2}, pool_memory_mb=1000)
    with pytest.raises(InvalidActionError, match="pool"):
        DockerBackend(pool={"base": -1})
    assert DockerBackend(pool={"base": 2, "snap": 1}, pool_memory_mb=3000).pooled_memory_mb == 1000
