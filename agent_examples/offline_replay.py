"""An agent run with no API key: replay the tool calls Claude and OpenAI models emit.

    python agent_examples/offline_replay.py                 # on local Docker
    python agent_examples/offline_replay.py --backend local # on this machine's X server
    python agent_examples/offline_replay.py --trace run.zip # and keep its action trace

The task: open a web form in the sandbox's Chromium, fill it with Unicode text, pick an
option, scroll down and submit. It is done three times: from Claude's ``computer`` tool
``tool_use`` blocks, from the member blocks of Claude's computer toolset, and from
OpenAI's ``computer_call`` items, all written below as data exactly as the models send
them. Each goes through deskbox's adapter for that format, which executes it on the real
desktop and answers in the vendor's format; nothing else touches the form.

The form is served by a small HTTP server started inside the sandbox, which records
every submission. The run passes only if every submission reached it with every field
right. Exit code 0 means they did.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from deskbox import AsyncSandbox
from deskbox.adapters.anthropic import ClaudeTools
from deskbox.adapters.openai import OpenAIComputerTool

SCREEN = (1280, 800)
WORKDIR = "/tmp/deskbox-form"

# The page is laid out for the fixed screen with big targets, so every replayed click
# lands inside its field whether the browser's page area starts at y=88 (a bare window
# manager) or y=139 (XFCE's panel and title bar above the toolbar).
FORM_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign-up form</title>
<style>
  body { margin: 0; font: 22px sans-serif; background: #f4f6fb; }
  h1 { margin: 0; height: 80px; line-height: 80px; padding-left: 40px; font-size: 28px; }
  .field { position: absolute; left: 40px; width: 1180px; box-sizing: border-box; font: 24px sans-serif; }
  #name { top: 90px; height: 120px; }
  #message { top: 230px; height: 140px; }
  #plan { top: 390px; height: 120px; }
  #filler { position: absolute; top: 530px; left: 40px; width: 1180px; height: 1300px;
            background: repeating-linear-gradient(#e3e8f5 0 40px, #f4f6fb 40px 80px); }
  #send { position: absolute; top: 1860px; left: 40px; width: 1180px; height: 110px;
          font-size: 30px; background: #2a6df4; color: white; border: 0; }
  #end { position: absolute; top: 1990px; height: 1px; width: 1px; }
</style></head>
<body>
<h1>Sign up</h1>
<form method="post" action="/submit" accept-charset="utf-8">
  <input class="field" id="name" name="name" placeholder="Your name" autocomplete="off">
  <textarea class="field" id="message" name="message" placeholder="A message"></textarea>
  <select class="field" id="plan" name="plan">
    <option value="free">Free</option>
    <option value="team">Team</option>
    <option value="enterprise">Enterprise</option>
  </select>
  <div id="filler"></div>
  <button class="field" id="send" type="submit">Send</button>
  <div id="end"></div>
</form>
</body></html>
"""

FORM_SERVER = r"""
import html, json, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

record, port_file, page = sys.argv[1], sys.argv[2], open(sys.argv[3], encoding="utf-8").read()

class Form(BaseHTTPRequestHandler):
    def reply(self, body):
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(page)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        fields = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        with open(record, "a", encoding="utf-8") as out:
            out.write(json.dumps(fields, ensure_ascii=False) + "\n")
        name = html.escape(fields.get("name", ""))
        self.reply(f"<!doctype html><meta charset=utf-8><title>Thanks</title><h1>Thanks, {name}!</h1>")

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Form)
with open(port_file, "w") as out:
    out.write(str(server.server_port))
server.serve_forever()
"""

# What each run types, and what the server must then have received.
CLAUDE_ENTRY = {
    "name": "Zoë Ørsted-Łukasiewicz 山田",
    "message": "Grüße aus der Sandbox!\nZweite Zeile ✓",
    "plan": "team",
}
TOOLSET_ENTRY = {
    "name": "Søren Kierkegaard-Ängström",
    "message": "Ένα μήνυμα από το toolset ✓",
    "plan": "team",
}
OPENAI_ENTRY = {
    "name": "Đặng Thị Mỹ Linh",
    "message": "こんにちは — submitted by replay 🙂",
    "plan": "enterprise",
}


