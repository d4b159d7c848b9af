"""Commands: run to completion, stream, or run in the background by id."""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ...desktop import Desktop
from ...desktop.shell import Process
from ...errors import InvalidActionError
from ...models import (
    CommandRequest,
    CommandResult,
    ProcessInfo,
    ProcessOutput,
    PtySize,
    SignalRequest,
    StdinRequest,
)
from ..deps import get_desktop

router = APIRouter(tags=["shell"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]


def _info(process: Process) -> ProcessInfo:
    return ProcessInfo(
        id=process.id,
        pid=process.pid,
        command=process.command,
        running=process.running,
        exit_code=process.exit_code,
        timed_out=process.timed_out,
        pty=process.pty,
    )


@router.post("/shell/run", response_model=CommandResult)
async def run(request: CommandRequest, desktop: DesktopDep) -> CommandResult:
    """Run a command to completion and return its output and exit code.

    A non-zero exit is a normal result, not an error. On timeout the whole process group
    is killed and ``timed_out`` is true.
    """
    return await desktop.processes.run(request)


async def _sse(process: Process, stdout_offset: int = 0, stderr_offset: int = 0) -> AsyncIterator[str]:
    yield f"event: start\ndata: {json.dumps(_info(process).model_dump())}\n\n"
    async for kind, payload in process.follow(stdout_offset, stderr_offset):
        if kind == "exit":
            data = json.dumps({"exit_code": process.exit_code, "timed_out": process.timed_out})
        else:
            data = json.dumps(payload)
        yield f"event: {kind}\ndata: {data}\n\n"


def _stream(process: Process, stdout_offset: int = 0, stderr_offset: int = 0) -> StreamingResponse:
    return StreamingResponse(
        _sse(process, stdout_offset, stderr_offset),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/shell/stream", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}}
)
async def stream(request: CommandRequest, desktop: DesktopDep) -> StreamingResponse:
    """Run a command and stream its output as server-sent events.

    Events: ``start`` (the process), ``stdout`` and ``stderr`` (JSON strings), then
    ``exit`` with the exit code. The process is also listed under /processes while it runs.
    """
    process = await desktop.processes.start(request)
    return _stream(process)


@router.post("/processes", response_model=ProcessInfo, status_code=201)
async def start_background(request: CommandRequest, desktop: DesktopDep) -> ProcessInfo:
    """Start a command in the background; read its output and kill it by id."""
    process = await desktop.processes.start(request)
    return _info(process)


@router.get("/processes", response_model=list[ProcessInfo])
async def list_processes(desktop: DesktopDep) -> list[ProcessInfo]:
    return [_info(process) for process in desktop.processes.list()]


@router.get("/processes/{process_id}", response_model=ProcessInfo)
async def get_process(process_id: str, desktop: DesktopDep) -> ProcessInfo:
    return _info(desktop.processes.get(process_id))


@router.get("/processes/{process_id}/output", response_model=ProcessOutput)
async def process_output(
    process_id: str,
    desktop: DesktopDep,
    stdout_offset: Annotated[int, Query(ge=0)] = 0,
    stderr_offset: Annotated[int, Query(ge=0)] = 0,
    wait: Annotated[float, Query(ge=0, le=60, description="seconds to wait for the process to end")] = 0,
) -> ProcessOutput:
    """Output from the given byte offsets on; pass the returned offsets back to poll."""
    process = desktop.processes.get(process_id)
    if wait:
        await process.wait(wait)
    out, out_next = process.stdout.read(stdout_offset)
    err, err_next = process.stderr.read(stderr_offset)
    return ProcessOutput(
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        stdout_offset=out_next,
        stderr_offset=err_next,
        running=process.running,
        exit_code=process.exit_code,
    )


@router.get(
    "/processes/{process_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def follow_process(
    process_id: str,
    desktop: DesktopDep,
    stdout_offset: Annotated[int, Query(ge=0)] = 0,
    stderr_offset: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Follow a background process's output as server-sent events, like /shell/stream."""
    return _stream(desktop.processes.get(process_id), stdout_offset, stderr_offset)


@router.post("/processes/{process_id}/stdin", status_code=204)
async def write_stdin(process_id: str, request: StdinRequest, desktop: DesktopDep) -> None:
    """Write to the input of a process started with ``open_stdin`` or in a terminal (what is
    typed into it); 409 if it takes none."""
    data: str | bytes = request.data
    if request.encoding == "base64":
        try:
            data = base64.b64decode(request.data, validate=True)
        except ValueError as exc:  # binascii.Error, or characters outside ASCII
            raise InvalidActionError.at(("body", "data"), f"not base64: {exc}") from None
    await desktop.processes.get(process_id).write_stdin(data, request.close)


@router.post("/processes/{process_id}/resize", response_model=ProcessInfo)
async def resize_terminal(process_id: str, size: PtySize, desktop: DesktopDep) -> ProcessInfo:
    """Change the size of a process's terminal; 409 if it runs in none."""
    process = desktop.processes.get(process_id)
    process.resize(size)
    return _info(process)


@router.post("/processes/{process_id}/signal", response_model=ProcessInfo)
async def signal_process(process_id: str, request: SignalRequest, desktop: DesktopDep) -> ProcessInfo:
    """Send a signal to every process the command started (default KILL, which repeats
    until none is left and waits for the command to end)."""
    process = desktop.processes.get(process_id)
    if request.signal == "KILL":
        await process.end()
        await process.wait(5)
    else:
        process.signal(signal.Signals[f"SIG{request.signal}"])
    return _info(process)


@router.delete("/processes/{process_id}", status_code=204)
async def forget_process(process_id: str, desktop: DesktopDep) -> None:
    """Forget a finished process and its output."""
    desktop.processes.forget(process_id)
