"""Each adapter needs only its own vendor's package: the others may be missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

VENDORS = {
    "anthropic": "anthropic",
    "anthropic_toolset": "anthropic",
    "openai": "openai",
    "gemini": "google.genai",
    "mcp": "mcp",
}


@pytest.mark.parametrize("adapter", sorted(VENDORS))
def test_an_adapter_imports_without_the_other_vendors(adapter: str) -> None:
    others = [package for package in set(VENDORS.values()) if package != VENDORS[adapter]]
    blocked = "; ".join(f"sys.modules[{package!r}] = None" for package in others)
    code = f"import sys; {blocked}; import deskbox.adapters.{adapter}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