def claude_steps(url: str, entry: dict[str, str]) -> list[dict[str, Any]]:
    """What Claude does for this task on a WXGA screen, one action each."""
    return [
        {"action": "screenshot"},
        {"action": "left_click", "coordinate": [640, 600]},
        {"action": "key", "text": "ctrl+l"},
        {"action": "wait", "duration": 1},
        {"action": "type", "text": url + "\n"},
        {"action": "wait", "duration": 2},
        {"action": "left_click", "coordinate": [640, 264]},
        {"action": "type", "text": entry["name"]},
        {"action": "left_click", "coordinate": [640, 414]},
        {"action": "type", "text": entry["message"]},
        {"action": "left_click", "coordinate": [640, 564]},
        {"action": "key", "text": "Down"},
        {"action": "key", "text": "Return"},
        {"action": "scroll", "coordinate": [640, 600], "scroll_direction": "down", "scroll_amount": 15},
        {"action": "wait", "duration": 1},
        {"action": "screenshot"},
        {"action": "left_click", "coordinate": [640, 720]},
        {"action": "wait", "duration": 1},
        {"action": "screenshot"},
    ]


def claude_calls(url: str) -> list[dict[str, Any]]:
    """tool_use blocks as Claude sends them with the computer_20250124 tool."""
    return [
        {"type": "tool_use", "id": f"toolu_replay_{index:02d}", "name": "computer", "input": step}
        for index, step in enumerate(claude_steps(url, CLAUDE_ENTRY))
    ]


def toolset_calls(url: str) -> list[dict[str, Any]]:
    """Member tool_use blocks as Claude sends them with computer_toolset_20260801: the
    action is the block's name, and the block names the toolset."""
    steps = []
    for step in claude_steps(url, TOOLSET_ENTRY):
        steps.append(step)
        if step["action"] == "left_click":
            # A member answers without a screenshot, so the model asks for one to see what
            # its click did. It is also the pacing a model has: without it, "Down" could
            # reach the select before its popup opened, the popup then opened late, and
            # the scroll and the click on Send went to the popup (seen on a busy machine).
            steps.append({"action": "screenshot"})
    blocks = []
    for index, step in enumerate(steps):
        name, member_input = step["action"], {k: v for k, v in step.items() if k != "action"}
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_member_{index:02d}",
                "name": name,
                "input": member_input,
                "toolset_name": "computer",
            }
        )
    return blocks


def openai_calls(url: str) -> list[dict[str, Any]]:
    """computer_call items as the batched computer tool sends them for this task."""
    batches: list[list[dict[str, Any]]] = [
        [{"type": "screenshot"}],
        [
            {"type": "click", "button": "left", "x": 640, "y": 600},
            {"type": "keypress", "keys": ["CTRL", "L"]},
            {"type": "wait"},
        ],
        [
            {"type": "type", "text": url},
            {"type": "keypress", "keys": ["ENTER"]},
            {"type": "wait"},
            {"type": "wait"},
        ],
        # One field per call, as the model fills a form it sees: each call's screenshot
        # waits for the page to settle, so a field's click never lands while the browser
        # still shows a popup from the field before (a busy machine made that flaky).
        [
            {"type": "click", "button": "left", "x": 640, "y": 264},
            {"type": "type", "text": OPENAI_ENTRY["name"]},
        ],
        [
            {"type": "click", "button": "left", "x": 640, "y": 414},
            {"type": "type", "text": OPENAI_ENTRY["message"]},
        ],
        [
            {"type": "click", "button": "left", "x": 640, "y": 564},
            {"type": "keypress", "keys": ["ARROWDOWN"]},
            {"type": "keypress", "keys": ["ARROWDOWN"]},
            {"type": "keypress", "keys": ["ENTER"]},
        ],
        [{"type": "scroll", "x": 640, "y": 600, "scroll_x": 0, "scroll_y": 1800}, {"type": "wait"}],
        [{"type": "click", "button": "left", "x": 640, "y": 720}, {"type": "wait"}],
    ]
    return [
        {
            "type": "computer_call",
            "id": f"cu_replay_{index:02d}",
            "call_id": f"call_replay_{index:02d}",
            "status": "completed",
            "pending_safety_checks": [],
            "actions": batch,
        }
        for index, batch in enumerate(batches)
    ]


