"""What is Modal's own in the modal backend, through the stand-in (sandboxes are containers
of the image here): snapshots of files that later sandboxes start from, a lifetime that
set_timeout cannot pass, Modal's errors as DeskboxErrors, and what Modal itself refuses."""

from __future__ import annotations

from typing import Any

import pytest
from modal import exception

from deskbox import (
    AsyncSandbox,
    AuthenticationError,
    CapabilityError,
    DeskboxError,
    InvalidActionError,
    NotFoundError,
    SandboxNotFoundError,
)
from deskbox.backends import SandboxSpec
from deskbox.backends.modal import ModalBackend

pytestmark = pytest.mark.e2e


def backend_of(cloud: Any, **options: Any) -> ModalBackend:
    return ModalBackend(sdk=cloud, token_id=cloud.TOKEN_ID, token_secret=cloud.TOKEN_SECRET, **options)


async def test_a_snapshot_keeps_files_not_processes(modal_cloud: Any) -> None:
    backend = backend_of(modal_cloud)
    source = await AsyncSandbox.create(backend=backend, timeout=600)
    started: list[AsyncSandbox] = []
    try:
        await source.files.write("/home/user/kept.txt", "from the snapshot")
        await source.commands.run("sleep 600", background=True)
        snapshot = await source.snapshot("modal-files")
        assert (snapshot.name, snapshot.source) == ("modal-files", source.sandbox_id)
        assert "modal-files" in [s.name for s in await AsyncSandbox.list_snapshots(backend=backend)]
        with pytest.raises(InvalidActionError, match="exists"):
            await source.snapshot("modal-files")

        started.append(await AsyncSandbox.create(backend=backend, snapshot="modal-files", timeout=600))
        assert await started[0].files.read("/home/user/kept.txt") == "from the snapshot"
        sleeping = await started[0].commands.run("pgrep -x sleep", check=False)
        assert sleeping.exit_code == 1  # files, not memory: no process came along
        assert await started[0].get_screen_size() == (1280, 800)  # its desktop started afresh

        started += await source.fork(1)
        assert await started[1].files.read("/home/user/kept.txt") == "from the snapshot"

        await AsyncSandbox.delete_snapshot("modal-files", backend=backend)
        with pytest.raises(NotFoundError):
            await AsyncSandbox.delete_snapshot("modal-files", backend=backend)
        with pytest.raises(NotFoundError, match="no snapshot"):
            await AsyncSandbox.create(backend=backend, snapshot="modal-files", timeout=600)
    finally:
        for sandbox in [source, *started]:
            await sandbox.kill()


async def test_the_lifetime_modal_gives_bounds_set_timeout(modal_cloud: Any) -> None:
    backend = backend_of(modal_cloud, max_lifetime=1800)
    sandbox = await AsyncSandbox.create(backend=backend, timeout=300)
    try:
        await sandbox.set_timeout(1200)  # within Modal's 1800 s for it
        listed = {info.sandbox_id: info for info in await AsyncSandbox.list(backend=backend)}
        deadline = listed[sandbox.sandbox_id].deadline
        assert deadline is not None and deadline > (sandbox.info.deadline or 0) + 800
        inside = await sandbox.files.read("/var/lib/deskbox/deadline")
        assert abs(float(inside) - deadline) < 2  # the sandbox keeps it, and ends itself there
        with pytest.raises(CapabilityError, match="cannot live longer"):
            await sandbox.set_timeout(3600)
        assert "==> " in await sandbox.logs()
    finally:
        await sandbox.kill()


async def test_modal_errors_are_deskbox_errors(modal_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = ModalBackend(sdk=modal_cloud, token_id="ak-wrong", token_secret="as-wrong")
    with pytest.raises(AuthenticationError, match="MODAL_TOKEN_ID") as refused:
        await wrong.list()
    assert isinstance(refused.value.__cause__, exception.AuthError)
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    with pytest.raises(AuthenticationError):
        await ModalBackend(sdk=modal_cloud).list()  # no credentials at all
    monkeypatch.setenv("MODAL_TOKEN_ID", modal_cloud.TOKEN_ID)
    monkeypatch.setenv("MODAL_TOKEN_SECRET", modal_cloud.TOKEN_SECRET)
    assert isinstance(await ModalBackend(sdk=modal_cloud).list(), list)  # Modal's own variables

    backend = backend_of(modal_cloud)
    with pytest.raises(SandboxNotFoundError) as missing:
        await AsyncSandbox.connect("sb-nosuchsandbox", backend=backend)
    assert isinstance(missing.value.__cause__, exception.NotFoundError)
    with pytest.raises(InvalidActionError, match="max_lifetime"):
        ModalBackend(sdk=modal_cloud, max_lifetime=10 * 24 * 3600)
    with pytest.raises(InvalidActionError, match="token_secret"):
        ModalBackend(sdk=modal_cloud, token_id="ak-only")
    with pytest.raises(DeskboxError, match="dockerfile"):
        await backend_of(modal_cloud, dockerfile="/nonexistent/Dockerfile").create(SandboxSpec())


async def test_the_stand_in_refuses_what_modal_refuses(modal_cloud: Any) -> None:
    client = await modal_cloud.Client.from_credentials.aio(modal_cloud.TOKEN_ID, modal_cloud.TOKEN_SECRET)
    app = await modal_cloud.App.lookup.aio("deskbox-refusals", create_if_missing=True, client=client)
    image = modal_cloud.Image.from_registry("deskbox/desktop:latest")
    with pytest.raises(exception.NotFoundError):
        await modal_cloud.App.lookup.aio("no-such-app", client=client)
    with pytest.raises(exception.InvalidError, match="App"):
        await modal_cloud.Sandbox.create.aio("true", image=image, client=client)
    with pytest.raises(exception.InvalidError, match="Timeout"):
        await modal_cloud.Sandbox.create.aio("true", app=app, image=image, timeout=25 * 3600, client=client)
    with pytest.raises(exception.InvalidError, match="tags"):
        await modal_cloud.Sandbox.create.aio("true", app=app, image=image, tags={"n": 1}, client=client)
    sandbox = await modal_cloud.Sandbox.create.aio("sleep", "30", app=app, image=image, client=client)
    try:
        with pytest.raises(exception.InvalidError, match="readiness_probe"):
            await sandbox.wait_until_ready.aio(timeout=5)
        assert await sandbox.tunnels.aio() == {}  # no port was asked for
        assert await sandbox.poll.aio() is None
    finally:
        await sandbox.terminate.aio()
    assert await sandbox.poll.aio() is not None
    with pytest.raises(exception.SandboxTerminatedError):
        await sandbox.tunnels.aio()
