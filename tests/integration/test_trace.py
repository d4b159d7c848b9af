"""The action trace on a real desktop: `deskbox serve` on a display of its own records every
request (HTTP and the action socket), with pictures of the screen only when it changed,
the model's notes, and a file that survives the server being killed."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from Xlib import display as xdisplay

from deskbox import errors
from deskbox.client import AsyncSandbox
from deskbox.client._action_socket import ActionSocketTransport
from deskbox.desktop import Desktop
from deskbox.desktop.changes import ScreenChanges
from deskbox.server import Settings, create_app
from deskbox.trace import TraceFile
from harness.desktop_session import DesktopSession
from tests.helpers import deskbox_serve, eventually

pytestmark = pytest.mark.integration
TOKEN = "trace-test-token"
WIDTH, HEIGHT = 1024, 640


@pytest.fixture(scope="module")
def screen() -> Iterator[str]:
    with DesktopSession(width=WIDTH, height=HEIGHT, window_manager="openbox") as session:
        yield session.display


@pytest.fixture(scope="module")
def server(screen: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    runtime = tmp_path_factory.mktemp("runtime")
    with deskbox_serve(screen, TOKEN, env={"DESKBOX_RUNTIME_DIR": str(runtime)}) as (url, _):
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def api(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        yield http
        if (await http.get("/trace")).json()["tracing"]:
            await http.post("/trace/stop")


class Square:
    """An override-redirect window of one colour: a change of the screen the test controls."""

    def __init__(self, display: str, x: int, y: int, size: int, rgb: tuple[int, int, int]) -> None:
        self._conn = xdisplay.Display(display)
        screen = self._conn.screen()
        pixel = screen.default_colormap.alloc_color(*(c * 257 for c in rgb)).pixel
        self.window = screen.root.create_window(
            x, y, size, size, 0, screen.root_depth, background_pixel=pixel, override_redirect=True
        )
        self.window.map()
        self._conn.sync()

    def close(self) -> None:
        self.window.destroy()
        self._conn.sync()  # gone from the screen when this returns
        self._conn.close()


async def stop_into(api: httpx.AsyncClient, path: Path) -> TraceFile:
    answer = await api.post("/trace/stop")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    path.write_bytes(answer.content)
    return TraceFile(path)


async def test_every_request_is_a_step_over_http_and_the_socket(
    api: httpx.AsyncClient, server: str, tmp_path: Path
) -> None:
    started = await api.post("/trace/start", json={"title": "two channels", "frame_width": 512})
    assert started.status_code == 200 and started.json()["tracing"], started.text
    assert (await api.post("/actions", json={"type": "click", "x": 100, "y": 120})).status_code == 200
    async with httpx.AsyncClient(
        transport=ActionSocketTransport(), base_url=server, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as socket:
        moved = await socket.post("/actions", json={"type": "move", "x": 300, "y": 200})
        assert moved.status_code == 200
        shot = await socket.get("/screenshot", params={"format": "jpeg"})
        assert shot.status_code == 200
    ran = await api.post("/shell/run", json={"cmd": "echo traced"})
    assert ran.json()["stdout"] == "traced\n"
    written = await api.post("/files/write", json={"path": str(tmp_path / "a.txt"), "content": "hi"})
    assert written.status_code == 200, written.text
    off_screen = await api.post("/actions", json={"type": "click", "x": 5000, "y": 10})
    assert off_screen.status_code == 422
    async with httpx.AsyncClient(base_url=server) as anonymous:  # not traced: it reached nothing
        assert (await anonymous.get("/files/read", params={"path": "/etc/hostname"})).status_code == 401
    assert (await api.get("/cursor")).status_code == 200  # a read that shows nothing: not a step

    with await stop_into(api, tmp_path / "run.zip") as trace:
        steps = trace.steps
        assert trace.meta.title == "two channels" and (trace.meta.screen_width, trace.meta.frame_width) == (
            WIDTH,
            512,
        )
        assert [(s.method, s.path, s.channel, s.status) for s in steps] == [
            ("POST", "/actions", "http", 200),
            ("POST", "/actions", "socket", 200),
            ("GET", "/screenshot", "socket", 200),
            ("POST", "/shell/run", "http", 200),
            ("POST", "/files/write", "http", 200),
            ("POST", "/actions", "http", 422),
        ]
        click, move, screenshot, shell, write, failed = steps
        assert [s.category for s in steps] == ["action", "action", "screenshot", "command", "file", "action"]
        assert click.request == {"type": "click", "x": 100, "y": 120}
        assert click.response["results"][0]["type"] == "click"
        assert move.pointer == (100, 120)  # where it was when the move began
        assert screenshot.response == {"content_type": "image/jpeg", "bytes": len(shot.content)}
        assert screenshot.timing.encode > 0 and click.timing.action > 0
        for s in steps:
            parts = s.timing.action + s.timing.settle + s.timing.encode + s.timing.rest
            assert abs(parts - s.timing.total) < 0.05, s.timing
        assert shell.response["stdout"] == "traced\n" and write.request["content"] == "hi"
        assert failed.error is not None and "x" in failed.error
        first = trace.frame(steps[0].before or 0)
        assert first is not None and Image.open(io.BytesIO(first)).size == (512, 320)


def test_a_change_is_seen_as_soon_as_the_x_server_made_it(screen: str) -> None:
    """The notification of a drawing may still be in flight when the question comes; the
    fence makes the answer wait for it, every time."""
    changes = ScreenChanges(screen)
    assert changes.start()
    try:
        for i in range(40):
            before = changes.version()
            square = Square(screen, 10 + i, 10, 30, (0, 0, 255))
            shown = changes.version()
            square.close()
            gone = changes.version()
            assert before < shown < gone, (i, before, shown, gone)
        assert changes.version() == changes.version()  # nothing drawn: the same answer
    finally:
        changes.stop()
    assert not changes.watching and changes.version() != changes.version()


async def test_pictures_are_taken_only_when_the_screen_changed(
    api: httpx.AsyncClient, screen: str, tmp_path: Path
) -> None:
    assert (await api.post("/trace/start", json={})).status_code == 200
    for _ in range(6):  # nothing on the screen changes
        assert (await api.post("/actions", json={"type": "wait", "duration": 0})).status_code == 200
    square = await asyncio.to_thread(Square, screen, 400, 300, 120, (255, 0, 0))
    try:
        assert (await api.post("/actions", json={"type": "wait", "duration": 0})).status_code == 200
    finally:
        await asyncio.to_thread(square.close)
    assert (await api.post("/actions", json={"type": "wait", "duration": 0})).status_code == 200

    with await stop_into(api, tmp_path / "pictures.zip") as trace:
        steps = trace.steps
        quiet = {s.before for s in steps[:6]}
        assert len(quiet) == 1, [s.before for s in steps]
        shown, gone = steps[6], steps[7]
        assert shown.before not in quiet and gone.before not in (shown.before, *quiet)
        assert len(trace.frames) == 3
        picture = Image.open(io.BytesIO(trace.frame(shown.before or 0) or b"")).convert("RGB")
        scale = picture.width / WIDTH
        red = picture.getpixel((round(460 * scale), round(360 * scale)))
        assert red[0] > 200 and red[1] < 60 and red[2] < 60, red
        before = Image.open(io.BytesIO(trace.frame(steps[0].before or 0) or b"")).convert("RGB")
        assert before.getpixel((round(460 * scale), round(360 * scale)))[0] < 100


async def test_conflicts_and_bad_requests_are_clear(api: httpx.AsyncClient, server: str) -> None:
    assert (await api.post("/trace/stop")).status_code == 409
    note = await api.post("/trace/notes", json={"source": "test"})
    assert note.status_code == 409 and "no trace is running" in note.json()["error"]["message"]
    bad = await api.post("/trace/start", json={"frame_width": 10})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"][-1] == "frame_width"
    assert (await api.post("/trace/start", json={"colour": "red"})).status_code == 422
    assert (await api.post("/trace/start")).status_code == 200
    again = await api.post("/trace/start")
    assert again.status_code == 409 and "already running" in again.json()["error"]["message"]
    empty = await api.post("/trace/notes", json={"source": ""})
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["loc"][-1] == "source"
    assert (await api.get("/trace/frames/99999")).status_code == 404
    async with httpx.AsyncClient(base_url=server) as anonymous:
        for path in ("/trace/events", "/trace/frames/1", "/trace/live", "/trace/assets/app.js", "/trace"):
            assert (await anonymous.get(path)).status_code == 401, path
    async with httpx.AsyncClient(
        base_url=server, cookies={"deskbox_viewer": "full.99999999999.abc"}
    ) as forged:
        assert (await forged.get("/trace/events")).status_code == 401
    assert (await api.get("/trace/assets/nothing.js")).status_code == 404
    assert (await api.get("/trace/live", params={"vnc": "https://elsewhere.example/"})).status_code == 404


async def test_notes_and_the_live_long_poll(api: httpx.AsyncClient, server: str, tmp_path: Path) -> None:
    sandbox = await AsyncSandbox.connect(url=server, token=TOKEN)
    try:
        assert await sandbox.trace.note("test", text="nothing runs") is False
        await sandbox.trace.start(title="notes")
        await eventually(sandbox.trace.status, lambda status: status.frames == 1)  # the first picture
        known = (await api.get("/trace/events")).json()["last"]
        waiting = asyncio.create_task(api.get("/trace/events", params={"after": known, "wait": 20}))
        await asyncio.sleep(0.3)  # the poll is waiting on the server when the note arrives
        assert not waiting.done()
        assert await sandbox.trace.note("planner", call={"name": "click"}, text="I click the square") is True
        arrived = (await asyncio.wait_for(waiting, 10)).json()
        assert [e["kind"] for e in arrived["events"]] == ["note"] and arrived["tracing"]
        await sandbox.left_click(30, 30)
        status = await sandbox.trace.status()
        assert (status.steps, status.notes) == (1, 1)
        with TraceFile(await sandbox.trace.stop(tmp_path / "notes.zip")) as trace:
            (note,) = trace.notes
            assert (note.source, note.text, note.call) == ("planner", "I click the square", {"name": "click"})
            assert trace.steps[-1].note == note.seq
        assert await sandbox.trace.note("test") is False
        with pytest.raises(errors.InvalidActionError, match="frame_width"):
            await sandbox.trace.start(frame_width=1)
    finally:
        await sandbox.close()


def test_the_server_traces_from_its_start_and_a_killed_server_keeps_its_steps(
    screen: str, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    environment = {"DESKBOX_TRACE": "1", "DESKBOX_RUNTIME_DIR": str(runtime)}
    with deskbox_serve(screen, TOKEN, env=environment) as (url, proc):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers) as api:
            assert api.get("/trace").json()["tracing"] is True
            for x in (50, 60):
                assert api.post("/actions", json={"type": "click", "x": x, "y": 50}).status_code == 200
            assert api.post("/actions", json={"type": "key", "keys": "nosuchkey"}).status_code == 422
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown: the trace has no table of contents
        proc.wait()
    (written,) = (runtime / "traces").glob("trace-*.zip")
    with TraceFile(written) as trace:
        assert trace.recovered and trace.meta.title == "DESKBOX_TRACE"
        assert [(s.request["x"] if s.status == 200 else None, s.status) for s in trace.steps] == [
            (50, 200),
            (60, 200),
            (None, 422),
        ]
        assert trace.frames and trace.frame(trace.frames[0].seq) is not None


async def test_adapters_put_the_model_s_call_and_words_in_the_trace(server: str, tmp_path: Path) -> None:
    from deskbox.adapters.anthropic import ClaudeTools
    from deskbox.adapters.openai import OpenAIComputerTool

    sandbox = await AsyncSandbox.connect(url=server, token=TOKEN)
    try:
        await sandbox.trace.start(title="adapters")
        claude = ClaudeTools(sandbox, bash=False, screenshot_after_action=False)
        message = [
            {"type": "text", "text": "I will click the top left corner."},
            {"type": "tool_use", "id": "toolu_1", "name": "computer",
             "input": {"action": "left_click", "coordinate": [40, 40]}},
            {"type": "tool_use", "id": "toolu_2", "name": "computer",
             "input": {"action": "mouse_move", "coordinate": [80, 80]}},
        ]  # fmt: skip
        results = await claude.run(message)
        assert not any(result.get("is_error") for result in results), results
        click = {"type": "click", "button": "left", "x": 120, "y": 90}
        call = {"type": "computer_call", "id": "cu_1", "call_id": "call_1", "status": "completed",
                "pending_safety_checks": [], "actions": [click]}  # fmt: skip
        outputs = await OpenAIComputerTool(sandbox).execute(call, text="Now the next spot.")
        assert len(outputs) == 1
        with TraceFile(await sandbox.trace.stop(tmp_path / "adapters.zip")) as trace:
            notes = trace.notes
            assert [(n.source, n.text) for n in notes] == [
                ("anthropic", "I will click the top left corner."),
                ("anthropic", None),
                ("openai", "Now the next spot."),
            ]
            assert [n.call["id"] for n in notes] == ["toolu_1", "toolu_2", "cu_1"]
            by_note = {n.seq: [s for s in trace.steps if s.note == n.seq] for n in notes}

            def clicks(note: int) -> list[int]:
                bodies = [s.request for s in by_note[note] if s.path == "/actions"]
                actions = [a for b in bodies for a in (b["actions"] if b["type"] == "batch" else [b])]
                return [a["x"] for a in actions if a["type"] == "click"]

            assert clicks(notes[0].seq) == [40] and clicks(notes[2].seq) == [120]
    finally:
        await sandbox.close()


async def test_a_full_disk_stops_the_trace_not_the_sandbox(desktop: Desktop, tmp_path: Path) -> None:
    """Writing the trace fails (ENOSPC): the request it was recording is answered as ever,
    the trace stops itself and says why, and what it holds can still be downloaded."""
    app = create_app(Settings(token=TOKEN, display=desktop.display), desktop=desktop)
    tracer = app.state.tracer
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://deskbox.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as api:  # fmt: skip
        assert (await api.post("/trace/start")).status_code == 200
        assert (await api.post("/actions", json={"type": "move", "x": 10, "y": 10})).status_code == 200
        writer = tracer._run.writer

        def full(*_: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        writer.add = full
        moved = await api.post("/actions", json={"type": "move", "x": 20, "y": 20})
        assert moved.status_code == 200 and moved.json()["ok"]
        status = (await api.get("/trace")).json()
        assert status["tracing"] is False and "No space left" in status["error"]
        assert (await api.post("/trace/notes", json={"source": "x"})).status_code == 409
        kept = await api.post("/trace/stop")
        assert kept.status_code == 200
        (tmp_path / "kept.zip").write_bytes(kept.content)
        with TraceFile(tmp_path / "kept.zip") as trace:
            assert [s.request["x"] for s in trace.steps] == [10]
        assert (await api.post("/trace/stop")).status_code == 409
        assert (await api.post("/trace/start")).status_code == 200  # and a new one starts
        assert (await api.post("/trace/stop")).status_code == 200
