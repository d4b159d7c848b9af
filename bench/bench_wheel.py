"""Wheel notch spacing, from evidence: the smallest gap between notches at which
Chromium, a GTK application (Thunar) and a terminal (xfce4-terminal, VTE) neither merge
nor drop any, with both cores busy.

    .venv/bin/python bench/bench_wheel.py [--repeats 4] [--notches 5]

Runs a docker sandbox of the image. For each spacing, notches are sent as XTest button
events whose delivery the X server spaces (the way deskbox's scroll does), alternately
down and up, and each application's own scroll position is read afterwards: Chromium's
``scrollY`` over DevTools, the GTK scroll bars' values over the accessibility bus. A
notch's distance is measured first with notches 150 ms apart. A trial is whole when
it moved as far as its notches should; the table gives, per spacing, how many trials
were whole and the worst trial's share of the distance. Prints; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from _report import Report

from deskbox import AsyncSandbox

REPORT = Report("bench_wheel")
say = REPORT.line
SPACINGS_MS = [0, 1, 2, 3, 4, 8, 16]
CALIBRATION_MS = 150

SENDER = """
import sys
from Xlib import X, display
from Xlib.ext import xtest
button, notches, spacing = (int(a) for a in sys.argv[1:4])
d = display.Display()
for i in range(notches):
    xtest.fake_input(d, X.ButtonPress, button, spacing if i else 0)
    xtest.fake_input(d, X.ButtonRelease, button)
d.sync()
"""

PAGE = (
    "data:text/html,<title>wheel</title><style>body{margin:0;height:400000px;"
    "background:linear-gradient(%23fff,%23ccc)}</style>"
)


class App:
    name: str
    window_title: str

    def __init__(self, sbx: AsyncSandbox) -> None:
        self.sbx = sbx

    async def position(self) -> float:
        raise NotImplementedError

    async def settled(self) -> float:
        """The scroll position once it has stopped moving (animations included)."""
        last, still = await self.position(), 0
        for _ in range(200):
            await asyncio.sleep(0.05)
            now = await self.position()
            still = still + 1 if now == last else 0
            if still >= 8:
                return now
            last = now
        return last


class Chromium(App):
    name = "Chromium (smooth scrolling on)"
    window_title = "wheel"

    def __init__(self, sbx: AsyncSandbox, page: Any) -> None:
        super().__init__(sbx)
        self.page = page

    async def position(self) -> float:
        return float(await self.page.evaluate("scrollY"))


class ScrollBarApp(App):
    """A GTK application, read through its vertical scroll bar's accessible value."""

    def __init__(self, sbx: AsyncSandbox, name: str, application: str, window_title: str) -> None:
        super().__init__(sbx)
        self.name = name
        self.application = application
        self.window_title = window_title

    async def position(self) -> float:
        found = await self.sbx.accessibility.find(role="scroll bar", application=self.application, limit=20)
        values = [
            node.value
            for node in found.elements
            if node.value is not None and node.bounds is not None and node.bounds.height > node.bounds.width
        ]
        if not values:
            raise RuntimeError(f"no vertical scroll bar in {self.application}")
        return float(values[0])


async def send(sbx: AsyncSandbox, button: int, notches: int, spacing: int) -> None:
    await sbx.commands.run(
        ["/opt/deskbox/bin/python", "/tmp/wheel.py", str(button), str(notches), str(spacing)]
    )


async def focus(sbx: AsyncSandbox, title: str) -> None:
    for _ in range(100):
        windows = [w for w in await sbx.list_windows() if title in w.title]
        if windows:
            window = windows[0]
            await sbx.focus_window(window.id)
            await sbx.move_mouse(window.x + window.width // 2, window.y + window.height // 2)
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no window titled {title!r}")


async def study(sbx: AsyncSandbox, app: App, notches: int, repeats: int) -> list[str]:
    await focus(sbx, app.window_title)
    # Away from either end (a terminal starts at its bottom, a folder at its top), so
    # notches in both directions have room to move.
    await send(sbx, 4, 40, 10)
    await send(sbx, 5, 20, 10)
    start = await app.settled()
    await send(sbx, 5, notches, CALIBRATION_MS)
    after = await app.settled()
    per_notch = (after - start) / notches
    await send(sbx, 4, notches, CALIBRATION_MS)
    await app.settled()
    if per_notch <= 0:
        return [f"| {app.name} | no scrolling measured | | | | | |"]
    cells = []
    for spacing in SPACINGS_MS:
        whole, worst = 0, 1.0
        for trial in range(repeats * 2):
            button = 5 if trial % 2 == 0 else 4  # down, then back up
            before = await app.settled()
            await send(sbx, button, notches, spacing)
            moved = abs(await app.settled() - before) / (per_notch * notches)
            whole += moved > 0.97
            worst = min(worst, moved)
        cells.append(f"{whole}/{repeats * 2}, {worst:.0%}")
    return [f"| {app.name} | {per_notch:.1f} | " + " | ".join(cells) + " |"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--notches", type=int, default=15)
    parser.add_argument("--only", help="one application: chromium, thunar or terminal")
    args = parser.parse_args()
    from playwright.async_api import async_playwright

    sbx = await AsyncSandbox.create(backend="docker", timeout=1800)
    load: list[Any] = []
    try:
        await sbx.files.write("/tmp/wheel.py", SENDER)
        await sbx.commands.run(
            "mkdir -p /home/user/many && cd /home/user/many && touch $(seq -f 'file%05g' 1 3000)"
        )
        await sbx.launch(["thunar", "/home/user/many"])
        await sbx.launch(
            [
                "xfce4-terminal",
                "--disable-server",
                "-T",
                "wheel-terminal",
                "-x",
                "sh",
                "-c",
                "seq 1 5000; exec sleep 3600",
            ]
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.connect_over_cdp(
                f"{sbx.url}/cdp", headers={"Authorization": f"Bearer {sbx.info.token}"}
            )
            page = browser.contexts[0].pages[0]
            await page.goto(PAGE)
            await page.evaluate("scrollTo(0, 200000)")
            apps: list[App] = [
                Chromium(sbx, page),
                ScrollBarApp(sbx, "Thunar (GTK 3)", "Thunar", "many"),
                ScrollBarApp(sbx, "xfce4-terminal (VTE)", "xfce4-terminal", "wheel-terminal"),
            ]
            for _ in range(2):  # both cores busy, as on a loaded CI machine
                load.append(
                    await sbx.commands.run(["sh", "-c", "while :; do :; done"], background=True, timeout=None)
                )
            header = " | ".join(f"{s} ms" for s in SPACINGS_MS)
            say(
                f"{args.notches} notches per trial, {args.repeats * 2} trials per spacing (down and up), "
                "both cores of the sandbox busy. Each cell: whole trials, and the worst trial's "
                "share of the distance."
            )
            say()
            say(f"| application | px or units per notch | {header} |")
            say("|---|---:|" + "---:|" * len(SPACINGS_MS))
            chosen = {"chromium": apps[0], "thunar": apps[1], "terminal": apps[2]}
            for app in [chosen[args.only]] if args.only else apps:
                try:
                    for row in await study(sbx, app, args.notches, args.repeats):
                        say(row)
                except RuntimeError as exc:
                    say(f"| {app.name} | {exc} |" + " |" * len(SPACINGS_MS))
            await browser.close()
    finally:
        for job in load:
            with contextlib.suppress(Exception):
                await job.kill()
        await sbx.kill()
    REPORT.save()


if __name__ == "__main__":
    asyncio.run(main())
