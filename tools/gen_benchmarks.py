"""Put the benchmarks' latest tables into docs/benchmarks.md.

    python tools/gen_benchmarks.py          # after running bench/*.py on this machine

Each bench script saves what it printed to bench/results/<name>.md. In the page, the
text between ``<!-- bench:NAME -->`` and ``<!-- /bench -->`` is replaced by that file;
the prose around the markers is kept. A bench that has not been run leaves its section
as it was.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "results"
SECTION = re.compile(r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench -->)", re.S)


def main() -> int:
    page = PAGE.read_text()
    updated: list[str] = []

    def fill(match: re.Match[str]) -> str:
        result = RESULTS / f"{match['name']}.md"
        if not result.exists():
            return match.group(0)
        updated.append(match["name"])
        return f"{match.group(1)}{result.read_text().strip()}\n{match.group(4)}"

    text = SECTION.sub(fill, page)
    names = {m["name"] for m in SECTION.finditer(page)}
    missing = sorted(p.stem for p in RESULTS.glob("*.md") if p.stem not in names)
    PAGE.write_text(text)
    print(f"updated: {', '.join(updated) or 'nothing'}", file=sys.stderr)
    if missing:
        print(f"no section in {PAGE.name} for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
