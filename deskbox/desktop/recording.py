"""Screen recording: ffmpeg's x11grab, one recording at a time, that survives its ffmpeg.

Each ffmpeg run writes one segment. MP4 segments are fragmented (a moov box up front,
a fragment per keyframe), so a segment whose ffmpeg was killed is still playable up to
its last fragment. When ffmpeg dies mid-recording, a new one starts into the next
segment; stopping joins the segments into one file without re-encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import ConflictError, DesktopUnavailableError, InvalidActionError, StorageFullError

RecordingFormat = Literal["mp4", "webm"]
MAX_BYTES = 4 * 1024**3
"""A recording stops itself at this size (its file is kept)."""
MIN_FREE_BYTES = 64 * 1024**2
"""A recording does not start with less disk than this left."""
MAX_RESTARTS = 20
STOP_GRACE = 10.0
WATCH_INTERVAL = 0.5
KEYFRAME_SECONDS = 1


@dataclass
class RecordingState:
    fps: int
    format: RecordingFormat
    size: tuple[int, int]
    """The output's size in pixels."""
    started_at: float
    segments: list[Path] = field(default_factory=list)
    restarts: int = 0
    error: str | None = None
    """Why the recording stopped by itself (size limit, ffmpeg failing), if it did."""
    stopped_at: float | None = None

    @property
    def bytes(self) -> int:
        return sum(segment.stat().st_size for segment in self.segments if segment.exists())


class Recorder:
    def __init__(self, display: str, folder: Path) -> None:
        self.display = display
        self.folder = folder
        self.state: RecordingState | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._screen: tuple[int, int] = (0, 0)
        self._lock = asyncio.Lock()

    @property
    def recording(self) -> bool:
        return self.state is not None and self.state.stopped_at is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def start(
        self, screen: tuple[int, int], fps: int, format: RecordingFormat, size: tuple[int, int] | None
    ) -> RecordingState:
        async with self._lock:
            if self.recording:
                raise ConflictError("a recording is already running: stop it first")
            if shutil.which("ffmpeg") is None:
                raise DesktopUnavailableError("ffmpeg is not installed on this desktop")
            await asyncio.to_thread(self._clear)
            if shutil.disk_usage(self.folder).free < MIN_FREE_BYTES:
                raise StorageFullError(f"less than {MIN_FREE_BYTES // 2**20} MiB free for a recording")
            output = size or screen
            if output[0] % 2 or output[1] % 2:
                raise InvalidActionError.at(
                    ("body", "width"), "width and height must be even for the video codec"
                )
            self._screen = screen
            self.state = RecordingState(fps=fps, format=format, size=output, started_at=time.time())
            await self._next_segment()
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
            return self.state

    async def stop(self) -> Path:
        """End the recording and join its segments into one file."""
        async with self._lock:
            state = self.state
            if state is None:
                raise ConflictError("no recording is running: start one first")
            if state.stopped_at is None:
                state.stopped_at = time.time()
                await self._end_watch()
                await self._end_process()
            joined = self.folder / f"recording.{state.format}"
            if not joined.exists():
                await self._join([s for s in state.segments if s.exists() and s.stat().st_size > 0], joined)
            return joined

    async def close(self) -> None:
        await self._end_watch()
        await self._end_process()

    # ---- segments -----------------------------------------------------------------------

    async def _next_segment(self) -> None:
        state = self.state
        assert state is not None
        segment = self.folder / f"segment-{len(state.segments):03d}.{state.format}"
        state.segments.append(segment)
        width, height = self._screen
        argv = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "x11grab", "-draw_mouse", "1", "-framerate", str(state.fps),
            "-video_size", f"{width}x{height}", "-i", f"{self.display}+0,0",
        ]  # fmt: skip
        if state.size != self._screen:
            argv += ["-vf", f"scale={state.size[0]}:{state.size[1]}"]
        argv += ["-g", str(state.fps * KEYFRAME_SECONDS), *_codec(state.format), str(segment)]
        env = {**os.environ, "DISPLAY": self.display}
        env.pop("DESKBOX_TOKEN", None)
        self._process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )

    async def _watch(self) -> None:
        """Restart a dead ffmpeg into a new segment; stop at the size limit."""
        state = self.state
        assert state is not None
        while state.stopped_at is None:
            process = self._process
            assert process is not None
            try:
                await asyncio.wait_for(process.wait(), WATCH_INTERVAL)
            except TimeoutError:
                if state.bytes > MAX_BYTES:
                    state.error = f"stopped at the size limit ({MAX_BYTES // 2**20} MiB)"
                    break
                continue
            why = (await process.stderr.read()).decode(errors="replace").strip() if process.stderr else ""
            if shutil.disk_usage(self.folder).free < MIN_FREE_BYTES:
                state.error = "stopped: the disk is full"
                break
            if state.restarts >= MAX_RESTARTS:
                state.error = f"ffmpeg kept failing ({why.splitlines()[-1] if why else process.returncode})"
                break
            state.restarts += 1
            await self._next_segment()
        if state.stopped_at is None:
            state.stopped_at = time.time()
            await self._end_process()

    async def _end_watch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _end_process(self) -> None:
        """SIGINT, as Ctrl+C: ffmpeg writes out what it has; killed if it does not end."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def _join(self, written: list[Path], joined: Path) -> None:
        # A segment whose ffmpeg died before its first frame reached the disk is left out.
        segments = [segment for segment in written if await _playable(segment)]
        if not segments:
            raise DesktopUnavailableError("the recording has no frames: ffmpeg never wrote any")
        if len(segments) == 1:
            segments[0].rename(joined)
            return
        listing = self.folder / "segments.txt"
        listing.write_text("".join(f"file '{segment.name}'\n" for segment in segments))
        process = await asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(joined),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, error = await process.communicate()
        if process.returncode != 0:
            joined.unlink(missing_ok=True)
            raise DesktopUnavailableError(
                f"joining the recording's segments failed: {error.decode().strip()}"
            )

    def _clear(self) -> None:
        """The last recording's files go when a new one starts."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for entry in self.folder.iterdir():
            if entry.is_file():
                entry.unlink()


async def _playable(segment: Path) -> bool:
    if shutil.which("ffprobe") is None:
        return True
    process = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(segment),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode == 0 and bool(output.strip())


def _codec(format: RecordingFormat) -> list[str]:
    if format == "webm":
        return [
            "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M",
            "-flush_packets", "1", "-cluster_time_limit", "1000", "-f", "webm",
        ]  # fmt: skip
    # Fragmented: playable up to the last fragment even when ffmpeg is killed.
    return [
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-crf", "28",
        "-pix_fmt", "yuv420p", "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
        "-flush_packets", "1", "-f", "mp4",
    ]  # fmt: skip
