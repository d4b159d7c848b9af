"""What a benchmark prints is also kept: bench/results/<name>.md, for docs/benchmarks.md.

python tools/gen_benchmarks.py    # put every kept table into docs/benchmarks.md
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


class Report:
    """Lines printed as they come and saved together at the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        when = time.strftime("%Y-%m-%d")
        machine = f"{os.cpu_count()} cores, Python {platform.python_version()}"
        body = "\n".join(self.lines).strip("\n")
        path = RESULTS / f"{self.name}.md"
        path.write_text(f"{body}\n\n_Measured {when} ({machine}) by `bench/{self.name}.py`._\n")
        return path
