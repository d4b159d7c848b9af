"""A trace on disk: one zip file, written an entry at a time, readable after a crash.

Each event (a step, a frame's description, a note) is its own small JSON entry, and each
frame its own JPEG entry, written and flushed as it happens. A zip's table of contents
(the central directory) is written only when the file is closed, so a trace whose
writer died has none; the reader then walks the entries' own headers from the start of
the file, which hold everything needed, and keeps every entry that is whole (its CRC
checks out). So a crash loses at most the entry being written.

    meta.json                 TraceMeta
    events/00000001.json      TraceStep | TraceFrame | TraceNote, by seq
    frames/00000002.jpg       the picture of frame 2
"""

from __future__ import annotations

import bisect
import os
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import TypeAdapter, ValidationError

from ..errors import TraceFileError
from .model import TraceEvent, TraceEvents, TraceFrame, TraceMeta, TraceNote, TraceStep

META = "meta.json"
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_DATA_DESCRIPTOR_FLAG = 0x08
_events: TypeAdapter[TraceEvent] = TypeAdapter(TraceEvent)


def event_name(seq: int) -> str:
    return f"events/{seq:08d}.json"


def frame_name(seq: int) -> str:
    return f"frames/{seq:08d}.jpg"


class TraceWriter:
    """Appends to a new trace file. Thread-safe; every call returns with its entry on disk
    (in the operating system's hands, so a killed process loses nothing written)."""

    def __init__(self, path: Path, meta: TraceMeta) -> None:
        self.path = path
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(descriptor, "w+b")
        self._zip = zipfile.ZipFile(self._file, "w")
        self._lock = threading.Lock()
        self._frames: dict[int, zipfile.ZipInfo] = {}
        self._put(META, meta.model_dump_json().encode(), zipfile.ZIP_DEFLATED)

    @property
    def size(self) -> int:
        with self._lock:
            return self._zip.start_dir if not self.closed else self.path.stat().st_size

    @property
    def closed(self) -> bool:
        return self._zip.fp is None

    def add(self, event: TraceStep | TraceFrame | TraceNote) -> None:
        self._put(event_name(event.seq), event.model_dump_json().encode(), zipfile.ZIP_DEFLATED)

    def add_frame(self, frame: TraceFrame, jpeg: bytes) -> None:
        """The picture first, then its event: no event ever names a picture that is not there."""
        self._frames[frame.seq] = self._put(frame_name(frame.seq), jpeg, zipfile.ZIP_STORED)
        self.add(frame)

    def frame(self, seq: int) -> bytes | None:
        """A frame's JPEG, read back while the trace is still being written."""
        info = self._frames.get(seq)
        if info is None:
            return None
        with open(self.path, "rb") as reader:
            return _read_entry(reader, info.header_offset, info.compress_size, info.compress_type)

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self._zip.close()
                self._file.close()

    def _put(self, name: str, data: bytes, method: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = method
        info.external_attr = 0o600 << 16
        with self._lock:
            if self.closed:
                raise TraceFileError("the trace is closed")
            self._zip.writestr(info, data)
            self._file.flush()
        return info


# ---- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    offset: int
    """Where the entry's local header starts."""
    size: int
    method: int


def _read_entry(reader: BinaryIO, offset: int, size: int, method: int) -> bytes:
    reader.seek(offset)
    header = reader.read(_LOCAL_HEADER.size)
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[9], fields[10]
    reader.seek(offset + _LOCAL_HEADER.size + name_length + extra_length)
    data = reader.read(size)
    return zlib.decompress(data, -15) if method == zipfile.ZIP_DEFLATED else data


def _scan(reader: BinaryIO) -> Iterator[tuple[str, _Entry]]:
    """The whole entries of a zip with no central directory, from their local headers."""
    offset = 0
    while True:
        reader.seek(offset)
        header = reader.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size:
            return
        signature, _, flags, method, _, _, crc, size, _, name_length, extra_length = _LOCAL_HEADER.unpack(
            header
        )
        if signature != _LOCAL_SIGNATURE or flags & _DATA_DESCRIPTOR_FLAG:
            return  # the central directory, or something this writer never makes
        name = reader.read(name_length).decode("utf-8", errors="replace")
        start = offset + _LOCAL_HEADER.size + name_length + extra_length
        reader.seek(start)
        data = reader.read(size)
        if len(data) < size:
            return  # cut off mid-entry: the writer died here
        try:
            whole = zlib.decompress(data, -15) if method == zipfile.ZIP_DEFLATED else data
        except zlib.error:
            return
        if zlib.crc32(whole) != crc:
            return  # the entry's header was written again after its data; this one was not
        yield name, _Entry(offset, size, method)
        offset = start + size


class TraceFile:
    """A trace read from disk, whole or cut short by a crash (``recovered`` says which)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._reader: BinaryIO = open(self.path, "rb")  # noqa: SIM115 (held until close)
        except OSError as exc:
            raise TraceFileError(f"cannot open {self.path}: {exc.strerror or exc}") from exc
        self.recovered = False
        self._entries = self._index()
        if META not in self._entries:
            self._reader.close()
            raise TraceFileError(f"{self.path} is not a deskbox trace (it has no {META})")
        try:
            self.meta = TraceMeta.model_validate_json(self._read(META))
        except ValidationError as exc:
            self._reader.close()
            raise TraceFileError(f"{self.path} has a {META} this version cannot read: {exc}") from exc
        self.events = self._read_events()

    def __enter__(self) -> TraceFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()

    def _index(self) -> dict[str, _Entry]:
        try:
            with zipfile.ZipFile(self._reader) as archive:
                return {
                    info.filename: _Entry(info.header_offset, info.compress_size, info.compress_type)
                    for info in archive.infolist()
                }
        except zipfile.BadZipFile:
            self.recovered = True
            self._reader.seek(0)
            return dict(_scan(self._reader))

    def _read(self, name: str) -> bytes:
        entry = self._entries[name]
        return _read_entry(self._reader, entry.offset, entry.size, entry.method)

    def _read_events(self) -> list[TraceStep | TraceFrame | TraceNote]:
        found = []
        for name in sorted(n for n in self._entries if n.startswith("events/")):
            try:
                found.append(_events.validate_json(self._read(name)))
            except ValidationError:
                continue  # a kind a newer version writes: the viewer shows what it knows
        return sorted(found, key=lambda event: event.seq)

    @property
    def steps(self) -> list[TraceStep]:
        return resolve_frames(self.events)

    @property
    def frames(self) -> list[TraceFrame]:
        return [event for event in self.events if isinstance(event, TraceFrame)]

    @property
    def notes(self) -> list[TraceNote]:
        return [event for event in self.events if isinstance(event, TraceNote)]

    def frame(self, seq: int) -> bytes | None:
        name = frame_name(seq)
        return self._read(name) if name in self._entries else None

    def as_events(self) -> TraceEvents:
        return TraceEvents(
            meta=self.meta,
            events=list(self.events),
            last=len(self.events),
            tracing=False,
        )


def resolve_frames(events: list[TraceStep | TraceFrame | TraceNote]) -> list[TraceStep]:
    """The steps, each with the frames before and after it filled in (see model.py)."""
    frames = sorted(event.seq for event in events if isinstance(event, TraceFrame))
    steps = sorted((event for event in events if isinstance(event, TraceStep)), key=lambda s: s.seq)

    def last_before(seq: int) -> int | None:
        position = bisect.bisect_left(frames, seq)
        return frames[position - 1] if position else None

    resolved = []
    for position, step in enumerate(steps):
        bound = steps[position + 1].seq if position + 1 < len(steps) else (frames[-1] + 1 if frames else 0)
        after = last_before(bound)
        resolved.append(
            step.model_copy(
                update={
                    "before": step.before if step.before is not None else last_before(step.seq),
                    "after": after if after is not None and after >= (step.before or 0) else step.before,
                }
            )
        )
    return resolved
