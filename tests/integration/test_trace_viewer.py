"""The trace viewer in headless Chromium: the offline agent example's trace, stepped through
with the keyboard (served by `deskbox trace show`, and as an exported file opened offline),
and a running sandbox's live trace beside its desktop."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from deskbox.client import AsyncSandbox
from deskbox.trace import TraceFile, TraceMeta, TraceStep
from deskbox.trace.export import export_html
from deskbox.trace.show import TraceServer
from tests.conftest import CHROMIUM
from tests.helpers import run_example

pytestmark = pytest.mark.integration
MARK = (255, 45, 85)
"""The colour the viewer draws what a step did in (--mark in app.css)."""
FLAGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def replay_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "run.zip"
    result = run_example("offline_replay.py", "--backend", "local", "--trace", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"trace saved to {path}" in result.stdout
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        await launched.close()


LOADED = (
    "() => { const i = document.querySelector('.shot img'); return i && i.complete && i.naturalWidth > 0 }"
)


def actions_of(step: TraceStep) -> list[dict[str, Any]]:
    if step.path != "/actions" or not isinstance(step.request, dict):
        return []
    body = step.request
    return list(body.get("actions", [])) if body.get("type") == "batch" else [body]


def clicks_of(step: TraceStep) -> list[dict[str, Any]]:
    return [a for a in actions_of(step) if a.get("type") == "click" and "x" in a]


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


async def check_every_step(page: Any, steps: list[TraceStep], meta: TraceMeta) -> None:
    """Step through the whole trace with the keyboard, checking what each step shows."""
    await page.wait_for_selector(".timeline .step")
    assert await page.locator(".timeline .step").count() == len(steps)
    drawn = 0
    for position, step in enumerate(steps):
        if position:
            await page.keyboard.press("ArrowDown")
        await page.wait_for_selector(f'.timeline .step[data-index="{step.index}"][aria-current="true"]')
        shot = page.locator(".shot")
        assert await shot.get_attribute("data-frame") == str(step.before)
        if step.before is not None:
            await page.wait_for_function(LOADED)
        # Where the time went, as the server measured it.
        assert float(await page.locator(".timing").get_attribute("data-total")) == step.timing.total
        assert (await page.locator(".timing .numbers").inner_text()).count("ms") == 5
        heading = await page.locator(".details h2").inner_text()
        assert heading.startswith(str(step.status)) and heading.endswith(f"{step.method} {step.path}")
        # What the step did, drawn where it did it.
        clicks = clicks_of(step)
        marks = page.locator(".overlay g.mark[data-kind=click]")
        assert await marks.count() == len(clicks)
        for index, click in enumerate(clicks):
            mark = marks.nth(index)
            assert (await mark.get_attribute("data-x"), await mark.get_attribute("data-y")) == (
                str(click["x"]),
                str(click["y"]),
            )
        typed = [a["text"] for a in actions_of(step) if a.get("type") == "type"]
        if typed:
            caption = await page.locator(".overlay g.caption[data-role=typed] text").first.text_content()
            assert typed[0][:20].replace("\n", " ") in caption.replace("\n", " "), caption
        if len(clicks) == 1 and step.before is not None:
            # On pixels: the mark sits on the click's place in the picture as shown.
            box = await page.locator(".shot img").bounding_box()
            picture = Image.open(io.BytesIO(await page.screenshot())).convert("RGB")
            x = box["x"] + clicks[0]["x"] * box["width"] / meta.screen_width
            y = box["y"] + clicks[0]["y"] * box["height"] / meta.screen_height
            assert near(picture.getpixel((round(x), round(y))), MARK), (step.index, picture.getpixel((x, y)))
            away = picture.getpixel((round(x), round(box["y"] + box["height"] - 3)))
            assert not near(away, MARK) or abs(y - box["y"] - box["height"]) < 30
            drawn += 1
    assert drawn >= 5, "the replay clicks at least five times on a screen with a picture"


async def test_the_offline_example_in_the_viewer(replay_trace: Path, browser: Any) -> None:
    with TraceFile(replay_trace) as trace:
        steps, meta = trace.steps, trace.meta
        assert not trace.recovered and trace.notes and len(steps) > 40
        assert {n.source for n in trace.notes} == {"anthropic", "openai"}
    with TraceServer(replay_trace) as server:
        page = await browser.new_page(viewport={"width": 1500, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            await page.goto(server.url)
            await check_every_step(page, steps, meta)
            # The model's words above the steps that carried them out.
            assert await page.locator(".timeline .note-row").count() >= 10
            # Space plays: it moves on by itself, and stops at the last step.
            await page.keyboard.press("Home")
            await page.keyboard.press(" ")
            await page.wait_for_selector(
                '.timeline .step[data-index="3"][aria-current="true"]', timeout=10_000
            )
            await page.keyboard.press(" ")
            # The link worked once: a second browser is turned away.
            again = await browser.new_page()
            assert (await again.goto(server.url)).status == 403
            await again.close()
        finally:
            await page.close()
        assert not errors


async def test_the_exported_file_opens_offline(replay_trace: Path, browser: Any, tmp_path: Path) -> None:
    exported = export_html(replay_trace, tmp_path / "run.html")
    with TraceFile(replay_trace) as trace:
        steps, meta = trace.steps, trace.meta
    context = await browser.new_context(offline=True, viewport={"width": 1500, "height": 900})
    asked: list[str] = []

    async def only_the_file(route: Any) -> None:
        asked.append(route.request.url)
        await route.abort()

    await context.route(lambda url: not url.startswith(("file:", "data:")), only_the_file)
    page = await context.new_page()
    try:
        await page.goto(exported.as_uri())
        await check_every_step(page, steps, meta)
    finally:
        await context.close()
    assert not asked, f"the exported page reached out: {asked[:5]}"


async def test_the_live_trace_beside_the_desktop(sandbox: AsyncSandbox, browser: Any, tmp_path: Path) -> None:
    await sandbox.trace.start(title="live")
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    try:
        await page.goto(await sandbox.trace.live_url())
        assert page.url.split("?")[0].endswith("/trace/live")
        await page.frame_locator("iframe.vnc").locator("canvas").first.wait_for(state="visible")
        await page.wait_for_selector(".live-badge")
        for index, x in enumerate((200, 260, 320), start=1):
            await sandbox.left_click(x, 200)
            row = f'.timeline .step[data-index="{index}"][aria-current="true"]'
            await page.wait_for_selector(row, timeout=15_000)  # it arrives, and is followed
            mark = page.locator(".overlay g.mark[data-kind=click]")
            await mark.wait_for()
            assert await mark.get_attribute("data-x") == str(x)
        with TraceFile(await sandbox.trace.stop(tmp_path / "live.zip")) as trace:
            assert [s.request["x"] for s in trace.steps] == [200, 260, 320]
        await page.wait_for_function("() => !document.querySelector('.live-badge')")
    finally:
        await page.close()
