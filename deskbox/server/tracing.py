"""The action trace: every request that reaches the server, with the screen around it.

While a trace runs, each action, command and file operation becomes a step: its request,
its answer or error, how long it took and where that time went, and the screen before
and after it. Pictures are taken only when the screen changed (the X server's DAMAGE
extension says so for free), grabbed in the request (a fraction of a millisecond) and
encoded to JPEG off it. The picture after a step waits for the screen to settle, in the
background; a step that starts first takes that picture itself, as its own "before".

Everything goes into one zip file as it happens (``deskbox.trace.archive``), and into
memory for the live viewer, which long-polls :meth:`Tracer.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..desktop import Desktop
from ..desktop.capture import Frame, encode_frame
from ..errors import ConflictError, DeskboxError, NotFoundError, StorageFullError, TraceFileError
from ..timing import StepClock
from ..trace.archive import TraceWriter
from ..trace.bodies import error_message
from ..trace.model import (
    StepKind,
    StepTiming,
    TraceEvents,
    TraceFrame,
    TraceMeta,
    TraceNote,
    TraceNoteRequest,
    TraceStartRequest,
    TraceStatus,
    TraceStep,
)

log = logging.getLogger("deskbox.server")

AFTER_QUIET = 0.15
"""Seconds the screen must stay unchanged before the picture after a step is taken."""
AFTER_LONGEST = 2.0
"""The picture after a step is taken at the latest this long after it (an animation)."""
QUIET_POLL = 0.02
MAX_TRACE_BYTES = 2 * 1024**3
"""A trace stops itself at this size; its file keeps everything up to there."""
MIN_FREE_BYTES = 64 * 1024**2
"""A trace does not start with less disk than this left."""
KEPT_IN_MEMORY = 10_000
"""Events the live view can read from memory; older ones are in the file."""
UNTRACED_PREFIXES = ("/trace", "/health", "/viewer", "/docs", "/openapi.json", "/cdp/")
UNTRACED = frozenset({("GET", "/cursor"), ("GET", "/screen"), ("GET", "/info")})
"""Reads that change nothing and show nothing: the pointer's place, the screen's size."""


def traced(method: str, path: str) -> bool:
    return (method, path) not in UNTRACED and not path.startswith(UNTRACED_PREFIXES)


def category(method: str, path: str, body: Any) -> StepKind:
    if path == "/actions":
        single = isinstance(body, dict) and body.get("type") == "screenshot"
        return "screenshot" if single else "action"
    if path in ("/screenshot", "/osworld/screenshot"):
        return "screenshot"
    if path.startswith(("/shell", "/processes", "/osworld/execute", "/osworld/run_", "/osworld/setup/exec")):
        return "command"
    if path.startswith(("/files", "/osworld/file", "/osworld/setup/upload", "/osworld/list_directory")):
        return "file"
    return "other"


@dataclass
class OpenStep:
    """A step that has begun and not yet answered."""

    seq: int
    index: int
    at: float
    started: float
    method: str
    path: str
    query: dict[str, Any]
    channel: str
    before: int | None
    pointer: tuple[int, int] | None
    note: int | None


@dataclass
class _Run:
    """One trace, from start to stop."""

    writer: TraceWriter
    meta: TraceMeta
    options: TraceStartRequest
    events: list[TraceStep | TraceFrame | TraceNote] = field(default_factory=list)
    seq: int = 0
    steps: int = 0
    frames: int = 0
    notes: int = 0
    note: int | None = None
    frame_version: int = -1
    last_frame: int | None = None
    last_pixels: bytes | bytearray = b""
    """The last frame's raw pixels, to keep no picture twice."""
    storing: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    after: asyncio.Task[None] | None = None
    stopped: bool = False
    handed_over: bool = False
    """``stop`` has ended it and answered with its file."""
    error: str | None = None
    """Why the trace stopped by itself (the disk, the size limit), if it did."""
    dropped: int = 0
    """Events no longer held in memory (the oldest, past KEPT_IN_MEMORY)."""

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


