"""Files: stat, list, read, write, move, delete, and streamed upload and download."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ...desktop import files
from ...errors import InvalidActionError
from ...models import FileContent, FileInfo, MoveRequest, WriteFileRequest

router = APIRouter(tags=["files"])
PathQuery = Annotated[str, Query(min_length=1, description="absolute, or relative to the home folder")]


def _mode(mode: str | None) -> int | None:
    return int(mode.removeprefix("0o").removeprefix("o"), 8) if mode is not None else None


@router.get("/files", response_model=list[FileInfo])
def list_files(path: PathQuery, depth: Annotated[int, Query(ge=1, le=10)] = 1) -> list[FileInfo]:
    """The entries of a folder, descending ``depth`` levels."""
    return files.list_dir(path, depth)


@router.get("/files/stat", response_model=FileInfo)
def stat(path: PathQuery) -> FileInfo:
    return files.stat(path)


@router.get("/files/exists", response_model=bool)
def exists(path: PathQuery) -> bool:
    return files.exists(path)


@router.get("/files/read", response_model=FileContent)
def read(
    path: PathQuery, encoding: Annotated[str, Query(pattern="^(utf-8|base64)$")] = "utf-8"
) -> FileContent:
    """A file's content in JSON: UTF-8 text, or base64 for bytes. Large files: /files/download."""
    data = files.read_bytes(path)
    if encoding == "base64":
        return FileContent(path=path, content=base64.b64encode(data).decode("ascii"), encoding="base64")
    try:
        return FileContent(path=path, content=data.decode("utf-8"), encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidActionError.at(
            ("query", "encoding"), "the file is not UTF-8 text; ask for base64"
        ) from None


@router.post("/files/write", response_model=FileInfo)
def write(request: WriteFileRequest) -> FileInfo:
    """Write text or base64 bytes, creating parent folders. The old file stays until done."""
    if request.encoding == "base64":
        try:
            data = base64.b64decode(request.content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidActionError.at(("body", "content"), "not valid base64") from None
    else:
        data = request.content.encode("utf-8")
    return files.write_bytes(request.path, data, mode=_mode(request.mode), append=request.append)


@router.put(
    "/files/upload",
    response_model=FileInfo,
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}}},
)
async def upload(
    request: Request, path: PathQuery, mode: Annotated[str | None, Query(pattern=r"^0?o?[0-7]{3,4}$")] = None
) -> FileInfo:
    """Stream the request body into a file, of any size, without holding it in memory."""
    writer = await run_in_threadpool(files.AtomicWriter, path, _mode(mode))
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(writer.write, chunk)
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    return await run_in_threadpool(writer.commit)


@router.get(
    "/files/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(path: PathQuery) -> FileResponse:
    """Stream a file's bytes out, of any size."""
    target = files.check_readable_file(path)
    return FileResponse(target, media_type="application/octet-stream", filename=target.name)


@router.post("/files/mkdir", response_model=FileInfo)
def mkdir(path: PathQuery) -> FileInfo:
    """Create a folder and its parents; an existing folder is fine."""
    return files.make_dir(path)


@router.post("/files/move", response_model=FileInfo)
def move(request: MoveRequest) -> FileInfo:
    return files.move(request.source, request.destination, request.overwrite)


@router.delete("/files", status_code=204)
def remove(path: PathQuery, recursive: bool = False) -> None:
    """Delete a file, an empty folder, or with ``recursive`` a whole tree."""
    files.remove(path, recursive)
