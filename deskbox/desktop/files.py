"""Files in the sandbox: stat, list, read, write, move and delete.

Writes go to a temporary file beside the target and are renamed over it once complete,
so a failed or interrupted upload never leaves a half-written file where a good one was.
OS errors are translated into deskbox errors that name the path.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import grp
import os
import pwd
import shutil
import stat as stat_module
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import (
    ConflictError,
    InvalidActionError,
    NotFoundError,
    PermissionDeniedError,
    RequestTooLargeError,
    StorageFullError,
)
from ..models import FileInfo, FileType

MAX_INLINE_READ = 16 * 1024 * 1024
"""Largest file returned inside JSON; bigger ones are downloaded as a stream."""


def resolve(path: str) -> Path:
    """An absolute path; relative paths start at the server user's home folder."""
    if not path or "\x00" in path:
        raise InvalidActionError.at(("path",), "give a non-empty path without NUL bytes")
    expanded = Path(os.path.expanduser(path))
    return expanded if expanded.is_absolute() else Path.home() / expanded


@contextlib.contextmanager
def translate_os_errors(path: Path | str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        raise NotFoundError(f"no such file or directory: {path}") from None
    except NotADirectoryError:
        raise ConflictError(f"a parent of {path} is not a directory") from None
    except IsADirectoryError:
        raise ConflictError(f"{path} is a directory") from None
    except FileExistsError:
        raise ConflictError(f"{path} already exists") from None
    except PermissionError:
        raise PermissionDeniedError(f"permission denied: {path}") from None
    except OSError as exc:
        if exc.errno == errno.ENOTEMPTY:
            raise ConflictError(f"{path} is not empty; delete it recursively") from None
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFullError(f"no space left on the device writing {path}") from None
        # EIO from /proc/self/mem, EINVAL from odd files: the path is not readable this way.
        raise ConflictError(f"{path}: {exc.strerror or exc}") from exc


def _info(path: Path) -> FileInfo:
    st = path.lstat()
    if stat_module.S_ISLNK(st.st_mode):
        kind: FileType = "symlink"
    elif stat_module.S_ISDIR(st.st_mode):
        kind = "dir"
    elif stat_module.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    return FileInfo(
        name=path.name or str(path),
        path=str(path),
        type=kind,
        size=st.st_size,
        mode=oct(stat_module.S_IMODE(st.st_mode)),
        modified=st.st_mtime,
        symlink_target=os.readlink(path) if kind == "symlink" else None,
        owner=_user_name(st.st_uid),
        group=_group_name(st.st_gid),
    )


@functools.lru_cache(maxsize=64)
def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no name here (a file from another machine)
        return str(uid)


@functools.lru_cache(maxsize=64)
def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def stat(path: str) -> FileInfo:
    target = resolve(path)
    with translate_os_errors(target):
        return _info(target)


def exists(path: str) -> bool:
    return os.path.lexists(resolve(path))


def list_dir(path: str, depth: int = 1) -> list[FileInfo]:
    """Entries under ``path``, descending ``depth`` levels (1 = the folder's own entries)."""
    root = resolve(path)
    entries: list[FileInfo] = []
    with translate_os_errors(root):
        if not root.is_dir():
            _info(root)  # raises NotFound for a missing path
            raise ConflictError(f"{root} is not a directory")
        pending = [(root, 1)]
        while pending:
            folder, level = pending.pop()
            for child in sorted(folder.iterdir()):
                try:
                    info = _info(child)
                except FileNotFoundError:
                    continue  # removed while we looked
                entries.append(info)
                if info.type == "dir" and level < depth:
                    pending.append((child, level + 1))
    return entries


def _regular(target: Path) -> os.stat_result:
    """The stat of a regular file. A device (/dev/zero), a pipe or a socket is refused
    before it is opened: one never ends, the other blocks until someone writes."""
    st = target.stat()
    if stat_module.S_ISDIR(st.st_mode):
        raise IsADirectoryError(str(target))
    if not stat_module.S_ISREG(st.st_mode):
        raise ConflictError(
            f"{target} is not a regular file (a device, a pipe or a socket); it cannot be read"
        )
    return st


def read_bytes(path: str) -> bytes:
    target = resolve(path)
    with translate_os_errors(target):
        size = _regular(target).st_size
        if size > MAX_INLINE_READ:
            raise RequestTooLargeError(
                f"{target} is {size} bytes; download files over {MAX_INLINE_READ} bytes as a stream"
            )
        # /proc files say they are empty and are not: read at most one byte past the limit.
        with target.open("rb") as file:
            data = file.read(MAX_INLINE_READ + 1)
        if len(data) > MAX_INLINE_READ:
            raise RequestTooLargeError(
                f"{target} holds more than {MAX_INLINE_READ} bytes; download it as a stream"
            )
        return data


def check_readable_file(path: str) -> Path:
    """The resolved path of a regular, readable file, for streaming it out."""
    target = resolve(path)
    with translate_os_errors(target):
        _regular(target)
        with target.open("rb"):
            pass
    return target


class AtomicWriter:
    """Writes a file under a temporary name and renames it into place on commit."""

    def __init__(self, path: str, mode: int | None = None, append: bool = False) -> None:
        self.path = resolve(path)
        self._mode = mode
        with translate_os_errors(self.path):
            if self.path.is_dir():
                raise IsADirectoryError(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent
            )
        self._temp = Path(temp_name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self.size = 0
        if append and self.path.exists():
            with translate_os_errors(self.path), self.path.open("rb") as existing:
                shutil.copyfileobj(existing, self._file)
                self.size = self._file.tell()

    def write(self, chunk: bytes) -> None:
        with translate_os_errors(self.path):
            self._file.write(chunk)
        self.size += len(chunk)

    def commit(self) -> FileInfo:
        with translate_os_errors(self.path):
            self._file.close()
            if self._mode is not None:
                os.chmod(self._temp, self._mode)
            elif self.path.exists():
                shutil.copymode(self.path, self._temp)
            else:
                os.chmod(self._temp, 0o666 & ~_umask())
            os.replace(self._temp, self.path)
            return _info(self.path)

    def abort(self) -> None:
        self._file.close()
        with contextlib.suppress(OSError):
            self._temp.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(path: str, data: bytes, mode: int | None = None, append: bool = False) -> FileInfo:
    writer = AtomicWriter(path, mode=mode, append=append)
    try:
        writer.write(data)
    except BaseException:
        writer.abort()
        raise
    return writer.commit()


def make_dir(path: str) -> FileInfo:
    target = resolve(path)
    with translate_os_errors(target):
        target.mkdir(parents=True, exist_ok=True)
        return _info(target)


def remove(path: str, recursive: bool = False) -> None:
    target = resolve(path)
    with translate_os_errors(target):
        if target.is_dir() and not target.is_symlink():
            if recursive:
                shutil.rmtree(target)
            else:
                target.rmdir()
        else:
            target.unlink()


def move(source: str, destination: str, overwrite: bool = False) -> FileInfo:
    src, dst = resolve(source), resolve(destination)
    with translate_os_errors(src):
        if not os.path.lexists(src):
            raise FileNotFoundError(source)
        if os.path.lexists(dst) and not overwrite:
            raise ConflictError(f"{dst} already exists; pass overwrite to replace it")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, dst)
        return _info(dst)
