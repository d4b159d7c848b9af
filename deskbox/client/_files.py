"""``sandbox.files``: read, write, list and remove files in the sandbox."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import IO, Annotated, Any, Literal, overload

from pydantic import SkipValidation

from .. import errors
from ..models import FileInfo, WatchEvent, WatchEvents, WatchInfo
from ._connection import Connection
from ._validation import checked

UPLOAD_CHUNK = 1024 * 1024

FileData = Annotated[
    str | bytes | IO[bytes] | IO[str] | Iterable[bytes] | AsyncIterable[bytes], SkipValidation
]
"""Text (written as UTF-8), bytes, an open file (binary or text), or a stream of bytes."""


class AsyncWatchHandle:
    """A folder being watched: take its changes, or follow them as they come."""

    id: str
    path: str

    def __init__(self, connection: Connection, info: WatchInfo) -> None:
        self._connection = connection
        self.id = info.id
        self.path = info.path

    def __repr__(self) -> str:
        return f"AsyncWatchHandle(id={self.id!r}, path={self.path!r})"

    @checked
    async def take(self) -> WatchEvents:
        """The changes since the last take; ``dropped`` counts any lost before them."""
        return WatchEvents.model_validate(
            await self._connection.json("GET", f"/files/watches/{self.id}/events")
        )

    async def stream(self) -> AsyncIterator[WatchEvent]:
        """The changes as they happen, until the watch is stopped or its folder goes."""
        async for event, data in self._connection.events(f"/files/watches/{self.id}/stream"):
            if event == "change":
                yield WatchEvent.model_validate(data)

    @checked
    async def stop(self) -> None:
        await self._connection.request("DELETE", f"/files/watches/{self.id}")


class AsyncFiles:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @checked
    async def watch_dir(self, path: str, recursive: bool = False) -> AsyncWatchHandle:
        """Watch a folder for changes (with ``recursive``, every folder below it too)."""
        info = await self._connection.json(
            "POST", "/files/watches", json_body={"path": path, "recursive": recursive}
        )
        return AsyncWatchHandle(self._connection, WatchInfo.model_validate(info))

    @overload
    async def read(self, path: str, format: Literal["text"] = "text") -> str: ...

    @overload
    async def read(self, path: str, format: Literal["bytes"]) -> bytes: ...

    @overload
    async def read(self, path: str, format: Literal["text", "bytes"]) -> str | bytes: ...

    @checked
    async def read(self, path: str, format: Literal["text", "bytes"] = "text") -> str | bytes:
        """A file's content as text (UTF-8) or bytes; any size is streamed."""
        response = await self._connection.request("GET", "/files/download", params={"path": path})
        if format == "bytes":
            return response.content
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.InvalidActionError.at(
                ("format",), f"{path} is not UTF-8 text; read it with format='bytes'"
            ) from exc

    async def stream(self, path: str) -> AsyncIterator[bytes]:
        """A file's content in chunks as they arrive, for files too large to hold."""
        async for chunk in self._connection.stream_bytes("GET", "/files/download", {"path": path}):
            yield chunk

    @checked
    async def write_files(self, files: builtins.list[tuple[str, FileData]]) -> builtins.list[FileInfo]:
        """Write several files, in order: ``[(path, data), ...]``, data as for ``write``."""
        return [await self.write(path, data) for path, data in files]

    @checked
    async def write(self, path: str, data: FileData, mode: str | None = None) -> FileInfo:
        """Write text, bytes or an async stream of bytes, creating parent folders."""
        content = _content(data)
        response = await self._connection.request(
            "PUT", "/files/upload", params={"path": path, "mode": mode}, content=content
        )
        return FileInfo.model_validate(response.json())

    @checked
    async def list(self, path: str, depth: int = 1) -> builtins.list[FileInfo]:
        """The entries of a folder, descending ``depth`` levels."""
        entries = await self._connection.json("GET", "/files", params={"path": path, "depth": depth})
        return [FileInfo.model_validate(entry) for entry in entries]

    @checked
    async def exists(self, path: str) -> bool:
        return bool(await self._connection.json("GET", "/files/exists", params={"path": path}))

    @checked
    async def get_info(self, path: str) -> FileInfo:
        return FileInfo.model_validate(
            await self._connection.json("GET", "/files/stat", params={"path": path})
        )

    @checked
    async def make_dir(self, path: str) -> FileInfo:
        """Create a folder and its parents; an existing folder is fine."""
        return FileInfo.model_validate(
            await self._connection.json("POST", "/files/mkdir", params={"path": path})
        )

    @checked
    async def rename(self, old_path: str, new_path: str, overwrite: bool = False) -> FileInfo:
        body = {"source": old_path, "destination": new_path, "overwrite": overwrite}
        return FileInfo.model_validate(await self._connection.json("POST", "/files/move", json_body=body))

    @checked
    async def remove(self, path: str, recursive: bool = True) -> None:
        """Delete a file or a folder (with everything in it, unless ``recursive=False``)."""
        await self._connection.request("DELETE", "/files", params={"path": path, "recursive": recursive})


def _content(data: object) -> AsyncIterable[bytes]:
    """What to upload, as the async stream of bytes the connection sends."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        return _chunks(bytes(data))
    if isinstance(data, AsyncIterable):
        return _checked_chunks(data)
    if hasattr(data, "read"):
        return _file_chunks(data)
    if isinstance(data, Iterable):
        return _checked_chunks(_aiter(data))
    raise errors.InvalidActionError.at(
        ("data",), f"give text, bytes, a file or an iterable of bytes, not {type(data).__name__}"
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), UPLOAD_CHUNK):
        yield data[start : start + UPLOAD_CHUNK]


async def _file_chunks(file: Any) -> AsyncIterator[bytes]:
    # A file may block (a pipe, a network mount): read it off the event loop.
    while chunk := await asyncio.to_thread(file.read, UPLOAD_CHUNK):
        yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


async def _aiter(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def _checked_chunks(chunks: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise errors.InvalidActionError.at(
                ("data",), f"a chunk must be bytes, not {type(chunk).__name__}"
            )
        yield bytes(chunk)
