"""pyautogui code actions on a real desktop: every pyautogui function an agent uses,
checked by what Chromium and X saw, and every way code can fail, with the sandbox
serving after it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.helpers import act, events, eventually, focus_text_field, over_both_channels, screenshot, settled

pytestmark = pytest.mark.integration
client = over_both_channels()

TARGET = (700, 200)  # centre of the red #target square
PAD = (800, 550)  # the blue #pad
SCROLLER = (300, 500)


async def run(client: httpx.AsyncClient, code: str, **fields: Any) -> dict[str, Any]:
    """Run code as one pyautogui action and return its result."""
    body = await act(client, type="pyautogui", code=code, **fields)
    result: dict[str, Any] = body["results"][0]
    return result


async def refused(client: httpx.AsyncClient, code: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/actions", json={"type": "pyautogui", "code": code, **fields})
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def text_value(page: Any) -> str:
    value: str = await page.evaluate("document.getElementById('text').value")
    return value


async def cursor(client: httpx.AsyncClient) -> tuple[int, int]:
    body = (await client.get("/cursor")).json()
    return body["x"], body["y"]


# ---- keyboard ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["héllo → 日本語 ✓ 🙂", "a<b>c & 'q' \"w\" {x} |y| ~`^", "two\nlines"])
async def test_write_types_any_text_exactly(client: httpx.AsyncClient, page: Any, text: str) -> None:
    await focus_text_field(client, page)
    await run(client, f"pyautogui.write({text!r})")
    assert await eventually(lambda: text_value(page), lambda v: v == text) == text


async def test_typewrite_with_an_interval_and_a_list_of_key_names(
    client: httpx.AsyncClient, page: Any
) -> None:
    await focus_text_field(client, page)
    started = time.monotonic()
    await run(client, "pyautogui.typewrite(['a', 'b', 'left', 'X', 'end', 'enter', 'é'], interval=0.02)")
    assert time.monotonic() - started >= 7 * 0.02
    assert await eventually(lambda: text_value(page), lambda v: v == "aXb\né") == "aXb\né"


async def test_press_hotkey_and_held_keys(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await run(client, "pyautogui.write('abc')\npyautogui.hotkey('ctrl', 'a')\npyautogui.press('z')")
    await eventually(lambda: text_value(page), lambda v: v == "z")
    await run(
        client,
        "pyautogui.press('left', presses=1)\npyautogui.press(['y', 'x'])\npyautogui.press('!', presses=2)",
    )
    await eventually(lambda: text_value(page), lambda v: v == "yx!!z")
    await run(
        client,
        "pyautogui.keyDown('shift')\npyautogui.press('q')\npyautogui.keyUp('shift')\n"
        "with pyautogui.hold('shift'):\n    pyautogui.press('w')\npyautogui.press('e')",
    )
    await eventually(lambda: text_value(page), lambda v: v == "yx!!QWez")
    downs = [e for e in await events(page, "keydown") if e["key"] in ("Q", "W", "e")]
    assert [(e["key"], e["shift"]) for e in downs] == [("Q", True), ("W", True), ("e", False)]


async def test_a_shifted_character_pressed_alone_types_itself(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await run(
        client, "pyautogui.press('A')\npyautogui.keyDown('<')\npyautogui.keyUp('<')\npyautogui.press('b')"
    )
    assert await eventually(lambda: text_value(page), lambda v: v == "A<b") == "A<b"


async def test_pyautogui_knows_its_own_key_names(client: httpx.AsyncClient) -> None:
    result = await run(
        client,
        "print(pyautogui.isValidKey('enter'), pyautogui.isValidKey('num5'), pyautogui.isValidKey('f24'),"
        " pyautogui.isValidKey('nosuchkey'))",
    )
    assert result["output"] == "True True True False\n"


async def test_an_unknown_key_name_is_an_error_not_a_silent_success(client: httpx.AsyncClient) -> None:
    error = await refused(client, "pyautogui.press('nosuchkey')")
    assert "no key is named 'nosuchkey'" in error["message"]
    assert error["details"][0]["loc"] == ["body", "code"]
    assert error["details"][0]["msg"].startswith("line 1: ")


# ---- pointer -----------------------------------------------------------------------------


async def test_click_lands_where_asked(client: httpx.AsyncClient, page: Any) -> None:
    await run(client, f"pyautogui.click({TARGET[0]}, {TARGET[1]})")
    clicks = await eventually(lambda: events(page, "click"), lambda e: len(e) == 1)
    assert (clicks[0]["x"], clicks[0]["y"], clicks[0]["button"], clicks[0]["target"]) == (
        *TARGET,
        0,
        "target",
    )
    await eventually(lambda: screenshot(client), lambda img: img.getpixel(TARGET)[:3] == (0, 200, 0))


@pytest.mark.parametrize(
    ("code", "dom_button"),
    [
        ("pyautogui.rightClick({x}, {y})", 2),
        ("pyautogui.middleClick({x}, {y})", 1),
        ("pyautogui.click(x={x}, y={y}, button='right')", 2),
        ("pyautogui.click(({x}, {y}))", 0),
    ],
)
async def test_click_buttons_and_argument_forms(
    client: httpx.AsyncClient, page: Any, code: str, dom_button: int
) -> None:
    await run(client, code.format(x=PAD[0], y=PAD[1]))
    downs = await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 1)
    assert (downs[0]["x"], downs[0]["y"], downs[0]["button"]) == (*PAD, dom_button)


async def test_double_and_triple_clicks_count_as_such(client: httpx.AsyncClient, page: Any) -> None:
    # Away from where other tests click: Chromium counts on from a click made just before.
    x, y = PAD[0] + 150, PAD[1] + 100
    await run(client, f"pyautogui.doubleClick({x}, {y})")
    await eventually(lambda: events(page, "dblclick"), lambda e: len(e) == 1)
    await run(client, f"pyautogui.tripleClick({x - 40}, {y})")
    downs = await eventually(lambda: events(page, "mousedown"), lambda e: len(e) == 5)
    assert [d["detail"] for d in downs] == [1, 2, 1, 2, 3]
    await run(client, f"pyautogui.click({x - 80}, {y}, clicks=2, interval=0.05)")
    # Chromium fires dblclick on a triple click's second press as well.
    doubles = await eventually(lambda: events(page, "dblclick"), lambda e: len(e) == 3)
    assert [d["x"] for d in doubles] == [x, x - 40, x - 80]


async def test_mouse_down_and_up_at_points(client: httpx.AsyncClient, page: Any) -> None:
    await run(
        client, f"pyautogui.mouseDown({PAD[0]}, {PAD[1]})\npyautogui.mouseUp({PAD[0] + 30}, {PAD[1] + 20})"
    )
    ups = await eventually(lambda: events(page, "mouseup"), lambda e: len(e) == 1)
    downs = await events(page, "mousedown")
    assert (downs[0]["x"], downs[0]["y"]) == PAD
    assert (ups[0]["x"], ups[0]["y"]) == (PAD[0] + 30, PAD[1] + 20)


async def test_move_to_move_rel_position_and_size(client: httpx.AsyncClient) -> None:
    result = await run(
        client,
        "pyautogui.moveTo(100, 150)\npyautogui.moveRel(25, -50)\nprint(tuple(pyautogui.position()))\n"
        "print(tuple(pyautogui.size()), pyautogui.onScreen(1279, 799), pyautogui.onScreen(1280, 5))",
    )
    assert result["output"] == "(125, 100)\n(1280, 800) True False\n"
    assert await cursor(client) == (125, 100)
    await run(client, "pyautogui.move(10, 10)\npyautogui.moveTo(300, 200, duration=0.1)")
    assert await cursor(client) == (300, 200)


async def test_points_off_the_screen_go_to_its_edge_as_pyautogui_documents(client: httpx.AsyncClient) -> None:
    await run(client, "pyautogui.moveTo(5000, -20)")
    assert await cursor(client) == (1279, 0)


async def test_drag_to_with_a_duration_moves_between_the_points(client: httpx.AsyncClient, page: Any) -> None:
    start, end = (PAD[0] - 100, PAD[1]), (PAD[0] + 100, PAD[1] + 60)
    await run(
        client, f"pyautogui.moveTo{start}\npyautogui.dragTo({end[0]}, {end[1]}, duration=0.2, button='left')"
    )
    ups = await eventually(lambda: events(page, "mouseup"), lambda e: len(e) == 1)
    downs = await events(page, "mousedown")
    assert (downs[0]["x"], downs[0]["y"]) == start
    assert (ups[0]["x"], ups[0]["y"]) == end
    path = await page.evaluate("window.path")
    between = [p for p in path if start[0] < p[0] < end[0]]
    assert len(between) >= 3, path
    await run(client, "pyautogui.dragRel(-50, 0, duration=0.3)")
    ups = await eventually(lambda: events(page, "mouseup"), lambda e: len(e) == 2)
    assert (ups[1]["x"], ups[1]["y"]) == (end[0] - 50, end[1])


async def test_scroll_and_hscroll_send_every_notch(client: httpx.AsyncClient, page: Any) -> None:
    def total(wheels: list[dict[str, Any]], axis: str) -> float:
        # Chromium may fold notches that arrive while it is busy into one event.
        return sum(w[axis] for w in wheels)

    await run(client, f"pyautogui.scroll(-3, {SCROLLER[0]}, {SCROLLER[1]})")
    wheels = await eventually(lambda: events(page, "wheel"), lambda e: total(e, "dy") == 360)
    assert (wheels[0]["x"], wheels[0]["y"]) == SCROLLER
    scrolled = await settled(
        lambda: page.evaluate("document.getElementById('scroller').scrollTop"), lambda v: v > 0
    )
    await run(client, "pyautogui.scroll(1)")
    await eventually(
        lambda: page.evaluate("document.getElementById('scroller').scrollTop"), lambda v: v < scrolled
    )
    before = len(await events(page, "wheel"))
    await run(client, "pyautogui.hscroll(2)")
    await eventually(lambda: events(page, "wheel"), lambda e: total(e[before:], "dx") == 240)


# ---- the screen --------------------------------------------------------------------------


async def test_screenshot_and_pixel_read_the_screen(
    client: httpx.AsyncClient, page: Any, tmp_path: Any
) -> None:
    shot = tmp_path / "shot.png"
    result = await run(
        client,
        f"image = pyautogui.screenshot({str(shot)!r})\nprint(image.size, image.mode)\n"
        f"print(tuple(pyautogui.pixel({TARGET[0]}, {TARGET[1]})))\n"
        f"part = pyautogui.screenshot(region=(600, 100, 50, 40))\nprint(part.size, part.getpixel((10, 10)))",
    )
    assert result["output"] == "(1280, 800) RGB\n(255, 0, 0)\n(50, 40) (255, 0, 0)\n"
    assert shot.read_bytes().startswith(b"\x89PNG")


# ---- OSWorld's signals, output and failures ----------------------------------------------


async def test_osworld_signals(client: httpx.AsyncClient) -> None:
    for signal in ("DONE", "FAIL"):
        result = await run(client, f"  {signal}\n")
        assert (result["signal"], result.get("output")) == (signal, None)
    started = time.monotonic()
    result = await run(client, "WAIT", wait=0.3)
    assert result["signal"] == "WAIT"
    assert time.monotonic() - started >= 0.3


async def test_output_is_what_the_code_printed(client: httpx.AsyncClient) -> None:
    result = await run(client, "import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert (result["output"], result.get("signal")) == ("out\nerr\n", None)


async def test_code_that_raises_answers_with_its_traceback_and_the_worker_serves_on(
    client: httpx.AsyncClient,
) -> None:
    error = await refused(client, "x = 1\nprint('before')\nundefined_name + x")
    assert error["type"] == "action_failed"
    assert "NameError: name 'undefined_name' is not defined" in error["message"]
    assert 'File "<pyautogui>", line 3' in error["message"]
    assert "before" in error["message"]
    assert "_worker.py" not in error["message"]
    assert error["details"][0] == {
        "loc": ["body", "code"],
        "msg": "line 3: NameError: name 'undefined_name' is not defined",
        "type": "script_error",
    }
    assert (await run(client, "print(1 + 1)"))["output"] == "2\n"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("def broken(:\n    pass", "SyntaxError"),
        ("raise SystemExit(3)", "SystemExit: 3"),
        ("import os\nos._exit(7)", "exited with code 7"),
    ],
)
async def test_every_kind_of_failure_is_a_4xx_and_the_next_code_runs(
    client: httpx.AsyncClient, code: str, problem: str
) -> None:
    error = await refused(client, code)
    assert problem in error["message"]
    assert (await run(client, "print('still here')"))["output"] == "still here\n"


async def test_code_that_hangs_is_stopped_at_its_timeout(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    error = await refused(client, "while True:\n    pass", timeout=0.5)
    assert time.monotonic() - started < 10
    assert "timeout of 0.5 s" in error["message"]
    assert ["body", "timeout"] in [d["loc"] for d in error["details"]]
    assert (await run(client, "print('new worker')"))["output"] == "new worker\n"


async def test_keys_left_down_by_failed_code_are_released(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await refused(client, "pyautogui.keyDown('shift')\nraise RuntimeError('gave up')")
    await refused(client, "pyautogui.keyDown('shift')\nimport time\ntime.sleep(30)", timeout=0.3)
    await act(client, type="type", text="low")
    assert await eventually(lambda: text_value(page), lambda v: v == "low") == "low"


async def test_settings_changed_by_code_do_not_carry_over(client: httpx.AsyncClient) -> None:
    await run(client, "pyautogui.PAUSE = 5\npyautogui.FAILSAFE = True")
    started = time.monotonic()
    result = await run(client, "pyautogui.moveTo(0, 0)\nprint(pyautogui.PAUSE, pyautogui.FAILSAFE)")
    assert result["output"] == "0.0 False\n"
    assert time.monotonic() - started < 4


async def test_pyautogui_runs_in_a_batch_in_order(client: httpx.AsyncClient, page: Any) -> None:
    body = await act(
        client,
        type="batch",
        actions=[
            {"type": "click", "x": 300, "y": 175},
            {"type": "pyautogui", "code": "pyautogui.write('batched')"},
            {"type": "pyautogui", "code": "DONE"},
        ],
    )
    assert [r["type"] for r in body["results"]] == ["click", "pyautogui", "pyautogui"]
    assert body["results"][2]["signal"] == "DONE"
    assert await eventually(lambda: text_value(page), lambda v: v == "batched") == "batched"


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"code": ""}, ["body", "pyautogui", "code"]),
        ({"code": "pass", "timeout": 0}, ["body", "pyautogui", "timeout"]),
        ({"code": "pass", "timeout": 10_000}, ["body", "pyautogui", "timeout"]),
        ({"code": "a\x00b"}, ["body", "pyautogui", "code"]),
    ],
)
async def test_bad_fields_are_named(
    client: httpx.AsyncClient, fields: dict[str, Any], loc: list[str]
) -> None:
    response = await client.post("/actions", json={"type": "pyautogui", **fields})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["loc"] == loc
