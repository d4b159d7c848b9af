"""The action schema: parsing, key folding and bounds, without a display."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from deskbox.actions import (
    ActionRequest,
    Batch,
    Click,
    Drag,
    Key,
    Point,
    PyAutoGUI,
    Scroll,
    build,
    out_of_bounds,
    parse_request,
)
from deskbox.desktop.pyautogui import key_table
from deskbox.errors import InvalidActionError

PARSE = TypeAdapter(ActionRequest).validate_python


def test_every_action_type_parses() -> None:
    examples: list[dict[str, Any]] = [
        {"type": "move", "x": 0, "y": 0},
        {"type": "click"},
        {"type": "click", "x": 1, "y": 2, "button": "back", "count": 3, "modifiers": ["shift"]},
        {"type": "mouse_down", "button": "forward"},
        {"type": "mouse_up", "x": 3, "y": 4},
        {"type": "drag", "path": [{"x": 0, "y": 0}, {"x": 5, "y": 5}], "button": "right"},
        {"type": "scroll", "dy": -3, "dx": 2, "modifiers": "ctrl"},
        {"type": "key", "keys": "ctrl+shift+t", "repeat": 2},
        {"type": "key_down", "key": "shift"},
        {"type": "key_up", "key": "shift"},
        {"type": "hold_key", "keys": ["alt"], "duration": 0.5},
        {"type": "type", "text": "héllo → 日本語 ✓ 🙂\n\t"},
        {"type": "wait", "duration": 0},
        {"type": "screenshot", "format": "webp", "quality": 50, "width": 1024},
        {"type": "cursor_position"},
        {"type": "zoom", "region": {"x": 0, "y": 0, "width": 10, "height": 10}},
    ]
    parsed = [PARSE(example) for example in examples]
    assert [action.type for action in parsed] == [example["type"] for example in examples]
    batch = PARSE({"type": "batch", "actions": examples})
    assert isinstance(batch, Batch) and len(batch.actions) == len(examples)


def test_coordinate_zero_is_a_coordinate() -> None:
    click = PARSE({"type": "click", "x": 0, "y": 0})
    assert isinstance(click, Click) and (click.x, click.y) == (0, 0)
    assert list(out_of_bounds(click, 1280, 800)) == []


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("ctrl+shift+t", ["Control_L", "Shift_L", "t"]),
        (["CTRL", "A"], ["Control_L", "a"]),
        ("cmd+option+esc", ["Super_L", "Alt_L", "Escape"]),
        ("ENTER", ["Return"]),
        ("arrowleft", ["Left"]),
        ("PageUp", ["Prior"]),
        ("super", ["Super_L"]),
        ("ctrl++", ["Control_L", "+"]),
        ("+", ["+"]),
        ("ctrl+plus", ["Control_L", "plus"]),
        ("A", ["A"]),
        ("é", ["é"]),
        ("XF86AudioMute", ["XF86AudioMute"]),
        ("kp_enter", ["KP_Enter"]),
        ("f12", ["F12"]),
        ("Page_Down", ["Page_Down"]),
        ("shift+Tab", ["Shift_L", "Tab"]),
    ],
)
def test_key_spellings_fold_to_x_names(spelling: Any, canonical: list[str]) -> None:
    action = PARSE({"type": "key", "keys": spelling})
    assert isinstance(action, Key)
    assert action.keys == canonical


@pytest.mark.parametrize(
    "body",
    [
        {"type": "key", "keys": "hyper_drive"},
        {"type": "key", "keys": ""},
        {"type": "key", "keys": [1]},
        {"type": "key_down", "key": "nope"},
        {"type": "click", "modifiers": ["nope"]},
        {"type": "move", "x": -1, "y": 0},
        {"type": "move", "x": 40000, "y": 0},
        {"type": "click", "x": 1},
        {"type": "drag", "path": [{"x": 1, "y": 1}]},
        {"type": "scroll"},
        {"type": "wait", "duration": 61},
        {"type": "hold_key", "keys": "a", "duration": -1},
        {"type": "type", "text": ""},
        {"type": "click", "count": 0},
        {"type": "screenshot", "scale": 1, "width": 5},
        {"type": "batch", "actions": [{"type": "batch", "actions": [{"type": "wait", "duration": 0}]}]},
        {"type": "click", "extra": 1},
        {"type": "unknown"},
    ],
)
def test_bad_actions_are_rejected(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PARSE(body)


def test_out_of_bounds_names_each_bad_coordinate() -> None:
    batch = Batch(
        actions=[
            Click(x=1279, y=799),
            Drag(path=[Point(x=0, y=0), Point(x=1280, y=0), Point(x=5, y=900)]),
            Scroll(x=2000, y=5, dy=1),
        ]
    )
    problems = dict(out_of_bounds(batch, 1280, 800))
    assert set(problems) == {
        ("actions", 1, "path", 1, "x"),
        ("actions", 1, "path", 2, "y"),
        ("actions", 2, "x"),
    }
    assert "outside the screen (0..1279)" in problems[("actions", 2, "x")]


def test_actions_are_json_round_trippable() -> None:
    action = PARSE({"type": "drag", "path": [{"x": 0, "y": 0}, {"x": 5, "y": 5}], "modifiers": "shift"})
    again = PARSE(action.model_dump(mode="json"))
    assert again == action


@pytest.mark.parametrize(
    "action",
    [
        {"type": "type", "text": "a"},
        {"type": "key", "keys": "ctrl+a"},
        {"type": "move", "x": 1, "y": 1},
        {"type": "click"},
        {"type": "click", "x": 0, "y": 0},
        {"type": "scroll", "dy": 1},
        {"type": "scroll", "dy": 1, "x": 3, "y": 4},
        {"type": "mouse_down"},
        {"type": "drag", "path": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
        {"type": "screenshot"},
        {"type": "screenshot", "region": {"x": 0, "y": 0, "width": 1, "height": 1}},
        {"type": "zoom", "region": {"x": 0, "y": 0, "width": 1, "height": 1}},
        {"type": "batch", "actions": [{"type": "type", "text": "a"}, {"type": "move", "x": 0, "y": 0}]},
    ],
)
def test_the_screen_size_is_needed_exactly_when_an_action_places_something(action: dict[str, object]) -> None:
    from deskbox.actions import out_of_bounds, parse_request, places_on_screen

    parsed = parse_request(action)
    # On a 0x0 screen every point and region is out of bounds, so these agree.
    assert places_on_screen(parsed) == bool(list(out_of_bounds(parsed, 0, 0)))


@pytest.mark.parametrize(
    ("code", "signal"),
    [("DONE", "DONE"), ("  FAIL\n", "FAIL"), ("WAIT", "WAIT"), ("done", None), ("print('DONE')", None)],
)
def test_osworld_signals_are_recognised_exactly(code: str, signal: str | None) -> None:
    assert PyAutoGUI(code=code).signal == signal


def test_a_batch_counts_the_waits_of_wait_signals() -> None:
    parse_request([{"type": "pyautogui", "code": "WAIT", "wait": 30}, {"type": "wait", "duration": 30}])
    with pytest.raises(InvalidActionError, match="waits and holds keys 61 s"):
        parse_request([{"type": "pyautogui", "code": "WAIT", "wait": 31}, {"type": "wait", "duration": 30}])


def test_pyautogui_key_names_map_onto_x_keys() -> None:
    table = key_table(["enter", "num5", "winleft", "ctrlright", "pgdn", "a", "<", "fn", "nosuchkey"])
    assert table == {
        "enter": "Return",
        "num5": "KP_5",
        "winleft": "Super_L",
        "ctrlright": "Control_R",
        "pgdn": "Next",
        "a": "a",
        "<": "<",
    }


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (Click, {"x": 5}),
        (Click, {"x": -1, "y": 2, "button": "fourth"}),
        (Key, {"keys": "ctrl+flux"}),
        (Key, {"keys": []}),
        (Scroll, {"dy": "far"}),
        (Drag, {"path": [{"x": 0, "y": 0}]}),
        (PyAutoGUI, {"code": 7}),
    ],
)
def test_the_sdk_places_a_bad_field_where_the_server_does(model: type[Any], fields: dict[str, Any]) -> None:
    """build() validates one action's own model; POST /actions finds the model by its tag
    in a union. The same mistake must come out with the same fields and problems."""
    tag = model.model_fields["type"].default
    with pytest.raises(InvalidActionError) as built:
        build(model, **fields)
    with pytest.raises(InvalidActionError) as served:
        parse_request({"type": tag, **fields})
    assert built.value.details == served.value.details
    assert built.value.message == served.value.message
    assert all(detail["loc"][:2] == ["body", tag] for detail in built.value.details)
