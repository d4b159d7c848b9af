"""Agent tool calls end to end: deskbox's adapters against the way Anthropic's demo runs them.

    .venv/bin/python bench/bench_adapters.py [-n 30]

Starts a local sandbox at 1920x1080 (Claude sees it at FWXGA, 1366x768) and times, in
the same run:
- a Claude ``left_click`` call answered with the scaled screenshot, through
  ``ClaudeComputerTool``; and the demo's way: an ``xdotool mousemove --sync ... click``
  subprocess, a ``scrot`` to a file, a resize to FWXGA, base64. Timed twice: as a whole
  step, where the demo sleeps a fixed 2 s before its screenshot so the screen can settle
  and deskbox waits until the screen has been still for 0.1 s (``settle``); and without
  either wait, the machinery alone.
- the same step with Claude's computer toolset: a ``left_click`` member call (answered
  with a line of text) and a ``screenshot`` member call, which settles.
- a Claude ``type`` call of 50 characters, both ways (the demo types with
  ``xdotool type --delay 12``).
- Claude's bash tool running ``echo hi``: deskbox's persistent shell (output followed
  over one event stream) against a replica of the demo's session (a bash subprocess,
  a sentinel, and output polled every 0.2 s).
- an MCP ``screenshot`` tool call over stdio, against the same screenshot through the SDK.
Prints medians and ratios; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from _report import Report
from anthropic.types.beta import BetaToolUseBlock
from mcp import Client, StdioServerParameters
from PIL import Image

from deskbox import AsyncSandbox
from deskbox.adapters import FWXGA
from deskbox.adapters.anthropic import ClaudeBashTool, ClaudeComputerTool
from deskbox.adapters.anthropic_toolset import ClaudeComputerToolset

SCREEN = (1920, 1080)
TEXT = "The quick brown fox jumps over the lazy dog 123456"  # 50 characters
DEMO_SCREENSHOT_DELAY = 2.0  # seconds the demo sleeps before every screenshot
DEMO_OUTPUT_DELAY = 0.2  # seconds between the demo bash session's output polls


Row = tuple[str, float, str, float, str]


REPORT = Report("bench_adapters")
say = REPORT.line


async def compare(
    step: str,
    ours: Callable[[], Awaitable[object]],
    other_way: str,
    theirs: Callable[[], Awaitable[object]],
    runs: tuple[int, int],
    note: str = "",
) -> Row:
    """One table row: our median and the other way's, each over its number of runs."""
    return step, await median_ms(ours, runs[0]), other_way, await median_ms(theirs, runs[1]), note


async def median_ms(step: Callable[[], Awaitable[object]], runs: int) -> float:
    print(f"timing {step.__name__} ({runs} runs)...", file=sys.stderr, flush=True)
    await step()  # warm up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await step()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def demo_screenshot(env: dict[str, str], scratch: Path) -> str:
    """The demo's screenshot: scrot to a file, resize to the scaled size, base64."""
    path = scratch / "shot.png"
    subprocess.run(["scrot", "-o", "-p", str(path)], env=env, check=True)
    image = Image.open(path).resize(FWXGA)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.unlink()
    return base64.b64encode(buffer.getvalue()).decode()