async def start_form_server(sandbox: AsyncSandbox) -> tuple[str, Any]:
    await sandbox.files.write(f"{WORKDIR}/form.html", FORM_PAGE)
    await sandbox.files.write(f"{WORKDIR}/server.py", FORM_SERVER)
    await sandbox.commands.run(f"rm -f {WORKDIR}/port {WORKDIR}/submissions.jsonl")
    server = await sandbox.commands.run(
        [
            "python3",
            f"{WORKDIR}/server.py",
            f"{WORKDIR}/submissions.jsonl",
            f"{WORKDIR}/port",
            f"{WORKDIR}/form.html",
        ],
        background=True,
        timeout=None,
    )
    for _ in range(100):
        if await sandbox.files.exists(f"{WORKDIR}/port"):
            port = (await sandbox.files.read(f"{WORKDIR}/port")).strip()
            if port:
                return f"http://127.0.0.1:{port}/", server
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the form server did not start: {await server.output()}")


async def submissions(sandbox: AsyncSandbox) -> list[dict[str, str]]:
    if not await sandbox.files.exists(f"{WORKDIR}/submissions.jsonl"):
        return []
    text = await sandbox.files.read(f"{WORKDIR}/submissions.jsonl")
    # Browsers send a textarea's line breaks as CRLF, as HTML asks.
    return [
        {key: value.replace("\r\n", "\n") for key, value in json.loads(line).items()}
        for line in text.splitlines()
        if line.strip()
    ]


async def replay_claude(sandbox: AsyncSandbox, url: str) -> None:
    tools = ClaudeTools(sandbox, version="computer_20250124", bash=False)
    await run_claude_blocks(tools, claude_calls(url), "claude")


async def replay_toolset(sandbox: AsyncSandbox, url: str) -> None:
    tools = ClaudeTools(sandbox, version="computer_toolset_20260801", bash=False)
    await run_claude_blocks(tools, toolset_calls(url), "toolset")


async def run_claude_blocks(tools: ClaudeTools, blocks: list[dict[str, Any]], label: str) -> None:
    for block in blocks:
        result = (await tools.run([block]))[0]
        status = "error: " + str(result["content"]) if result.get("is_error") else "ok"
        shown = json.dumps({"name": block["name"], **block["input"]}, ensure_ascii=False)
        print(f"  {label:<7} {shown[:90]:<92} {status}")
        if result.get("is_error"):
            raise RuntimeError(f"the adapter refused a replayed call: {result['content']}")


async def replay_openai(sandbox: AsyncSandbox, url: str) -> None:
    tool = OpenAIComputerTool(sandbox)
    for item in openai_calls(url):
        outputs = await tool.execute(item)
        failed = len(outputs) > 1
        summary = ", ".join(action["type"] for action in item["actions"])
        print(f"  openai  [{summary}]".ljust(102) + (" error" if failed else " ok"))
        if failed:
            raise RuntimeError(f"the adapter refused a replayed call: {outputs[-1]}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend", default=os.environ.get("DESKBOX_BACKEND", "docker"), choices=["docker", "local"]
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="record the run's action trace into FILE (a zip; open it with `deskbox trace show FILE`)",
    )
    args = parser.parse_args()

    print(f"starting a {args.backend} sandbox at {SCREEN[0]}x{SCREEN[1]}...")
    async with await AsyncSandbox.create(backend=args.backend, resolution=SCREEN, timeout=600) as sandbox:
        if args.trace:
            await sandbox.trace.start(title="offline replay: a sign-up form, three ways")
        url, server = await start_form_server(sandbox)
        print(f"form served inside the sandbox at {url}")
        expected = []
        for name, replay, entry in (
            ("Claude", replay_claude, CLAUDE_ENTRY),
            ("Claude's computer toolset", replay_toolset, TOOLSET_ENTRY),
            ("OpenAI", replay_openai, OPENAI_ENTRY),
        ):
            print(f"replaying {name}'s tool calls:")
            await replay(sandbox, url)
            expected.append(entry)
            for _ in range(100):  # the browser posts the form on its own time
                if len(await submissions(sandbox)) >= len(expected):
                    break
                await asyncio.sleep(0.05)
        received = await submissions(sandbox)
        await server.kill()
        if args.trace:
            saved = await sandbox.trace.stop(args.trace)
            print(f"trace saved to {saved}: deskbox trace show {saved}")

    print("the form server received:")
    for entry in received:
        print("  " + json.dumps(entry, ensure_ascii=False))
    if received != expected:
        print(f"FAILED: expected {json.dumps(expected, ensure_ascii=False)}", file=sys.stderr)
        return 1
    print("OK: every submission reached the form server with every field right")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
