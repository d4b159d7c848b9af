"""Gemini drives a deskbox sandbox with its computer-use functions.

export GEMINI_API_KEY=...
python agent_examples/gemini_computer_use.py "Find the weather in Paris"
"""

from __future__ import annotations

import asyncio
import sys

from _common import confirm, parser, require_key

from deskbox import AsyncSandbox
from deskbox.adapters.gemini import GeminiComputerTool


async def main() -> int:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--model", default="gemini-2.5-computer-use-preview-10-2025")
    args = options.parse_args()
    key = require_key("GEMINI_API_KEY", "GOOGLE_API_KEY")
    from google import genai
    from google.genai import types

    client = genai.Client(api_key=key)
    async with await AsyncSandbox.create(backend=args.backend, resolution=(1440, 900)) as sandbox:
        print(f"watch: {await sandbox.stream.get_url(view_only=True)}")
        tool = GeminiComputerTool(sandbox, environment="browser")
        config = types.GenerateContentConfig(tools=[tool.definition()])
        screenshot = await sandbox.screenshot()
        contents: list[types.Content] = [
            types.Content(
                role="user",
                parts=[
                    types.Part(text=args.task),
                    types.Part.from_bytes(data=screenshot, mime_type="image/png"),
                ],
            )
        ]
        for _ in range(args.max_steps):
            response = await client.aio.models.generate_content(
                model=args.model, contents=contents, config=config
            )
            candidate = response.candidates[0] if response.candidates else None
            if candidate is None or candidate.content is None:
                break
            contents.append(candidate.content)
            calls = [part.function_call for part in candidate.content.parts or [] if part.function_call]
            for part in candidate.content.parts or []:
                if part.text:
                    print(f"gemini: {part.text}")
            if not calls:
                break
            replies = []
            for call in calls:
                print(f"  -> {call.name} {call.args}")
                decision = (call.args or {}).get("safety_decision")
                if decision and not confirm(
                    f"Gemini asks to confirm: {decision.get('explanation', decision)}"
                ):
                    return 1
                replies.append(types.Part(function_response=await tool.execute(call)))
            contents.append(types.Content(role="user", parts=replies))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
