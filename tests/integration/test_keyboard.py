"""Keyboard actions over HTTP, checked by the text Chromium ends up with."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.helpers import act, events, eventually, focus_text_field, over_both_channels

pytestmark = pytest.mark.integration
client = over_both_channels()

UNICODE = "héllo → 日本語 ✓ 🙂"


async def field_value(page: Any) -> str:
    value: str = await page.eval_on_selector("#text", "e => e.value")
    return value


@pytest.mark.parametrize(
    "text",
    [
        UNICODE,
        "plain ASCII with Symbols !@#$%^&*()_+{}|:\"<>?~`-=[]\\;',./",
        "line one\nline two\n\nafter a blank line",
        "Ünïcödé ÀÉÎÕÜ ß ø å æ œ € £ ¥ — “quotes” ‘single’ … ½",
        "Ελληνικά Русский עברית العربية 한국어 中文 ไทย",
        "emoji 🙂🚀🎉👍🏽 and ZWJ 👩‍💻",
    ],
    ids=["issue-example", "ascii", "newlines", "latin", "scripts", "emoji"],
)
async def test_type_lands_exactly(client: httpx.AsyncClient, page: Any, text: str) -> None:
    await focus_text_field(client, page)
    await act(client, type="type", text=text)
    assert await eventually(lambda: field_value(page), lambda v: v == text) == text


async def test_type_more_distinct_characters_than_spare_keycodes(
    client: httpx.AsyncClient, page: Any
) -> None:
    # 60 distinct CJK characters: more than the Xvfb keymap's spare keycodes, so the
    # bindings are reused within one text.
    text = "".join(chr(0x4E00 + i * 7) for i in range(60))
    await focus_text_field(client, page)
    await act(client, type="type", text=text)
    assert await eventually(lambda: field_value(page), lambda v: v == text, timeout=10) == text


async def test_tab_is_typed_as_the_tab_key(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await act(client, type="type", text="a\tb")
    # In a textarea Tab moves the focus on, so "b" lands outside it: the key really was Tab.
    keys = await eventually(lambda: events(page, "keydown"), lambda e: len(e) >= 3)
    assert [k["key"] for k in keys[:3]] == ["a", "Tab", "b"]
    assert await field_value(page) == "a"


@pytest.mark.parametrize("keys", ["ctrl+a", ["ctrl", "a"], ["CTRL", "A"], "Control_L+a", "CTRL+A"], ids=str)
async def test_key_combo_spellings(client: httpx.AsyncClient, page: Any, keys: Any) -> None:
    await focus_text_field(client, page)
    await act(client, type="type", text="select me")
    await act(client, type="key", keys=keys)
    await act(client, type="key", keys="BackSpace")
    assert await eventually(lambda: field_value(page), lambda v: v == "") == ""


@pytest.mark.parametrize(
    ("keys", "dom_key"),
    [
        ("enter", "Enter"),
        ("Return", "Enter"),
        ("esc", "Escape"),
        ("ArrowLeft", "ArrowLeft"),
        ("arrowup", "ArrowUp"),
        ("pageup", "PageUp"),
        ("PgDn", "PageDown"),
        ("Home", "Home"),
        ("F5", "F5"),
        ("delete", "Delete"),
        ("space", " "),
        ("A", "A"),
        ("?", "?"),
    ],
)
async def test_key_names_reach_the_page(
    client: httpx.AsyncClient, page: Any, keys: str, dom_key: str
) -> None:
    await page.evaluate("window.addEventListener('keydown', e => e.preventDefault())")
    await act(client, type="key", keys=keys)
    downs = await eventually(lambda: events(page, "keydown"), lambda e: any(k["key"] == dom_key for k in e))
    assert downs[-1]["key"] == dom_key


async def test_key_repeat(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await act(client, type="type", text="abcdef")
    await act(client, type="key", keys="BackSpace", repeat=4)
    assert await eventually(lambda: field_value(page), lambda v: v == "ab") == "ab"


async def test_key_down_holds_until_key_up(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await act(client, type="key_down", key="shift")
    await act(client, type="key", keys="a")
    await act(client, type="key", keys="b")
    await act(client, type="key_up", key="shift")
    await act(client, type="key", keys="c")
    assert await eventually(lambda: field_value(page), lambda v: v == "ABc") == "ABc"


async def test_hold_key_holds_for_the_duration(client: httpx.AsyncClient, page: Any) -> None:
    started = time.monotonic()
    await act(client, type="hold_key", keys="shift", duration=0.3)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.3
    recorded = await eventually(lambda: events(page), lambda e: any(k["type"] == "keyup" for k in e))
    shift_events = [k["type"] for k in recorded if k["key"] == "Shift"]
    assert shift_events[0] == "keydown" and shift_events[-1] == "keyup"


async def test_wait_waits(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    await act(client, type="wait", duration=0.25)
    assert time.monotonic() - started >= 0.25
