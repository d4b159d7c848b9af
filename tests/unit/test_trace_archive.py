"""The trace file: written an entry at a time, read whole or after a crash, and what of a
request's body it keeps."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from deskbox.errors import DeskboxError, TraceFileError
from deskbox.trace import TraceFile, TraceWriter
from deskbox.trace.archive import resolve_frames
from deskbox.trace.bodies import MAX_ITEMS, MAX_STRING, describe, error_message, shrink
from deskbox.trace.model import StepTiming, TraceFrame, TraceMeta, TraceNote, TraceStep

META = TraceMeta(started_at=1.0, screen_width=1280, screen_height=800, frame_width=1024, title="t")
VIEWER = Path(__file__).resolve().parents[2] / "deskbox" / "trace" / "viewer"


def step(seq: int, index: int, before: int | None = None, note: int | None = None) -> TraceStep:
    return TraceStep(
        seq=seq,
        index=index,
        at=float(seq),
        method="POST",
        path="/actions",
        request={"type": "click", "x": seq, "y": 1},
        status=200,
        timing=StepTiming(total=1.0),
        before=before,
        note=note,
    )


def frame(seq: int, picture: bytes) -> tuple[TraceFrame, bytes]:
    return TraceFrame(seq=seq, at=float(seq), width=4, height=2, bytes=len(picture)), picture


def write_sample(path: Path, close: bool = True) -> TraceWriter:
    writer = TraceWriter(path, META)
    writer.add_frame(*frame(1, b"\xff\xd8first"))
    writer.add(TraceNote(seq=2, at=2.0, source="anthropic", call={"name": "computer"}, text="click it"))
    writer.add(step(3, 1, before=1, note=2))
    writer.add_frame(*frame(4, b"\xff\xd8second"))
    writer.add(step(5, 2, before=4, note=2))
    writer.add(step(6, 3, before=4))
    if close:
        writer.close()
    return writer


def test_a_closed_trace_reads_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "run.zip"
    write_sample(path)
    assert zipfile.is_zipfile(path)
    with TraceFile(path) as trace:
        assert not trace.recovered
        assert trace.meta == META
        assert [s.index for s in trace.steps] == [1, 2, 3]
        assert [(s.before, s.after) for s in trace.steps] == [(1, 4), (4, 4), (4, 4)]
        assert [n.text for n in trace.notes] == ["click it"]
        assert trace.frame(1) == b"\xff\xd8first" and trace.frame(4) == b"\xff\xd8second"
        assert trace.frame(3) is None
        assert trace.as_events().last == 6


def test_frames_are_readable_while_the_trace_is_written(tmp_path: Path) -> None:
    writer = write_sample(tmp_path / "open.zip", close=False)
    assert writer.frame(4) == b"\xff\xd8second"
    assert writer.frame(99) is None
    before_close = writer.size
    writer.close()
    assert writer.frame(1) == b"\xff\xd8first"
    assert (tmp_path / "open.zip").stat().st_size > before_close  # the table of contents
    with pytest.raises(TraceFileError, match="closed"):
        writer.add(step(7, 4))


def test_a_trace_cut_anywhere_keeps_every_whole_entry(tmp_path: Path) -> None:
    """A writer killed mid-write leaves no table of contents, and perhaps half an entry:
    everything before the cut is still read, nothing after it is made up."""
    whole = tmp_path / "whole.zip"
    writer = write_sample(whole, close=False)  # held: a collected ZipFile closes itself
    data = whole.read_bytes()  # the central directory was never written
    with TraceFile(whole) as trace:
        assert trace.recovered and len(trace.steps) == 3 and trace.frame(4) == b"\xff\xd8second"
    counts = set()
    for cut in [*range(len(data) // 3, len(data), 7), len(data)]:
        cut_path = tmp_path / "cut.zip"
        cut_path.write_bytes(data[:cut])
        with TraceFile(cut_path) as trace:
            steps = trace.steps
            counts.add(len(steps))
            assert [s.index for s in steps] == list(range(1, len(steps) + 1))
            for s in steps:  # a step never names a frame that is missing
                assert s.before is None or trace.frame(s.before) is not None
    assert counts >= {0, 1, 2, 3}
    writer.close()


def test_what_is_not_a_trace_is_a_deskbox_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.zip"
    with pytest.raises(TraceFileError, match="cannot open"):
        TraceFile(missing)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(TraceFileError, match="not a deskbox trace"):
        TraceFile(other)
    text = tmp_path / "text.zip"
    text.write_text("not a zip at all")
    with pytest.raises(TraceFileError) as caught:
        TraceFile(text)
    assert isinstance(caught.value, DeskboxError) and caught.value.status_code == 422


def test_after_is_bounded_by_the_next_step() -> None:
    events: list[TraceStep | TraceFrame | TraceNote] = [
        step(2, 1),
        frame(3, b"x")[0],
        frame(4, b"x")[0],
        step(5, 2),
        step(6, 3),
        frame(7, b"x")[0],
    ]
    events.insert(0, frame(1, b"x")[0])
    resolved = resolve_frames(events)
    assert [(s.before, s.after) for s in resolved] == [(1, 4), (4, 4), (4, 7)]


def test_bodies_keep_what_a_person_reads() -> None:
    image = {"format": "png", "width": 10, "height": 10, "data": "A" * 4000}
    kept = shrink({"ok": True, "screenshot": image, "text": "x" * (MAX_STRING + 5)})
    assert kept["screenshot"] == {
        "format": "png",
        "width": 10,
        "height": 10,
        "data": "<3000 bytes of image data>",
    }
    assert kept["text"].endswith("(5 more characters)") and len(kept["text"]) < MAX_STRING + 40
    long_list = shrink(list(range(MAX_ITEMS + 3)))
    assert long_list[-1] == "… 3 more" and len(long_list) == MAX_ITEMS + 1
    assert describe(json.dumps({"a": [1, 2]}).encode(), "application/json") == {"a": [1, 2]}
    assert describe(b"\x89PNG....", "image/png") == {"content_type": "image/png", "bytes": 8}
    assert describe(b"{", "application/json") == {
        "content_type": "application/json",
        "bytes": 1,
        "invalid_json": True,
    }
    assert describe(b"", None) is None
    assert describe(b"partial", "application/json", size=10**9) == {
        "content_type": "application/json",
        "bytes": 10**9,
    }
    assert error_message(404, {"error": {"message": "no such file"}}) == "no such file"
    assert error_message(500, {"detail": "x"}) == "HTTP 500"
    assert error_message(200, {"error": {"message": "x"}}) is None


def test_the_vendored_viewer_library_is_the_published_one() -> None:
    """htm's standalone build (Preact inside) as npm publishes htm@3.1.1, checked byte for byte."""
    manifest = json.loads((VIEWER / "vendor" / "manifest.json").read_text())
    for name, entry in manifest.items():
        digest = hashlib.sha256((VIEWER / "vendor" / name).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{name} differs from {entry['package']}'s {entry['file']}"
        for license_file in entry["licenses"]:
            assert (VIEWER / "vendor" / license_file.split()[0]).is_file()
