"""What e2b's SDK promises beyond E2B's own tests, checked by calling it as E2B code does:
return types, exceptions with their fields, commands by pid, files as e2b shapes them,
watching a folder, the pointer in screenshots and e2b's key names."""

from __future__ import annotations

import io
import threading
import time
from datetime import datetime

import httpx
import pytest
from PIL import Image

from deskbox import errors
from deskbox.e2b_desktop import (
    CommandExitException,
    EntryInfo,
    FileNotFoundException,
    FilesystemEventType,
    FileType,
    InvalidArgumentException,
    Sandbox,
    TimeoutException,
    WriteInfo,
)


def test_commands_as_e2b_runs_them(sandbox: Sandbox) -> None:
    result = sandbox.commands.run("echo out; echo err >&2")
    assert (result.stdout, result.stderr, result.exit_code, result.error) == ("out\n", "err\n", 0, None)

    with pytest.raises(CommandExitException) as failed:
        sandbox.commands.run("echo partial; echo bad >&2; exit 3")
    assert (failed.value.exit_code, failed.value.stdout, failed.value.stderr) == (3, "partial\n", "bad\n")
    assert isinstance(failed.value, errors.DeskboxError)

    with pytest.raises(TimeoutException):
        sandbox.commands.run("sleep 5", timeout=1)
    assert sandbox.commands.run("sleep 1.2; echo done", timeout=0).stdout == "done\n"  # 0: no limit

    lines: list[str] = []
    sandbox.commands.run("printf 'a\\nb\\n'", on_stdout=lines.append)
    assert "".join(lines) == "a\nb\n"

    with pytest.raises(InvalidArgumentException, match="root"):
        sandbox.commands.run("id", user="root")


def test_background_commands_by_pid(sandbox: Sandbox) -> None:
    cat = sandbox.commands.run("cat", background=True, stdin=True)
    assert cat.pid in [p.pid for p in sandbox.commands.list()]
    sandbox.commands.send_stdin(cat.pid, "typed in\n")
    sandbox.commands.close_stdin(cat.pid)
    assert cat.wait().stdout == "typed in\n"

    sleeper = sandbox.commands.run("sleep 60", background=True)
    again = sandbox.commands.connect(sleeper.pid)
    assert again.pid == sleeper.pid
    assert sandbox.commands.kill(sleeper.pid) is True
    assert sandbox.commands.kill(sleeper.pid) is False  # already gone
    with pytest.raises(CommandExitException):
        again.wait()

    ticker = sandbox.commands.run("for i in 1 2 3; do echo tick$i; sleep 0.1; done", background=True)
    ticks = [stdout for stdout, _, _ in ticker if stdout]
    assert "".join(ticks) == "tick1\ntick2\ntick3\n"


def test_files_as_e2b_shapes_them(sandbox: Sandbox) -> None:
    written = sandbox.files.write("/home/user/e2b/bytes.bin", io.BytesIO(b"\x00\x01raw"))
    assert isinstance(written, WriteInfo) and written.type is FileType.FILE
    sandbox.files.write("/home/user/e2b/text.txt", io.StringIO("from a text file"))
    assert sandbox.files.read("/home/user/e2b/text.txt") == "from a text file"
    raw = sandbox.files.read("/home/user/e2b/bytes.bin", format="bytes")
    assert isinstance(raw, bytearray) and raw == b"\x00\x01raw"
    assert b"".join(sandbox.files.read("/home/user/e2b/bytes.bin", format="stream")) == b"\x00\x01raw"

    assert sandbox.files.make_dir("/home/user/e2b/made") is True
    assert sandbox.files.make_dir("/home/user/e2b/made") is False

    infos = sandbox.files.write_files(
        [{"path": "/home/user/e2b/one", "data": "1"}, {"path": "/home/user/e2b/two", "data": b"2"}]
    )
    assert [i.name for i in infos] == ["one", "two"]

    info = sandbox.files.get_info("/home/user/e2b/one")
    assert isinstance(info, EntryInfo) and info.type is FileType.FILE
    assert (info.owner, info.group, info.size) == ("user", "user", 1)
    assert info.permissions == "-rw-r--r--" and info.mode == 0o644
    assert isinstance(info.modified_time, datetime)
    with pytest.raises(FileNotFoundException, match="no-such"):
        sandbox.files.read("/home/user/e2b/no-such")
    with pytest.raises(FileNotFoundException):
        b"".join(sandbox.files.read("/home/user/e2b/no-such", format="stream"))
    kinds = {e.name: e.type for e in sandbox.files.list("/home/user/e2b")}
    assert kinds["made"] is FileType.DIR and kinds["one"] is FileType.FILE


