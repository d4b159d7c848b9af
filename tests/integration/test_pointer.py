"""Pointer actions over HTTP, checked against X and against what Chromium receives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import act, events, eventually, over_both_channels, screenshot

pytestmark = pytest.mark.integration
client = over_both_channels()

TARGET = (700, 200)  # centre of the red #target square
PAD = (800, 550)  # the blue #pad


async def cursor(client: httpx.AsyncClient) -> tuple[int, int]:
    body = (await client.get("/cursor")).json()
    return body["x"], body["y"]


@pytest.mark.parametrize("point", [(0, 0), (1279, 799), (640, 400), (0, 799)])
async def test_move_puts_the_x_pointer_there(client: httpx.AsyncClient, point: tuple[int, int]) -> None:
    await act(client, type="move", x=point[0], y=point[1])
    assert await cursor(client) == point


async def test_left_click_reaches_the_page_and_changes_pixels(client: httpx.AsyncClient, page: Any) -> None:
    before = await screenshot(client)
    assert before.getpixel(TARGET)[:3] == (255, 0, 0)

    await act(client, type="click", x=TARGET[0], y=TARGET[1])

    clicks = await eventually(lambda: events(page, "click"), lambda e: len(e) == 1)
    assert (clicks[0]["x"], clicks[0]["y"], clicks[0]["button"]) == (*TARGET, 0)
    assert clicks[0]["target"] == "target"
    after = await eventually(lambda: screenshot(client), lambda img: img.getpixel(TARGET)[:3] == (0, 200, 0))
    assert after.getpixel((TARGET[0] - 99, TARGET[1] - 99))[:3] == (0, 200, 0)


@pytest.mark.parametrize(
    ("button", "dom_button"), [("left", 0), ("middle", 1), ("right", 2), ("back", 3), ("forward", 4)]
)
async def test_every_button(client: httpx.AsyncClient, page: Any, button: str, dom_button: int) -> None:
    await act(client, type="click", x=PAD[0], y=PAD[1], button=button)
    downs = await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 1)
    assert downs[0]["button"] == dom_button
    assert (downs[0]["x"], downs[0]["y"]) == PAD


async def test_double_and_triple_click(client: httpx.AsyncClient, page: Any) -> None:
    await act(client, type="click", x=PAD[0], y=PAD[1], count=2)
    await eventually(lambda: events(page), lambda e: len([x for x in e if x["type"] == "dblclick"]) == 1)
    await act(client, type="click", x=PAD[0] + 50, y=PAD[1], count=3)
    downs = await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 5)
    assert [d["detail"] for d in downs[2:]] == [1, 2, 3]


async def test_click_at_the_current_position_when_x_y_omitted(client: httpx.AsyncClient, page: Any) -> None:
    await act(client, type="move", x=PAD[0] - 10, y=PAD[1] - 20)
    await act(client, type="click")
    clicks = await eventually(lambda: events(page, "click"), lambda e: len(e) == 1)
    assert (clicks[0]["x"], clicks[0]["y"]) == (PAD[0] - 10, PAD[1] - 20)


async def test_modifiers_are_held_during_the_click(client: httpx.AsyncClient, page: Any) -> None:
    await act(client, type="click", x=PAD[0], y=PAD[1], modifiers=["shift", "ctrl"])
    clicks = await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 1)
    assert clicks[0]["shift"] and clicks[0]["ctrl"] and not clicks[0]["alt"]
    # Alt+click is the window manager's (it moves windows), so check a second combo form.
    await act(client, type="click", x=PAD[0], y=PAD[1], button="right", modifiers="shift")
    clicks = await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 2)
    assert clicks[1]["shift"] and not clicks[1]["ctrl"] and clicks[1]["button"] == 2


async def test_mouse_down_and_up_separately(client: httpx.AsyncClient, page: Any) -> None:
    await act(client, type="mouse_down", x=PAD[0], y=PAD[1], button="left")
    await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 1)
    assert await events(page, "mouseup") == []
    await act(client, type="mouse_up", x=PAD[0] + 30, y=PAD[1] + 40, button="left")
    ups = await eventually(lambda: events(page, "mouseup"), lambda e: len(e) == 1)
    assert (ups[0]["x"], ups[0]["y"]) == (PAD[0] + 30, PAD[1] + 40)


async def test_drag_follows_the_path(client: httpx.AsyncClient, page: Any) -> None:
    path = [{"x": 620, "y": 420}, {"x": 800, "y": 500}, {"x": 950, "y": 650}]
    await act(client, type="drag", path=path)
    ups = await eventually(lambda: events(page, "mouseup"), lambda e: len(e) == 1)
    downs = await events(page, "mousedown")
    assert (downs[0]["x"], downs[0]["y"]) == (620, 420)
    assert (ups[0]["x"], ups[0]["y"]) == (950, 650)
    visited = {tuple(point) for point in await page.evaluate("window.path")}
    assert (800, 500) in visited, "the drag skipped its middle point"
    assert len(visited) >= 10, "the drag jumped instead of moving"


async def test_scroll_in_all_four_directions(client: httpx.AsyncClient, page: Any) -> None:
    position = (
        "[document.getElementById('scroller').scrollLeft, document.getElementById('scroller').scrollTop]"
    )

    async def scroll_to(dx: int, dy: int, expected: list[int]) -> None:
        await act(client, type="scroll", x=300, y=500, dx=dx, dy=dy)
        await eventually(lambda: page.evaluate(position), lambda p: p == expected)

    await act(client, type="scroll", x=300, y=500, dy=1)
    _, notch = await eventually(lambda: page.evaluate(position), lambda p: p[1] > 0)
    await scroll_to(0, 2, [0, 3 * notch])  # down
    await scroll_to(2, 0, [2 * notch, 3 * notch])  # right
    await scroll_to(0, -1, [2 * notch, 2 * notch])  # up
    await scroll_to(-1, 0, [notch, 2 * notch])  # left


async def test_scroll_with_a_modifier(client: httpx.AsyncClient, page: Any) -> None:
    await act(client, type="scroll", x=300, y=500, dy=1, modifiers=["ctrl"])
    wheels = await eventually(lambda: events(page, "wheel"), lambda e: len(e) >= 1)
    assert wheels[0]["ctrl"] and wheels[0]["dy"] > 0


async def test_cursor_position_action(client: httpx.AsyncClient) -> None:
    body = await act(
        client, type="batch", actions=[{"type": "move", "x": 0, "y": 17}, {"type": "cursor_position"}]
    )
    assert body["results"][1]["cursor"] == {"x": 0, "y": 17}
