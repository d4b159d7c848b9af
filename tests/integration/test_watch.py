"""Watching folders (``files.watch_dir``) on a real local sandbox: the kernel's inotify,
changes named as e2b names them, relative to the folder watched."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from deskbox import AsyncSandbox, InvalidActionError, NotFoundError
from deskbox.client._files import AsyncWatchHandle
from deskbox.models import WatchEvent

pytestmark = pytest.mark.integration


class Changes:
    """Every change a watch has reported so far."""

    def __init__(self, handle: AsyncWatchHandle) -> None:
        self.handle = handle
        self.seen: list[WatchEvent] = []

    async def until(self, wanted: set[tuple[str, str]], timeout: float = 10) -> list[tuple[str, str]]:
        async with asyncio.timeout(timeout):
            while not wanted <= {(e.type, e.name) for e in self.seen}:
                self.seen += (await self.handle.take()).events
                await asyncio.sleep(0.05)
        return [(e.type, e.name) for e in self.seen]


async def test_each_kind_of_change_is_reported_by_its_name(sandbox: AsyncSandbox, tmp_path: Path) -> None:
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    handle = await sandbox.files.watch_dir(str(folder))
    try:
        (folder / "a.txt").write_text("one")
        (folder / "a.txt").chmod(0o600)
        (folder / "a.txt").rename(folder / "b.txt")
        (folder / "b.txt").unlink()
        await sandbox.files.write(str(folder / "c.txt"), "written through the API")
        order = await Changes(handle).until(
            {
                ("create", "c.txt"),
                ("create", "a.txt"),
                ("write", "a.txt"),
                ("chmod", "a.txt"),
                ("rename", "a.txt"),
                ("create", "b.txt"),
                ("remove", "b.txt"),
            },
        )
        assert (
            order.index(("create", "a.txt"))
            < order.index(("rename", "a.txt"))
            < order.index(("remove", "b.txt"))
        )
    finally:
        await handle.stop()


async def test_a_recursive_watch_sees_into_folders_made_after_it_began(
    sandbox: AsyncSandbox, tmp_path: Path
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    (folder / "old").mkdir(parents=True)
    flat = await sandbox.files.watch_dir(str(folder))
    deep = await sandbox.files.watch_dir(str(folder), recursive=True)
    try:
        (folder / "old" / "x").write_text("x")
        (folder / "new").mkdir()
        deep_changes = Changes(deep)
        await deep_changes.until({("create", "new")})
        (folder / "new" / "y").write_text("y")
        await deep_changes.until({("create", "old/x"), ("create", "new/y")})
        (folder / "marker").write_text("")
        flat_seen = await Changes(flat).until({("create", "marker")})
        assert all("/" not in name for _, name in flat_seen)  # a flat watch stays at the top
    finally:
        await flat.stop()
        await deep.stop()


async def test_the_stream_ends_when_the_folder_goes(sandbox: AsyncSandbox, tmp_path: Path) -> None:
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    handle = await sandbox.files.watch_dir(str(folder))
    try:
        stream = handle.stream()
        (folder / "f").write_text("")
        first = await asyncio.wait_for(anext(stream), 10)
        assert (first.type, first.name) == ("create", "f")
        (folder / "f").unlink()
        folder.rmdir()
        rest = [e async for e in stream]  # ends by itself once the folder is gone
        assert ("remove", "") in [(e.type, e.name) for e in rest]
        assert (await handle.take()).running is False
    finally:
        await handle.stop()


async def test_watch_mistakes_are_clear(sandbox: AsyncSandbox, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        await sandbox.files.watch_dir(str(tmp_path / "nowhere"))
    (tmp_path / "plain").write_text("")
    with pytest.raises(InvalidActionError, match="not a folder"):
        await sandbox.files.watch_dir(str(tmp_path / "plain"))
    with pytest.raises(InvalidActionError, match="recursive"):
        await sandbox.files.watch_dir(str(tmp_path), recursive="deep")  # type: ignore[arg-type]
