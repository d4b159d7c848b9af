"""Commands over HTTP: real processes, real exit codes, real files."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


async def run(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/shell/run", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_shell_string_output_and_exit_code(client: httpx.AsyncClient) -> None:
    result = await run(client, cmd="echo out; echo err >&2; exit 7")
    assert (result["stdout"], result["stderr"], result["exit_code"]) == ("out\n", "err\n", 7)
    assert result["timed_out"] is False and result["duration"] > 0


async def test_argv_is_not_shell_parsed(client: httpx.AsyncClient) -> None:
    result = await run(client, cmd=["printf", "%s|", "a b", "$HOME", "*"])
    assert result["stdout"] == "a b|$HOME|*|"


async def test_a_command_writes_a_file(client: httpx.AsyncClient, tmp_path: Path) -> None:
    target = tmp_path / "made-by-shell.txt"
    result = await run(client, cmd=f"echo 'written by deskbox' > {target}")
    assert result["exit_code"] == 0
    assert target.read_text() == "written by deskbox\n"


async def test_cwd_env_and_stdin(client: httpx.AsyncClient, tmp_path: Path) -> None:
    result = await run(
        client,
        cmd="pwd; echo $GREETING; cat",
        cwd=str(tmp_path),
        env={"GREETING": "héllo"},
        stdin="from stdin",
    )
    assert result["stdout"] == f"{tmp_path}\nhéllo\nfrom stdin"


async def test_commands_see_the_desktop_display(client: httpx.AsyncClient, display: str) -> None:
    assert (await run(client, cmd="echo $DISPLAY"))["stdout"] == f"{display}\n"


async def test_timeout_kills_the_whole_process_group(client: httpx.AsyncClient, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    result = await run(client, cmd=f"sleep 30 & echo $! > {pid_file}; echo started; wait", timeout=0.5)
    assert time.monotonic() - started < 5
    assert result["timed_out"] is True
    assert result["exit_code"] == 128 + 9
    assert result["stdout"] == "started\n"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        status = (
            Path(f"/proc/{child}/stat").read_text().split()[2] if Path(f"/proc/{child}").exists() else "X"
        )
        if status == "Z":
            break
        time.sleep(0.05)
    alive = Path(f"/proc/{child}").exists() and Path(f"/proc/{child}/stat").read_text().split()[2] != "Z"
    assert not alive, "the timed-out command's child survived"


async def test_a_backgrounded_grandchild_does_not_hang_the_call(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    result = await run(client, cmd="sleep 20 & echo done")
    assert result["stdout"] == "done\n"
    assert time.monotonic() - started < 5


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
async def test_run_as_another_user(client: httpx.AsyncClient) -> None:
    nobody = pwd.getpwnam("nobody")
    result = await run(client, cmd="id -u; echo $USER", user="nobody", cwd="/")
    assert result["stdout"] == f"{nobody.pw_uid}\nnobody\n"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"cmd": ""}, ["body", "cmd"]),
        ({"cmd": []}, ["body", "cmd"]),
        ({"cmd": ["/no/such/program"]}, ["body", "cmd"]),
        ({"cmd": "true", "cwd": "/no/such/dir"}, ["body", "cwd"]),
        ({"cmd": "true", "user": "no-such-user"}, ["body", "user"]),
        ({"cmd": "true", "timeout": -1}, ["body", "timeout"]),
        ({"cmd": "true", "env": {"A=B": "x"}}, ["body", "env"]),
        ({"command": "true"}, ["body", "command"]),
    ],
)
async def test_bad_commands_get_422(client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]) -> None:
    response = await client.post("/shell/run", json=body)
    assert response.status_code == 422, response.text
    assert loc in [d["loc"] for d in response.json()["error"]["details"]]


async def test_background_process_output_and_kill(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/processes", json={"cmd": "echo first; sleep 0.3; echo second; sleep 60", "timeout": None}
    )
    assert response.status_code == 201, response.text
    process = response.json()
    assert process["running"] is True
    listed = [p["id"] for p in (await client.get("/processes")).json()]
    assert process["id"] in listed

    deadline = time.monotonic() + 5
    seen, offset = "", 0
    while "second" not in seen and time.monotonic() < deadline:
        output = (
            await client.get(f"/processes/{process['id']}/output", params={"stdout_offset": offset})
        ).json()
        seen += output["stdout"]
        offset = output["stdout_offset"]
        await asyncio.sleep(0.02)  # a poller paces itself (in-process requests never yield)
    assert seen == "first\nsecond\n", "reading from the returned offsets gives each byte once"

    killed = (await client.post(f"/processes/{process['id']}/signal", json={"signal": "KILL"})).json()
    assert killed["running"] is False and killed["exit_code"] == 128 + 9
    assert (
        not Path(f"/proc/{process['pid']}").exists()
        or "Z" in Path(f"/proc/{process['pid']}/stat").read_text().split()[2]
    )

    assert (await client.delete(f"/processes/{process['id']}")).status_code == 204
    assert (await client.get(f"/processes/{process['id']}")).status_code == 404


async def test_unknown_process_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/processes/nope/output")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


def parse_sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_stream_delivers_output_as_it_happens(client: httpx.AsyncClient) -> None:
    body = {"cmd": "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; exit 3"}
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    async with client.stream("POST", "/shell/stream", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            arrivals.append((time.monotonic() - started, chunk))
    events = parse_sse(buffer)
    assert events[0][0] == "start"
    assert [e for e in events[1:] if e[0] != "start"] == [
        ("stdout", "one\n"),
        ("stderr", "two\n"),
        ("stdout", "three\n"),
        ("exit", {"exit_code": 3, "timed_out": False}),
    ]


async def read_until(
    client: httpx.AsyncClient, process_id: str, needle: str, offset: int = 0
) -> tuple[str, int]:
    deadline = time.monotonic() + 5
    seen = ""
    while needle not in seen and time.monotonic() < deadline:
        output = (
            await client.get(f"/processes/{process_id}/output", params={"stdout_offset": offset})
        ).json()
        seen += output["stdout"]
        offset = output["stdout_offset"]
        await asyncio.sleep(0.02)
    return seen, offset


async def test_open_stdin_feeds_a_running_process(client: httpx.AsyncClient) -> None:
    started = await client.post(
        "/processes",
        json={"cmd": ["bash", "--noprofile", "--norc", "-s"], "open_stdin": True, "timeout": None},
    )
    process_id = started.json()["id"]
    assert (
        await client.post(f"/processes/{process_id}/stdin", json={"data": "X=ünï; echo $X-1\n"})
    ).status_code == 204
    seen, offset = await read_until(client, process_id, "ünï-1")
    assert seen == "ünï-1\n"
    # The shell kept its state between writes: it is one process, not one per write.
    await client.post(f"/processes/{process_id}/stdin", json={"data": "echo $X-2\n"})
    seen, offset = await read_until(client, process_id, "-2", offset)
    assert seen == "ünï-2\n"
    # Closing the input is end-of-file: the shell ends by itself.
    assert (await client.post(f"/processes/{process_id}/stdin", json={"close": True})).status_code == 204
    ended = (await client.get(f"/processes/{process_id}/output", params={"wait": 5})).json()
    assert ended["running"] is False and ended["exit_code"] == 0
    late = await client.post(f"/processes/{process_id}/stdin", json={"data": "echo late\n"})
    assert late.status_code == 409 and "takes no input" in late.json()["error"]["message"]


async def test_stdin_is_refused_where_it_cannot_work(client: httpx.AsyncClient) -> None:
    closed = (await client.post("/processes", json={"cmd": "sleep 30", "timeout": 30})).json()
    refused = await client.post(f"/processes/{closed['id']}/stdin", json={"data": "x"})
    assert refused.status_code == 409 and "open_stdin" in refused.json()["error"]["message"]
    await client.post(f"/processes/{closed['id']}/signal", json={"signal": "KILL"})
    foreground = await client.post("/shell/run", json={"cmd": "cat", "open_stdin": True})
    assert foreground.status_code == 422
    assert ["body", "open_stdin"] in [d["loc"] for d in foreground.json()["error"]["details"]]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def wait_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        await asyncio.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


async def test_what_a_finished_command_left_running_ends_at_its_timeout(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pid_file = tmp_path / "left.pid"
    started = time.monotonic()
    result = await run(client, cmd=f"sleep 300 & echo $! > {pid_file}", timeout=2)
    assert result["exit_code"] == 0 and time.monotonic() - started < 1.5  # the call returned at once
    left = int(pid_file.read_text())
    assert alive(left)  # still running before the timeout
    assert await wait_gone([left]) == []
    assert time.monotonic() - started >= 1.9


async def test_a_kill_ends_every_process_the_command_started(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A tree of 63 processes, some moved into process groups of their own (job control),
    some forking while the kill runs: none is left."""
    pids = tmp_path / "pids"
    tree = (
        f"f() {{ echo $BASHPID >> {pids}; "
        "if [ $1 -gt 0 ]; then f $(($1-1)) & f $(($1-1)) & fi; sleep 300; }; "
        # `set -m` gives each background job a process group of its own, in the same session.
        f"set -m; f 5 & (while :; do sleep 30 & echo $! >> {pids}; sleep 0.01; done) & wait"
    )
    started = (await client.post("/processes", json={"cmd": ["bash", "-c", tree], "timeout": None})).json()
    await eventually_lines(pids, 63)
    killed = await client.post(f"/processes/{started['id']}/signal", json={"signal": "KILL"})
    assert killed.status_code == 200 and killed.json()["running"] is False
    everyone = [int(line) for line in pids.read_text().split()]
    assert await wait_gone(everyone, timeout=2) == []


async def test_a_timeout_ends_a_fork_loop(client: httpx.AsyncClient, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    loop = f"while :; do (sleep 30 & echo $! >> {pids}) ; sleep 0.005; done"
    result = await run(client, cmd=loop, timeout=1)
    assert result["timed_out"] is True
    assert await wait_gone([int(line) for line in pids.read_text().split()], timeout=2) == []


async def eventually_lines(path: Path, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} has fewer than {count} lines")