class Tracer:
    def __init__(self, desktop: Desktop, folder: Path) -> None:
        self.desktop = desktop
        self.folder = folder
        self._run: _Run | None = None
        self._capturing = asyncio.Lock()
        self._published = asyncio.Condition()

    @property
    def active(self) -> bool:
        return self._run is not None and not self._run.stopped

    # ---- start and stop -----------------------------------------------------------------

    async def start(self, options: TraceStartRequest) -> TraceStatus:
        if self.active:
            raise ConflictError("a trace is already running: stop it first")
        previous = self._run.writer.path if self._run is not None else None
        await self.close()
        if previous is not None:
            previous.unlink(missing_ok=True)  # a sandbox keeps its last trace, not all of them
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if shutil.disk_usage(self.folder).free < MIN_FREE_BYTES:
            raise StorageFullError(f"less than {MIN_FREE_BYTES // 2**20} MiB free for a trace")
        width, height = await self.desktop.screen_size()
        meta = TraceMeta(
            started_at=time.time(),
            screen_width=width,
            screen_height=height,
            frame_width=min(options.frame_width, width),
            title=options.title,
            deskbox=__version__,
        )
        name = (
            time.strftime("trace-%Y%m%d-%H%M%S-", time.gmtime(meta.started_at))
            + secrets.token_hex(3)
            + ".zip"
        )
        writer = await asyncio.to_thread(TraceWriter, self.folder / name, meta)
        await asyncio.to_thread(self.desktop.changes.start)
        self._run = _Run(writer=writer, meta=meta, options=options)
        await self._capture(self._run)  # the screen as the trace begins
        return self.status()

    async def stop(self) -> Path:
        """End the trace: the last step's picture after, then the file's table of contents."""
        run = self._run
        if run is None or run.handed_over:
            raise ConflictError("no trace is running: start one first")
        run.handed_over = True
        if run.stopped:  # it stopped itself: what it has is still the caller's
            await self._flush(run)
            await asyncio.to_thread(run.writer.close)
            await asyncio.to_thread(self.desktop.changes.stop)
            return run.writer.path
        after = run.after
        if after is not None:
            with contextlib.suppress(Exception):
                await after
        run.stopped = True
        await self._flush(run)
        await asyncio.to_thread(run.writer.close)
        await asyncio.to_thread(self.desktop.changes.stop)
        async with self._published:
            self._published.notify_all()
        return run.writer.path

    async def close(self) -> None:
        """Drop the last trace (the server is going away, or a new trace starts)."""
        run, self._run = self._run, None
        if run is None:
            return
        if run.after is not None:
            run.after.cancel()
        await self._flush(run)
        await asyncio.to_thread(run.writer.close)
        await asyncio.to_thread(self.desktop.changes.stop)

    def status(self) -> TraceStatus:
        run = self._run
        if run is None:
            return TraceStatus(tracing=False)
        return TraceStatus(
            tracing=not run.stopped,
            started_at=run.meta.started_at,
            steps=run.steps,
            frames=run.frames,
            notes=run.notes,
            bytes=run.writer.size,
            title=run.meta.title,
            error=run.error,
        )

    # ---- steps --------------------------------------------------------------------------

    async def begin(self, method: str, path: str, query: dict[str, Any], channel: str) -> OpenStep | None:
        run = self._run
        if run is None or run.stopped:
            return None
        if run.after is not None and not run.after.done():
            run.after.cancel()  # this step's own picture before serves as the last one's after
        before = await self._capture(run)
        pointer = None
        if path == "/actions":
            with contextlib.suppress(DeskboxError):
                pointer = await self.desktop.cursor_position()
        run.steps += 1
        return OpenStep(
            seq=run.next_seq(),
            index=run.steps,
            at=time.time(),
            started=time.perf_counter(),
            method=method,
            path=path,
            query=query,
            channel=channel,
            before=before,
            pointer=pointer,
            note=run.note,
        )

    async def finish(
        self, step: OpenStep, status: int, request: Any, response: Any, clock: StepClock
    ) -> None:
        run = self._run
        if run is None or run.stopped:
            return
        total = (time.perf_counter() - step.started) * 1000
        parts = {"action": clock.action * 1000, "settle": clock.settle * 1000, "encode": clock.encode * 1000}
        event = TraceStep(
            seq=step.seq,
            index=step.index,
            at=step.at,
            method=step.method,
            path=step.path,
            query=step.query,
            channel="socket" if step.channel == "socket" else "http",
            category=category(step.method, step.path, request),
            request=request,
            status=status,
            response=response,
            error=error_message(status, response),
            timing=StepTiming(
                total=round(total, 3),
                **{name: round(value, 3) for name, value in parts.items()},
                rest=round(max(total - sum(parts.values()), 0.0), 3),
            ),
            pointer=step.pointer,
            note=step.note,
            before=step.before,
        )
        if self._write(run, event):
            await self._publish(run, event)
            run.after = asyncio.get_running_loop().create_task(self._capture_after(run))

    async def note(self, request: TraceNoteRequest) -> TraceNote:
        run = self._run
        if run is None or run.stopped:
            raise ConflictError("no trace is running: start one to record notes")
        event = TraceNote(
            seq=run.next_seq(), at=time.time(), source=request.source, call=request.call, text=request.text
        )
        if not self._write(run, event):
            raise StorageFullError(f"the trace could not record the note: {run.error}")
        run.note = event.seq
        run.notes += 1
        await self._publish(run, event)
        return event

    # ---- the live view ------------------------------------------------------------------

    async def events(self, after: int, wait: float) -> TraceEvents:
        """The events published after the first ``after``, waiting up to ``wait`` seconds
        for one when there are none yet."""
        run = self._run
        if run is None:
            return TraceEvents()
        if after >= run.dropped + len(run.events) and not run.stopped and wait > 0:
            async with self._published:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._published.wait_for(
                            lambda: run.dropped + len(run.events) > after or run.stopped
                        ),
                        wait,
                    )
        published = run.dropped + len(run.events)
        return TraceEvents(
            meta=run.meta,
            events=run.events[max(after - run.dropped, 0) :],
            last=published,
            tracing=not run.stopped,
        )

    async def frame(self, seq: int) -> bytes:
        run = self._run
        if run is None:
            raise NotFoundError("no trace has been recorded")
        storing = run.storing.get(seq)
        if storing is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(storing)
        picture = await asyncio.to_thread(run.writer.frame, seq)
        if picture is None:
            raise NotFoundError(f"the trace has no frame {seq}")
        return picture

    # ---- pictures -----------------------------------------------------------------------

    async def _capture(self, run: _Run) -> int | None:
        """The frame showing the screen now: the last one if nothing changed since."""
        async with self._capturing:
            version = await asyncio.to_thread(self.desktop.changes.version)
            if version == run.frame_version:
                return run.last_frame
            try:
                grabbed = await self.desktop.grab()
            except DeskboxError as exc:
                log.warning("trace: no picture of the screen: %s", exc)
                return run.last_frame
            run.frame_version = version
            if run.last_frame is not None and grabbed.bgra == run.last_pixels:
                # Reported as a change, and the same pixels: drawn over with what was there
                # (a caret blinking back), or one notification counted twice.
                return run.last_frame
            run.last_pixels = grabbed.bgra
            seq = run.next_seq()
            run.last_frame = seq
            task = asyncio.get_running_loop().create_task(self._store(run, seq, time.time(), grabbed))
            run.storing[seq] = task
            task.add_done_callback(lambda _: run.storing.pop(seq, None))
            return seq

    async def _store(self, run: _Run, seq: int, at: float, grabbed: Frame) -> None:
        width = run.meta.frame_width
        size = (width, round(grabbed.height * width / grabbed.width)) if grabbed.width > width else None

        def encode_and_write() -> TraceFrame:
            encoded = encode_frame(grabbed, "jpeg", run.options.quality, size)
            frame = TraceFrame(
                seq=seq, at=at, width=encoded.width, height=encoded.height, bytes=len(encoded.data)
            )
            run.writer.add_frame(frame, encoded.data)
            return frame

        try:
            frame = await asyncio.to_thread(encode_and_write)
        except OSError as exc:
            self._stopped_by(run, exc)
            return
        except Exception as exc:  # a picture lost is logged; the trace goes on
            log.warning("trace: frame %d not kept: %s", seq, exc)
            return
        run.frames += 1
        await self._publish(run, frame)

    async def _capture_after(self, run: _Run) -> None:
        deadline = time.monotonic() + AFTER_LONGEST
        changes = self.desktop.changes
        await asyncio.sleep(AFTER_QUIET)
        while changes.quiet_for() < AFTER_QUIET and time.monotonic() < deadline:
            await asyncio.sleep(QUIET_POLL)
        if not run.stopped:
            await self._capture(run)

    def _write(self, run: _Run, event: TraceStep | TraceNote) -> bool:
        """Append an event; a trace that cannot (a full disk, its size limit) stops itself,
        keeping its file, and the request it was recording is answered all the same."""
        if run.stopped:
            return False
        try:
            run.writer.add(event)
        except (OSError, TraceFileError) as exc:
            self._stopped_by(run, exc)
            return False
        if run.writer.size > MAX_TRACE_BYTES:
            self._stopped_by(run, f"stopped at the size limit ({MAX_TRACE_BYTES // 2**20} MiB)")
        return True

    def _stopped_by(self, run: _Run, why: object) -> None:
        if run.stopped:
            return
        run.stopped = True
        run.error = why if isinstance(why, str) else f"stopped: {why}"
        log.warning("trace: %s", run.error)

    async def _flush(self, run: _Run) -> None:
        if run.storing:
            await asyncio.gather(*run.storing.values(), return_exceptions=True)

    async def _publish(self, run: _Run, event: TraceStep | TraceFrame | TraceNote) -> None:
        run.events.append(event)
        if len(run.events) > KEPT_IN_MEMORY:
            excess = len(run.events) - KEPT_IN_MEMORY
            del run.events[:excess]
            run.dropped += excess
        async with self._published:
            self._published.notify_all()
