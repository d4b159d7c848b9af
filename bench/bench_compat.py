"""What the e2b_desktop compatibility layer costs: the same calls through
``deskbox.e2b_desktop.Sandbox`` and through the native ``deskbox.Sandbox``, on one
docker sandbox, alternating.

    .venv/bin/python bench/bench_compat.py [-n 30]

Also times ``open()`` of a local page, which now returns once the page is shown (E2B's
returned at once, shown or not). Prints medians; never fails.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from _report import Report

from deskbox import Sandbox, e2b_desktop

REPORT = Report("bench_compat")
say = REPORT.line


def timed(call: Callable[[], Any], n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    compat = e2b_desktop.Sandbox.create(timeout=900)
    native = Sandbox.connect(compat.sandbox_id)
    try:
        compat.files.write("/home/user/page.html", "<title>bench</title><h1>bench</h1>")
        steps: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            ("get_cursor_position", compat.get_cursor_position, native.get_cursor_position),
            (
                "left_click(500, 400)",
                lambda: compat.left_click(500, 400),
                lambda: native.left_click(500, 400),
            ),
            (
                "press(['ctrl', 'a'])",
                lambda: compat.press(["ctrl", "a"]),
                lambda: native.press(["ctrl", "a"]),
            ),
            (
                "write 20 characters",
                lambda: compat.write("abcdefghij" * 2),
                lambda: native.write("abcdefghij" * 2),
            ),
            ("screenshot (PNG, pointer)", compat.screenshot, lambda: native.screenshot("png", cursor=True)),
            (
                "commands.run('true')",
                lambda: compat.commands.run("true"),
                lambda: native.commands.run("true"),
            ),
            (
                "files.read (small)",
                lambda: compat.files.read("/home/user/page.html"),
                lambda: native.files.read("/home/user/page.html"),
            ),
        ]
        say(f"| call (n={args.n}, ms, median) | deskbox.e2b_desktop | deskbox | layer's share |")
        say("|---|---:|---:|---:|")
        for name, through_compat, direct in steps:
            a, b = [], []
            for _ in range(args.n):
                a.append(timed(through_compat, 1))
                b.append(timed(direct, 1))
            ours, theirs = statistics.median(a), statistics.median(b)
            say(f"| {name} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}x |")
        opened = timed(lambda: compat.open("/home/user/page.html"), max(5, args.n // 3))
        say()
        say(f"open() of a local page, until the tab is loaded and in front: {opened:.0f} ms (median)")
    finally:
        native.close()
        compat.kill()
    REPORT.save()


if __name__ == "__main__":
    main()
