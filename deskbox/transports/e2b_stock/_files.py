"""Stock mode's file routes, through e2b's files API, with the server's query checks."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ... import errors
from ...models import FileInfo, MoveRequest
from .._router import Call, no_content, respond
from ._remote import Remote

Path = Annotated[str, Field(min_length=1)]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")
    path: Path


class _ListQuery(_Query):
    depth: Annotated[int, Field(ge=1, le=10)] = 1


class _UploadQuery(_Query):
    mode: Annotated[str, Field(pattern=r"^0?o?[0-7]{3,4}$")] | None = None


class _RemoveQuery(_Query):
    recursive: bool = False


def _file_info(entry: Any) -> FileInfo:
    kind = str(getattr(getattr(entry, "type", None), "value", getattr(entry, "type", "file")))
    modified = getattr(entry, "modified_time", None)
    return FileInfo(
        name=str(entry.name),
        path=str(entry.path),
        type="dir" if kind == "dir" else "file",
        size=int(getattr(entry, "size", 0) or 0),
        mode=oct(int(getattr(entry, "mode", 0) or 0))[2:],
        modified=float(modified.timestamp()) if modified is not None else 0.0,
    )


async def _info(remote: Remote, path: str) -> FileInfo:
    return _file_info(await remote.call(lambda d: d.files.get_info(path)))


async def listing(remote: Remote, call: Call) -> httpx.Response:
    query: _ListQuery = call.query(_ListQuery)
    entries = await remote.call(lambda d: d.files.list(query.path, depth=query.depth))
    return respond([_file_info(entry) for entry in entries])


async def stat(remote: Remote, call: Call) -> httpx.Response:
    return respond(await _info(remote, call.query(_Query).path))


async def exists(remote: Remote, call: Call) -> httpx.Response:
    path = call.query(_Query).path
    return respond(bool(await remote.call(lambda d: d.files.exists(path))))


async def download(remote: Remote, call: Call) -> httpx.Response:
    path = call.query(_Query).path
    data = await remote.call(lambda d: d.files.read(path, format="bytes"))
    return httpx.Response(200, content=bytes(data), headers={"content-type": "application/octet-stream"})


async def upload(remote: Remote, call: Call) -> httpx.Response:
    query: _UploadQuery = call.query(_UploadQuery)
    await remote.call(lambda d: d.files.write(query.path, call.body))
    if query.mode is not None:
        octal = query.mode.removeprefix("0o").removeprefix("o")
        await remote.check(f"chmod {octal} {shlex.quote(query.path)}")
    return respond(await _info(remote, query.path))


async def make_dir(remote: Remote, call: Call) -> httpx.Response:
    path = call.query(_Query).path
    await remote.call(lambda d: d.files.make_dir(path))
    return respond(await _info(remote, path))


async def move(remote: Remote, call: Call) -> httpx.Response:
    request: MoveRequest = call.model(MoveRequest)
    exists = await remote.call(lambda d: d.files.exists(request.destination))
    if exists and not request.overwrite:
        raise errors.ConflictError(f"{request.destination} exists; pass overwrite=True to replace it")
    await remote.call(lambda d: d.files.rename(request.source, request.destination))
    return respond(await _info(remote, request.destination))


async def remove(remote: Remote, call: Call) -> httpx.Response:
    query: _RemoveQuery = call.query(_RemoveQuery)
    if not query.recursive:
        quoted = shlex.quote(query.path)
        emptied = await remote.run(f"test ! -d {quoted} || rmdir {quoted}")
        if int(emptied.exit_code) != 0:
            raise errors.ConflictError(f"{query.path} is a folder that is not empty; remove it recursively")
    await remote.call(lambda d: d.files.remove(query.path))
    return no_content()
