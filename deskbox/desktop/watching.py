"""Watching folders for changes (``files.watch_dir``): the kernel's inotify, read on the
event loop, each change kept as e2b and fsnotify name them (create, write, remove,
rename, chmod) with its path relative to the folder watched.

A recursive watch adds a watch for every folder below, and for each new one as it is
made. What the kernel's queue or our buffer could not keep is counted, never hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from asyncinotify import Inotify, Mask

from ..errors import ConflictError, InvalidActionError, NotFoundError
from ..models import WatchEvent, WatchEvents, WatchInfo
from .files import resolve, translate_os_errors

KEPT = 10_000
"""Events kept per watch until read; older ones are dropped (and counted)."""
MAX_WATCHES = 32
WATCHED = (
    (Mask.CREATE | Mask.MODIFY | Mask.DELETE | Mask.MOVED_FROM | Mask.MOVED_TO | Mask.ATTRIB)
    | Mask.DELETE_SELF
    | Mask.MOVE_SELF
    | Mask.ONLYDIR
)


ChangeKind = Literal["create", "write", "remove", "rename", "chmod"]


def _kind(mask: Mask) -> ChangeKind | None:
    if mask & (Mask.CREATE | Mask.MOVED_TO):
        return "create"
    if mask & Mask.MODIFY:
        return "write"
    if mask & Mask.DELETE:
        return "remove"
    if mask & Mask.MOVED_FROM:
        return "rename"
    if mask & Mask.ATTRIB:
        return "chmod"
    return None


class FolderWatch:
    def __init__(self, root: Path, recursive: bool) -> None:
        self.id = secrets.token_hex(6)
        self.root = root
        self.recursive = recursive
        self.dropped = 0
        self._events: deque[WatchEvent] = deque()
        self._changed = asyncio.Event()
        self._inotify = Inotify()
        self._ended = False
        self._add(root)
        if recursive:
            for folder, subfolders, _ in os.walk(root):
                for name in subfolders:
                    self._add(Path(folder) / name)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def running(self) -> bool:
        return not self._ended

    def info(self) -> WatchInfo:
        return WatchInfo(id=self.id, path=str(self.root), recursive=self.recursive, running=self.running)

    def _add(self, folder: Path) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # gone before it was watched
            self._inotify.add_watch(folder, WATCHED)

    async def _read(self) -> None:
        try:
            async for event in self._inotify:
                if event.mask & Mask.Q_OVERFLOW:
                    self.dropped += 1  # the kernel's own queue overflowed: events were lost
                    self._notify()
                    continue
                if event.path is None:
                    continue
                if event.mask & (Mask.DELETE_SELF | Mask.MOVE_SELF) and event.path == self.root:
                    self._keep(
                        WatchEvent(name="", type="remove" if event.mask & Mask.DELETE_SELF else "rename")
                    )
                    break
                kind = _kind(event.mask)
                if kind is None or event.name is None:
                    continue
                if self.recursive and kind == "create" and event.mask & Mask.ISDIR:
                    self._add(event.path)
                self._keep(WatchEvent(name=str(event.path.relative_to(self.root)), type=kind))
        finally:
            self._ended = True
            self._notify()

    def _keep(self, event: WatchEvent) -> None:
        if len(self._events) >= KEPT:
            self._events.popleft()
            self.dropped += 1
        self._events.append(event)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def take(self) -> WatchEvents:
        """The events since the last take, and how many were dropped before it."""
        events = list(self._events)
        self._events.clear()
        dropped, self.dropped = self.dropped, 0
        return WatchEvents(events=events, dropped=dropped, running=self.running)

    async def follow(self) -> AsyncIterator[WatchEvent]:
        """Events as they come (taking them), until the watch stops."""
        while True:
            changed = self._changed
            while self._events:
                yield self._events.popleft()
            if not self.running:
                return
            await changed.wait()

    async def stop(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self._inotify.close()


class Watches:
    """The folder watches of one server, by id."""

    def __init__(self) -> None:
        self._watches: dict[str, FolderWatch] = {}

    async def start(self, path: str, recursive: bool) -> FolderWatch:
        root = resolve(path)
        with translate_os_errors(root):
            if not root.is_dir():
                if not root.exists():
                    raise NotFoundError(f"{root} does not exist")
                raise InvalidActionError.at(("body", "path"), f"{root} is not a folder")
        if len(self._watches) >= MAX_WATCHES:
            raise ConflictError(f"{MAX_WATCHES} folders are watched already; stop one first")
        try:
            watch = FolderWatch(root, recursive)
        except OSError as exc:  # the user's inotify limits (max_user_watches) are reached
            raise ConflictError(f"cannot watch {root}: {exc.strerror or exc}") from None
        self._watches[watch.id] = watch
        return watch

    def get(self, watch_id: str) -> FolderWatch:
        try:
            return self._watches[watch_id]
        except KeyError:
            raise NotFoundError(f"no folder watch with id {watch_id!r}") from None

    def list(self) -> list[FolderWatch]:
        return list(self._watches.values())

    async def stop(self, watch_id: str) -> None:
        await self.get(watch_id).stop()
        del self._watches[watch_id]

    async def close(self) -> None:
        for watch_id in list(self._watches):
            await self.stop(watch_id)
