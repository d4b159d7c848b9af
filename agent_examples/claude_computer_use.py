"""Claude drives a deskbox sandbox with its computer and bash tools.

    export ANTHROPIC_API_KEY=...
    python agent_examples/claude_computer_use.py "Find the weather in Paris"
    python agent_examples/claude_computer_use.py --model ... --tool-version computer_toolset_20260801 "..."

Watch it work through the viewer link printed at the start.
"""

from __future__ import annotations

import asyncio
import sys

from _common import parser, require_key

from deskbox import AsyncSandbox
from deskbox.adapters.anthropic import ClaudeTools


async def main() -> int:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--model", default="claude-sonnet-4-5")
    options.add_argument(
        "--tool-version",
        default="computer_20250124",
        choices=["computer_20241022", "computer_20250124", "computer_20251124", "computer_toolset_20260801"],
        help="the computer tool version your model takes; newer models take the toolset",
    )
    args = options.parse_args()
    require_key("ANTHROPIC_API_KEY")
    import anthropic

    client = anthropic.AsyncAnthropic()
    async with await AsyncSandbox.create(backend=args.backend, resolution=(1280, 800)) as sandbox:
        print(f"watch: {await sandbox.stream.get_url(view_only=True)}")
        tools = ClaudeTools(sandbox, version=args.tool_version)
        messages: list[dict[str, object]] = [{"role": "user", "content": args.task}]
        for _ in range(args.max_steps):
            response = await client.beta.messages.create(
                model=args.model,
                max_tokens=4096,
                messages=messages,  # type: ignore[arg-type]
                tools=await tools.definitions(),
                betas=tools.betas,
            )
            messages.append({"role": "assistant", "content": response.content})
            for block in response.content:
                if block.type == "text":
                    print(f"claude: {block.text}")
                elif block.type == "tool_use":
                    print(f"  -> {block.name} {block.input}")
            results = await tools.run(response.content)
            if not results:
                break
            messages.append({"role": "user", "content": results})
        await tools.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
