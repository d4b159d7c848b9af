"""Screen recording on a real X display, checked with ffprobe and the recorded pixels."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from Xlib import display as xdisplay

from deskbox import errors
from deskbox.client import AsyncSandbox
from deskbox.desktop import Desktop
from deskbox.desktop.recording import Recorder
from deskbox.errors import ConflictError
from tests.helpers import eventually

pytestmark = pytest.mark.integration
FPS = 10
SQUARE = 80


class MovingSquare:
    """A red window that moves right across the screen until stopped."""

    def __init__(self, display: str) -> None:
        self._conn = xdisplay.Display(display)
        screen = self._conn.screen()
        red = screen.default_colormap.alloc_color(65535, 0, 0).pixel
        self.window = screen.root.create_window(
            0, 300, SQUARE, SQUARE, 0, screen.root_depth, background_pixel=red, override_redirect=True
        )
        self.window.map()
        self._conn.sync()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._move, daemon=True)
        self._thread.start()

    def _move(self) -> None:
        x = 0
        while not self._stop.wait(0.05):
            x = (x + 10) % 1000
            self.window.configure(x=x)
            self._conn.sync()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.window.destroy()
        self._conn.close()


@pytest.fixture
def square(display: str) -> Iterator[MovingSquare]:
    moving = MovingSquare(display)
    yield moving
    moving.close()


def probe(path: Path) -> dict[str, float]:
    answer = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=width,height,nb_read_frames:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(answer.stdout)
    stream = data["streams"][0]
    return {
        "width": stream["width"],
        "height": stream["height"],
        "frames": int(stream["nb_read_frames"]),
        "duration": float(data["format"]["duration"]),
    }


def square_x(video: Path, at: float, folder: Path) -> int:
    """Where the red square is in the recorded frame at ``at`` seconds."""
    frame = folder / f"frame-{at}.png"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", str(at), "-i", str(video), "-frames:v", "1", str(frame)],
        check=True,
    )
    image = Image.open(frame).convert("RGB")
    row = [image.getpixel((x, 300 + SQUARE // 2)) for x in range(image.width)]
    reds = [x for x, (r, g, b) in enumerate(row) if r > 200 and g < 60 and b < 60]
    assert reds, f"no red square in the frame at {at} s"
    return reds[0]


async def record(client: httpx.AsyncClient, seconds: float, path: Path) -> httpx.Response:
    started = await client.post("/recording/start", json={"fps": FPS})
    assert started.status_code == 200, started.text
    await asyncio.sleep(seconds)  # the length of the recording is what is tested
    stopped = await client.post("/recording/stop")
    assert stopped.status_code == 200, stopped.text
    path.write_bytes(stopped.content)
    return stopped


async def test_five_seconds_of_a_moving_window(
    client: httpx.AsyncClient, square: MovingSquare, tmp_path: Path
) -> None:
    video = tmp_path / "five.mp4"
    stopped = await record(client, 5.0, video)
    assert stopped.headers["content-type"] == "video/mp4"
    found = probe(video)
    width, height = (await client.get("/screen")).json().values()
    assert (found["width"], found["height"]) == (width, height)
    assert abs(found["duration"] - 5.0) <= 0.5, found
    assert abs(found["frames"] - 5 * FPS) <= 5, found
    assert square_x(video, 0.5, tmp_path) != square_x(video, 4.0, tmp_path)  # it moved on the video
    status = (await client.get("/recording")).json()
    assert (status["recording"], status["segments"], status["restarts"]) == (False, 1, 0)


async def test_a_killed_ffmpeg_gives_one_playable_file(
    client: httpx.AsyncClient, desktop: Desktop, square: MovingSquare, tmp_path: Path
) -> None:
    assert (await client.post("/recording/start", json={"fps": FPS})).status_code == 200

    async def written() -> int:
        return int((await client.get("/recording")).json()["bytes"])

    await eventually(written, lambda size: size > 0, timeout=10)
    await asyncio.sleep(1.5)  # a second and a half in the first segment
    first = desktop.recorder.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    async def restarted() -> dict[str, int]:
        return dict((await client.get("/recording")).json())

    await eventually(restarted, lambda s: s["restarts"] == 1 and desktop.recorder.pid not in (None, first))
    await asyncio.sleep(1.5)
    stopped = await client.post("/recording/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.headers["x-deskbox-segments"] == "2"
    video = tmp_path / "joined.mp4"
    video.write_bytes(stopped.content)
    found = probe(video)
    assert 2.0 <= found["duration"] <= 4.5, found
    assert found["frames"] >= 2 * FPS, found


async def test_bad_and_conflicting_requests(client: httpx.AsyncClient, display: str, tmp_path: Path) -> None:
    with pytest.raises(ConflictError, match="no recording is running"):
        await Recorder(display, tmp_path / "never").stop()
    bad = [({"fps": 0}, "fps"), ({"width": 640}, "height"), ({"width": 641, "height": 480}, "width")]
    for body, field in [*bad, ({"format": "avi"}, "format")]:
        answer = await client.post("/recording/start", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["details"][0]["loc"][-1] == field, answer.text
    assert (
        await client.post("/recording/start", json={"fps": 5, "width": 640, "height": 400})
    ).status_code == 200
    again = await client.post("/recording/start", json={})
    assert again.status_code == 409 and "already running" in again.json()["error"]["message"]

    async def written() -> int:
        return int((await client.get("/recording")).json()["bytes"])

    await eventually(written, lambda size: size > 0, timeout=10)
    small = await client.post("/recording/stop")
    assert small.status_code == 200
    video = tmp_path / "small.mp4"
    video.write_bytes(small.content)
    assert (probe(video)["width"], probe(video)["height"]) == (640, 400)


async def test_the_sdk_records_into_a_file(sandbox: AsyncSandbox, tmp_path: Path) -> None:
    status = await sandbox.recording.start(fps=5, format="webm")
    assert status.recording and status.format == "webm"
    await eventually(sandbox.recording.status, lambda s: s.bytes > 0, timeout=10)
    video = await sandbox.recording.stop(tmp_path / "sdk.webm")
    found = probe(video)
    assert (found["width"], found["height"]) == await sandbox.get_screen_size()
    assert not (await sandbox.recording.status()).recording
    with pytest.raises(errors.InvalidActionError, match="fps"):
        await sandbox.recording.start(fps=0)
