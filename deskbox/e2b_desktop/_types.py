"""e2b's data types, filled from deskbox's answers."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import IO, Any

from ..models import FileInfo
from ..models import ProcessInfo as NativeProcess

Stdout = str
PtyOutput = bytes
Stderr = str
Username = str
WriteData = str | bytes | IO[Any] | Iterable[bytes]
OutputHandler = Callable[[str], None]


class SandboxState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"


class FileType(Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"


@dataclass
class WriteInfo:
    name: str
    type: FileType | None
    path: str
    metadata: dict[str, str] | None = None


@dataclass
class EntryInfo(WriteInfo):
    size: int = 0
    mode: int = 0
    permissions: str = ""
    owner: str = ""
    group: str = ""
    modified_time: datetime = field(default_factory=lambda: datetime.fromtimestamp(0, UTC))
    symlink_target: str | None = None


class FilesystemEventType(Enum):
    CHMOD = "chmod"
    CREATE = "create"
    REMOVE = "remove"
    RENAME = "rename"
    WRITE = "write"


@dataclass
class FilesystemEvent:
    name: str
    type: FilesystemEventType
    entry: EntryInfo | None = None


@dataclass
class PtySize:
    rows: int
    cols: int


@dataclass
class ProcessInfo:
    pid: int
    tag: str | None
    cmd: str
    args: list[str]
    envs: dict[str, str]
    cwd: str | None


@dataclass
class SandboxInfo:
    sandbox_id: str
    template_id: str
    name: str | None
    metadata: dict[str, str]
    started_at: datetime
    end_at: datetime | None
    state: str
    envd_version: str = ""
    cpu_count: int = 0
    memory_mb: int = 0


def file_type(kind: str) -> FileType | None:
    try:
        return FileType(kind)
    except ValueError:  # "other": a socket, a device; e2b has no name for it
        return None


def entry_info(info: FileInfo) -> EntryInfo:
    bits = int(info.mode.removeprefix("0o"), 8)
    kind = file_type(info.type)
    type_bits = {FileType.DIR: stat.S_IFDIR, FileType.SYMLINK: stat.S_IFLNK}.get(kind, stat.S_IFREG)  # type: ignore[arg-type]
    return EntryInfo(
        name=info.name,
        type=kind,
        path=info.path,
        size=info.size,
        mode=bits,
        permissions=stat.filemode(type_bits | bits),
        owner=info.owner or "",
        group=info.group or "",
        modified_time=datetime.fromtimestamp(info.modified, UTC),
        symlink_target=info.symlink_target,
    )


def write_info(info: FileInfo) -> WriteInfo:
    return WriteInfo(name=info.name, type=file_type(info.type), path=info.path)


def process_info(process: NativeProcess) -> ProcessInfo:
    command: Any = process.command
    if isinstance(command, list):
        return ProcessInfo(pid=process.pid, tag=None, cmd=command[0], args=command[1:], envs={}, cwd=None)
    return ProcessInfo(pid=process.pid, tag=None, cmd="/bin/sh", args=["-c", command], envs={}, cwd=None)
