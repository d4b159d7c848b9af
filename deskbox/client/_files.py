"""``sandbox.files``: read, write, list and remove files in the sandbox."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, AsyncIterator
from typing import Literal, overload

from ..models import FileInfo
from ._transport import Transport

UPLOAD_CHUNK = 1024 * 1024


class AsyncFiles:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    @overload
    async def read(self, path: str, format: Literal["text"] = "text") -> str: ...

    @overload
    async def read(self, path: str, format: Literal["bytes"]) -> bytes: ...

    async def read(self, path: str, format: Literal["text", "bytes"] = "text") -> str | bytes:
        """A file's content as text (UTF-8) or bytes; any size is streamed."""
        response = await self._transport.request("GET", "/files/download", params={"path": path})
        return response.content if format == "bytes" else response.content.decode("utf-8")

    async def write(
        self, path: str, data: str | bytes | AsyncIterable[bytes], mode: str | None = None
    ) -> FileInfo:
        """Write text, bytes or an async stream of bytes, creating parent folders."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        content = _chunks(data) if isinstance(data, bytes) else data
        response = await self._transport.request(
            "PUT", "/files/upload", params={"path": path, "mode": mode}, content=content
        )
        return FileInfo.model_validate(response.json())

    async def list(self, path: str, depth: int = 1) -> builtins.list[FileInfo]:
        return [
            FileInfo.model_validate(entry)
            for entry in await self._transport.json("GET", "/files", params={"path": path, "depth": depth})
        ]

    async def exists(self, path: str) -> bool:
        return bool(await self._transport.json("GET", "/files/exists", params={"path": path}))

    async def get_info(self, path: str) -> FileInfo:
        return FileInfo.model_validate(
            await self._transport.json("GET", "/files/stat", params={"path": path})
        )

    async def make_dir(self, path: str) -> FileInfo:
        return FileInfo.model_validate(
            await self._transport.json("POST", "/files/mkdir", params={"path": path})
        )

    async def rename(self, old_path: str, new_path: str, overwrite: bool = False) -> FileInfo:
        body = {"source": old_path, "destination": new_path, "overwrite": overwrite}
        return FileInfo.model_validate(await self._transport.json("POST", "/files/move", json_body=body))

    async def remove(self, path: str, recursive: bool = True) -> None:
        """Delete a file or a folder (with everything in it, unless ``recursive=False``)."""
        await self._transport.request("DELETE", "/files", params={"path": path, "recursive": recursive})


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), UPLOAD_CHUNK):
        yield data[start : start + UPLOAD_CHUNK]