class DemoBashSession:
    """The demo's bash tool, in short: write the command and a sentinel echo, poll stdout."""

    SENTINEL = "<<exit>>"

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_shell(
            "/bin/bash",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )

    async def run(self, command: str) -> str:
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{command}; echo '{self.SENTINEL}'\n".encode())
        await self.process.stdin.drain()
        # The demo polls the stream's buffer (a private attribute) every 0.2 s.
        buffer: bytearray = self.process.stdout._buffer  # type: ignore[attr-defined]
        while True:
            await asyncio.sleep(DEMO_OUTPUT_DELAY)
            output = buffer.decode(errors="replace")
            if self.SENTINEL in output:
                buffer.clear()
                return output[: output.index(self.SENTINEL)]

    async def stop(self) -> None:
        if self.process is not None:
            # The whole group: `sh -c` may have forked bash rather than exec'd it, and
            # asyncio's wait() also waits for every holder of the pipes to go.
            os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description="adapter benchmarks")
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    n = args.n

    sandbox = await AsyncSandbox.create(backend="local", resolution=SCREEN, timeout=1800)
    rows: list[Row] = []
    peer_runs = (n, max(5, n // 3))
    try:
        display = (await sandbox.commands.run("echo $DISPLAY")).stdout.strip()
        env = {**os.environ, "DISPLAY": display}
        computer = ClaudeComputerTool(sandbox, version="computer_20250124", settle=0)
        settling = ClaudeComputerTool(sandbox, version="computer_20250124")
        scaler = await computer.computer.scaler()
        assert scaler.model == FWXGA
        point = list(scaler.to_model(960, 700))

        async def claude_click() -> object:
            return await computer.execute(
                {"id": "t", "name": "computer", "input": {"action": "left_click", "coordinate": point}}
            )

        toolset = ClaudeComputerToolset(sandbox)
        member_ids = itertools.count()

        async def toolset_click_then_look() -> object:
            # The toolset answers an action with a line of text; Claude asks to look.
            for name, member_input in (("left_click", {"coordinate": point}), ("screenshot", {})):
                block = BetaToolUseBlock(
                    type="tool_use",
                    id=f"toolu_{next(member_ids)}",
                    name=name,
                    input=member_input,
                    toolset_name="computer",
                )
                result = await toolset.tool_result(block)
            return result

        async def claude_click_settled() -> object:
            return await settling.execute(
                {"id": "t", "name": "computer", "input": {"action": "left_click", "coordinate": point}}
            )

        async def claude_type() -> object:
            return await computer.execute(
                {"id": "t", "name": "computer", "input": {"action": "type", "text": TEXT}}
            )

        with tempfile.TemporaryDirectory() as scratch_dir:
            scratch = Path(scratch_dir)

            targets = itertools.cycle([scaler.to_screen(*point), scaler.to_screen(point[0] + 5, point[1])])

            async def demo_click() -> object:
                # Alternate spots: `xdotool mousemove --sync` to where the pointer already
                # is waits forever for a motion that never comes.
                return await demo_click_after(0.0)

            async def demo_click_and_sleep() -> object:
                return await demo_click_after(DEMO_SCREENSHOT_DELAY)

            async def demo_click_after(sleep: float) -> object:
                x, y = next(targets)
                subprocess.run(
                    ["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"], env=env, check=True
                )
                await asyncio.sleep(sleep)
                return demo_screenshot(env, scratch)

            async def demo_type() -> object:
                subprocess.run(["xdotool", "type", "--delay", "12", "--", TEXT], env=env, check=True)
                return demo_screenshot(env, scratch)

            rows.append(
                await compare(
                    "Claude left_click, settled FWXGA screenshot",
                    claude_click_settled,
                    "xdotool click, 2 s sleep, scrot, resize",
                    demo_click_and_sleep,
                    (n, 5),
                    "the whole step, waits included",
                )
            )
            rows.append(
                await compare(
                    "Claude toolset: left_click, then a settled screenshot",
                    toolset_click_then_look,
                    "xdotool click, 2 s sleep, scrot, resize",
                    demo_click_and_sleep,
                    (n, 5),
                    "two tool calls, waits included",
                )
            )
            note = f"no waits: the demo adds {DEMO_SCREENSHOT_DELAY:.0f} s, deskbox 0.1 s"
            rows.append(
                await compare(
                    "Claude left_click + FWXGA screenshot",
                    claude_click,
                    "xdotool click, scrot, resize, base64",
                    demo_click,
                    peer_runs,
                    note,
                )
            )
            rows.append(
                await compare(
                    "Claude type 50 chars + screenshot",
                    claude_type,
                    "xdotool type --delay 12, scrot, resize",
                    demo_type,
                    peer_runs,
                    note,
                )
            )

        params = StdioServerParameters(
            command=str(Path(sys.executable).parent / "deskbox"),
            args=["mcp", "--url", sandbox.url],
            env={**os.environ, "DESKBOX_TOKEN": sandbox.info.token},
        )
        async with Client(params) as client:

            async def mcp_shot() -> object:
                return await client.call_tool("screenshot", {"format": "jpeg", "settle": 0})

            async def sdk_shot() -> object:
                return await sandbox.screenshot("jpeg")

            rows.append(
                await compare(
                    "MCP screenshot tool call (stdio), JPEG",
                    mcp_shot,
                    "the same screenshot through the SDK",
                    sdk_shot,
                    (n, n),
                    "overhead, not a peer",
                )
            )
        bash = ClaudeBashTool(sandbox)
        demo_bash = DemoBashSession()
        await demo_bash.start()
        try:

            async def ours() -> object:
                return await bash.execute({"id": "t", "name": "bash", "input": {"command": "echo hi"}})

            async def theirs() -> object:
                return await demo_bash.run("echo hi")

            rows.append(
                await compare(
                    "Claude bash `echo hi`",
                    ours,
                    "the demo's session: sentinel, 0.2 s polls",
                    theirs,
                    peer_runs,
                )
            )
        finally:
            await bash.close()
            await demo_bash.stop()

    finally:
        await sandbox.kill()

    say(f"\nMedians, n={n} (peer ways: fewer runs), 1920x1080 shown to Claude at 1366x768, 2 cores.\n")
    say("| tool call | deskbox | the other way | other way | ratio | note |")
    say("|---|---:|---|---:|---:|---|")
    for step, ours_ms, peer_way, peer_ms, remark in rows:
        ratio = peer_ms / ours_ms
        say(f"| {step} | {ours_ms:.1f} ms | {peer_way} | {peer_ms:.1f} ms | {ratio:.1f}x | {remark} |")


if __name__ == "__main__":
    asyncio.run(main())
    REPORT.save()
