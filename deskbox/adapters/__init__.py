"""Agent tool formats mapped onto deskbox actions.

Each vendor's adapter lives in its own module, so importing one needs only that vendor's
package (an optional extra):

- ``deskbox.adapters.anthropic``: Claude's ``computer`` (20241022, 20250124, 20251124)
  and ``bash`` tools: ``ClaudeTools``, ``ClaudeComputerTool``, ``ClaudeBashTool``.
- ``deskbox.adapters.anthropic_toolset``: Claude's computer toolset
  (``computer_toolset_20260801``), ``ClaudeComputerToolset``.
- ``deskbox.adapters.openai``: OpenAI's computer-use tool, ``OpenAIComputerTool``.
- ``deskbox.adapters.gemini``: Gemini's computer use, ``GeminiComputerTool``.
- ``deskbox.adapters.mcp``: an MCP server over a sandbox (``deskbox mcp``).

Every adapter answers a malformed or impossible call with its vendor's error result,
never an exception. Coordinate scaling is shared: :class:`Scaler`.
"""

from ._computer import ToolCallError
from ._scaling import FWXGA, WXGA, XGA, Scaler, pick_target
from ._shell_session import ShellOutput, ShellSession, ShellSessionError

__all__ = [
    "FWXGA",
    "WXGA",
    "XGA",
    "Scaler",
    "ShellOutput",
    "ShellSession",
    "ShellSessionError",
    "ToolCallError",
    "pick_target",
]