def test_watching_a_folder(sandbox: Sandbox) -> None:
    sandbox.files.make_dir("/home/user/watched")
    handle = sandbox.files.watch_dir("/home/user/watched", include_entry=True)
    sandbox.commands.run("echo hi > /home/user/watched/new.txt")
    seen = []
    deadline = time.monotonic() + 15
    while not any(e.type is FilesystemEventType.CREATE and e.name == "new.txt" for e in seen):
        assert time.monotonic() < deadline, seen
        seen += handle.get_new_events()
        time.sleep(0.1)
    created = next(e for e in seen if e.type is FilesystemEventType.CREATE)
    assert created.entry is not None and created.entry.name == "new.txt"
    handle.stop()


def test_lifecycle_answers_as_e2bs(sandbox: Sandbox) -> None:
    assert sandbox.is_running() is True
    assert sandbox.get_info().sandbox_id == sandbox.sandbox_id
    listed = Sandbox.list()
    assert sandbox.sandbox_id in [s.sandbox_id for s in listed.next_items()]
    assert listed.has_next is False

    sandbox.set_timeout(0)  # e2b: no limit; here the longest a sandbox can have, 30 days
    end = sandbox.get_info().end_at
    assert end is not None and (end - datetime.now(end.tzinfo)).days >= 29
    sandbox.set_timeout(60)
    end = sandbox.get_info().end_at
    assert end is not None and (end - datetime.now(end.tzinfo)).total_seconds() < 61


def test_a_killed_sandbox_says_so() -> None:
    box = Sandbox.create(timeout=60)
    assert box.kill() is True
    assert box.is_running() is False
    assert box.kill() is False


def test_screenshots_show_the_pointer_and_e2b_key_names_press(sandbox: Sandbox) -> None:
    sandbox.move_mouse(300, 300)
    with_pointer = Image.open(io.BytesIO(sandbox.screenshot())).convert("RGB")
    without = Image.open(io.BytesIO(sandbox._native.screenshot("png"))).convert("RGB")
    box = (290, 290, 320, 320)
    assert with_pointer.crop(box).tobytes() != without.crop(box).tobytes()
    for key in (
        "alt_left",
        "alt_right",
        "control_left",
        "control_right",
        "shift_left",
        "shift_right",
        "super_right",
        "meta",
        "break",
    ):
        sandbox.press(key)
    sandbox.press(["ctrl", "shift_left"])


def test_the_stream_url_is_reusable_and_stop_ends_it(sandbox: Sandbox) -> None:
    sandbox.stream.start(require_auth=True)
    with pytest.raises(RuntimeError, match="already running"):
        sandbox.stream.start()
    url = sandbox.stream.get_url(auto_connect=False, view_only=True, resize="remote")
    assert "link=" in url and "resize=remote" in url and "autoconnect=false" in url
    keyed = sandbox.stream.get_url(auth_key=sandbox.stream.get_auth_key())
    with httpx.Client() as browser:
        for _ in range(2):  # E2B's stream URL can be opened again and again
            for link in (url, keyed):
                assert browser.get(link).status_code == 303
        sandbox.stream.stop()
        assert browser.get(url).status_code == 401
        assert browser.get(keyed).status_code == 401
    with pytest.raises(RuntimeError, match="require_auth"):
        sandbox.stream.get_auth_key()


def test_a_thread_can_wait_on_a_command_while_another_types_into_it(sandbox: Sandbox) -> None:
    reader = sandbox.commands.run("head -n 1", background=True, stdin=True)
    result: list[str] = []
    waiting = threading.Thread(target=lambda: result.append(reader.wait().stdout))
    waiting.start()
    reader.send_stdin(b"a line\n")
    waiting.join(timeout=20)
    assert result == ["a line\n"]
