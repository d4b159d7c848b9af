"""e2b's ``sandbox.files`` over deskbox's file API."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

from .. import errors
from ..client._sync import Files as NativeFiles
from ..client._sync import WatchHandle as NativeWatchHandle
from ._commands import _user
from ._errors import FileNotFoundException, InvalidArgumentException, translated_files, translated_iterator
from ._types import EntryInfo, FilesystemEvent, FilesystemEventType, WriteInfo, entry_info, write_info


class Filesystem:
    """e2b's ``sandbox.files``."""

    def __init__(self, native: NativeFiles) -> None:
        self._native = native

    @translated_files
    def read(
        self,
        path: str,
        format: Literal["text", "bytes", "stream"] = "text",
        user: str | None = None,
        request_timeout: float | None = None,
        gzip: bool = False,
        stream_idle_timeout: float | None = None,
    ) -> Any:
        """Text, a bytearray, or with ``format="stream"`` an iterator of byte chunks."""
        _user(user)
        if format == "stream":
            return translated_iterator(iter(self._native.stream(path)), FileNotFoundException)
        if format == "bytes":
            return bytearray(self._native.read(path, "bytes"))
        if format == "text":
            return self._native.read(path)
        raise InvalidArgumentException(f"format: one of 'text', 'bytes', 'stream', not {format!r}")

    @translated_files
    def write(
        self,
        path: str,
        data: Any,
        user: str | None = None,
        request_timeout: float | None = None,
        gzip: bool = False,
        use_octet_stream: bool | None = None,
        metadata: dict[str, str] | None = None,
    ) -> WriteInfo:
        _user(user)
        if isinstance(data, io.TextIOBase):
            data = data.read()
        return write_info(self._native.write(path, data))

    @translated_files
    def write_files(
        self,
        files: Sequence[Any],
        user: str | None = None,
        request_timeout: float | None = None,
        gzip: bool = False,
        use_octet_stream: bool | None = None,
        metadata: dict[str, str] | None = None,
    ) -> list[WriteInfo]:
        """Write several files: ``[{"path": ..., "data": ...}, ...]``."""
        _user(user)
        pairs = []
        for index, entry in enumerate(files):
            if not isinstance(entry, dict) or "path" not in entry or "data" not in entry:
                raise InvalidArgumentException(f"files[{index}]: give a dict with 'path' and 'data'")
            pairs.append((entry["path"], entry["data"]))
        return [write_info(info) for info in self._native.write_files(pairs)]

    @translated_files
    def list(
        self, path: str, depth: int | None = 1, user: str | None = None, request_timeout: float | None = None
    ) -> list[EntryInfo]:
        _user(user)
        return [entry_info(info) for info in self._native.list(path, depth or 1)]

    @translated_files
    def exists(self, path: str, user: str | None = None, request_timeout: float | None = None) -> bool:
        _user(user)
        return self._native.exists(path)

    @translated_files
    def get_info(self, path: str, user: str | None = None, request_timeout: float | None = None) -> EntryInfo:
        _user(user)
        return entry_info(self._native.get_info(path))

    @translated_files
    def make_dir(self, path: str, user: str | None = None, request_timeout: float | None = None) -> bool:
        """True if the folder was made, False if it was already there."""
        _user(user)
        if self._native.exists(path):
            if self._native.get_info(path).type != "dir":
                raise errors.ConflictError(f"{path} exists and is not a folder")
            return False
        self._native.make_dir(path)
        return True

    @translated_files
    def rename(
        self, old_path: str, new_path: str, user: str | None = None, request_timeout: float | None = None
    ) -> EntryInfo:
        _user(user)
        return entry_info(self._native.rename(old_path, new_path))

    @translated_files
    def remove(self, path: str, user: str | None = None, request_timeout: float | None = None) -> None:
        _user(user)
        self._native.remove(path)

    @translated_files
    def watch_dir(
        self,
        path: str,
        user: str | None = None,
        request_timeout: float | None = None,
        recursive: bool = False,
        include_entry: bool = False,
        allow_network_mounts: bool = False,
    ) -> WatchHandle:
        """Watch a folder; ``get_new_events()`` on the handle returns what changed since."""
        _user(user)
        handle = self._native.watch_dir(path, recursive)
        return WatchHandle(handle, self._native if include_entry else None)


class WatchHandle:
    """e2b's handle on a watched folder."""

    def __init__(self, native: NativeWatchHandle, files: NativeFiles | None) -> None:
        self._native = native
        self._files = files

    @translated_files
    def get_new_events(self, request_timeout: float | None = None) -> list[FilesystemEvent]:
        taken = self._native.take()
        return [
            FilesystemEvent(
                name=event.name, type=FilesystemEventType(event.type), entry=self._entry(event.name)
            )
            for event in taken.events
        ]

    def _entry(self, name: str) -> EntryInfo | None:
        if self._files is None:
            return None
        try:  # what changed may be gone already (a remove, a rename's old name)
            return entry_info(self._files.get_info(f"{self._native.path}/{name}".rstrip("/")))
        except errors.NotFoundError:
            return None

    @translated_files
    def stop(self, request_timeout: float | None = None) -> None:
        self._native.stop()
