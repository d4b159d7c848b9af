"""An OpenAI model drives a deskbox sandbox with the computer-use tool.

    export OPENAI_API_KEY=...
    python agent_examples/openai_computer_use.py "Find the weather in Paris"

``--tool computer`` uses the newer tool with batched actions (give a model that has it
with ``--model``); the default is ``computer_use_preview`` with ``computer-use-preview``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from _common import confirm, parser, require_key

from deskbox import AsyncSandbox
from deskbox.adapters.openai import OpenAIComputerTool


def approve(checks: list[dict[str, Any]]) -> bool:
    reasons = "; ".join(str(check.get("message") or check.get("code")) for check in checks)
    return confirm(f"The model's next action raised safety checks: {reasons}. Go ahead?")


async def main() -> int:
    options = parser(__doc__.splitlines()[0])
    options.add_argument(
        "--tool", default="computer_use_preview", choices=["computer_use_preview", "computer"]
    )
    options.add_argument("--model", default="computer-use-preview")
    args = options.parse_args()
    require_key("OPENAI_API_KEY")
    import openai

    client = openai.AsyncOpenAI()
    async with await AsyncSandbox.create(backend=args.backend, resolution=(1280, 800)) as sandbox:
        print(f"watch: {await sandbox.stream.get_url(view_only=True)}")
        tool = OpenAIComputerTool(sandbox, tool=args.tool, environment="linux", on_safety_check=approve)
        tools = [await tool.definition()]
        response = await client.responses.create(
            model=args.model,
            tools=tools,
            input=args.task,
            truncation="auto",
        )
        for _ in range(args.max_steps):
            calls = [item for item in response.output if item.type == "computer_call"]
            for item in response.output:
                if item.type == "message":
                    print(f"model: {''.join(getattr(part, 'text', '') for part in item.content)}")
            if not calls:
                break
            next_input: list[Any] = []
            for call in calls:
                print(f"  -> {call.actions or call.action}")
                next_input += await tool.execute(call)
            response = await client.responses.create(
                model=args.model,
                previous_response_id=response.id,
                tools=tools,
                input=next_input,
                truncation="auto",
            )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
