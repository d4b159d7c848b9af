"""The accessibility tree of a Chromium page with 200 elements: deskbox's /accessibility
(JSON and OSWorld's XML) against the way OSWorld's guest server reads it (pyatspi, one
call per property, element after element), in one run, alternating.

    .venv/bin/python bench/bench_accessibility.py [-n 20]

Starts a local sandbox (`deskbox desktop`: Xvfb, Openbox, the session bus, AT-SPI,
Chromium), opens the page, and times each way until the whole tree is in the caller's
hands. OSWorld's way runs in a warm Python of its own (its guest server is a long-running
Flask process) with Debian's python3-pyatspi, reading what OSWorld's guest reads for each
element: states, attributes, extents when showing, text, image, selection, value and
actions. Prints medians and ratios; never fails.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from _report import Report
from bench_actions import median_ms

from deskbox import Sandbox

REPORT = Report("bench_accessibility")
say = REPORT.line
ELEMENTS = 200
PYATSPI_PYTHON = "/usr/bin/python3"

# OSWorld's guest reads these for every element (desktop_env/server/main.py); this walker
# asks AT-SPI for the same, through pyatspi, one element at a time.
PYATSPI_WALKER = r"""
import sys, time, pyatspi
def node(acc, depth):
    count = 1
    states = acc.getState().get_states()
    names = [pyatspi.StateType._enum_lookup[s] for s in states]
    acc.get_attributes()
    if "STATE_SHOWING" in names and "STATE_VISIBLE" in names:
        try: acc.queryComponent().getExtents(pyatspi.XY_SCREEN)
        except NotImplementedError: pass
    try:
        t = acc.queryText(); t.getText(0, t.characterCount)
    except NotImplementedError: pass
    for query in ("queryImage", "querySelection"):
        try: getattr(acc, query)()
        except NotImplementedError: pass
    try:
        v = acc.queryValue()
        for name in ("currentValue", "minimumValue", "maximumValue", "minimumIncrement"):
            try: getattr(v, name)
            except Exception: pass
    except NotImplementedError: pass
    try:
        a = acc.queryAction()
        for i in range(a.nActions): a.getName(i); a.getDescription(i); a.getKeyBinding(i)
    except NotImplementedError: pass
    acc.getRoleName(); acc.name
    if depth < 50:
        for child in acc:
            if child is not None: count += node(child, depth + 1)
    return count
for line in sys.stdin:
    started = time.perf_counter()
    desktop = pyatspi.Registry.getDesktop(0)
    total = sum(node(app, 1) for app in desktop if app is not None and app.name == "Chromium")
    print(time.perf_counter() - started, total, flush=True)
"""


def page(path: Path) -> str:
    rows = []
    for index in range(ELEMENTS // 4):
        rows.append(
            f"<li><button>Button {index}</button> <a href='#l{index}'>Link {index}</a> "
            f"<input aria-label='Field {index}' value='v{index}'></li>"
        )
    path.write_text(f"<!doctype html><title>bench</title><ul>{''.join(rows)}</ul>")
    return f"file://{path}"


def run_bench(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder, Sandbox.create(backend="local", timeout=900) as sbx:
        sbx.navigate(page(Path(folder) / "page.html"))
        deadline = time.monotonic() + 30
        while (
            len(sbx.accessibility.find("push button", name_contains="Button ", visible_only=False).elements)
            < ELEMENTS // 4
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the page's buttons never showed in the tree")
            time.sleep(0.2)
        bus = sbx.commands.run("printenv DBUS_SESSION_BUS_ADDRESS").stdout.strip()
        walker = _walker(bus)
        tree = sbx.accessibility.tree("Chromium")
        say(f"accessibility tree of Chromium with a {ELEMENTS}-element page, n={n} per way, medians in ms")
        say()
        samples: dict[str, list[float]] = {"json": [], "xml": [], "pyatspi": []}
        osworld_nodes = 0
        for _ in range(n):
            started = time.perf_counter()
            sbx.accessibility.tree("Chromium")
            samples["json"].append(time.perf_counter() - started)
            started = time.perf_counter()
            sbx.accessibility.xml("Chromium")
            samples["xml"].append(time.perf_counter() - started)
            if walker is not None:
                assert walker.stdin is not None and walker.stdout is not None
                walker.stdin.write("go\n")
                walker.stdin.flush()
                seconds, count = walker.stdout.readline().split()
                samples["pyatspi"].append(float(seconds))
                osworld_nodes = int(count)
        ours, xml = median_ms(samples["json"]), median_ms(samples["xml"])
        say("| way | elements | median |")
        say("|---|---:|---:|")
        say(f"| deskbox `GET /accessibility` (JSON, over HTTP) | {tree.node_count} | {ours:.1f} |")
        say(f"| deskbox `GET /accessibility?format=xml` (OSWorld's XML) | {tree.node_count} | {xml:.1f} |")
        if walker is not None:
            theirs = median_ms(samples["pyatspi"])
            say(f"| OSWorld guest's way (pyatspi, in-process, no HTTP) | {osworld_nodes} | {theirs:.1f} |")
            say()
            say(f"deskbox's JSON tree is {theirs / ours:.1f}x faster than OSWorld's pyatspi walk.")
            walker.kill()
        else:
            say()
            say(f"({PYATSPI_PYTHON} has no pyatspi: apt install python3-pyatspi to measure OSWorld's way)")
    say()
    say(
        "deskbox pipelines its AT-SPI calls (the next element's questions go out before the "
        "last answers are back); pyatspi waits for each answer. Both read the same bus."
    )
    REPORT.save()


def _walker(bus: str) -> subprocess.Popen[str] | None:
    probe = subprocess.run([PYATSPI_PYTHON, "-c", "import pyatspi"], capture_output=True)
    if probe.returncode != 0:
        return None
    return subprocess.Popen(
        [PYATSPI_PYTHON, "-c", PYATSPI_WALKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"DBUS_SESSION_BUS_ADDRESS": bus, "PATH": "/usr/bin:/bin"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20)
    run_bench(parser.parse_args().n)


if __name__ == "__main__":
    main()
