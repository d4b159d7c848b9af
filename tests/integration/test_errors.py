"""Bad input gets a 4xx that names the field; no token gets a 401; the server keeps serving."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import act

pytestmark = pytest.mark.integration


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    return body["error"]


def locations(error: dict[str, Any]) -> list[list[Any]]:
    return [detail["loc"] for detail in error["details"]]


BAD_ACTIONS = [
    # (name, body, a location that must be named, a phrase the message must contain)
    ("x off screen", {"type": "click", "x": 1280, "y": 10}, ["body", "x"], "outside the screen"),
    ("y off screen", {"type": "move", "x": 5, "y": 800}, ["body", "y"], "outside the screen"),
    ("negative x", {"type": "move", "x": -1, "y": 5}, ["body", "move", "x"], "greater than or equal"),
    ("huge x", {"type": "move", "x": 10**9, "y": 5}, ["body", "move", "x"], "less than or equal"),
    ("x without y", {"type": "click", "x": 5}, ["body", "click"], "give both x and y"),
    ("negative wait", {"type": "wait", "duration": -1}, ["body", "wait", "duration"], "greater than"),
    ("absurd wait", {"type": "wait", "duration": 3600}, ["body", "wait", "duration"], "less than"),
    (
        "absurd hold",
        {"type": "hold_key", "keys": "shift", "duration": 1e9},
        ["body", "hold_key", "duration"],
        "less than",
    ),
    ("unknown key", {"type": "key", "keys": "ctrl+flux"}, ["body", "key", "keys"], "unknown key name 'flux'"),
    ("unknown key in list", {"type": "key", "keys": ["ctrl", "nope"]}, ["body", "key", "keys"], "'nope'"),
    (
        "unknown modifier",
        {"type": "click", "modifiers": ["hyperdrive"]},
        ["body", "click", "modifiers"],
        "unknown key",
    ),
    ("empty keys", {"type": "key", "keys": []}, ["body", "key", "keys"], "non-empty"),
    ("empty drag", {"type": "drag", "path": []}, ["body", "drag", "path"], "at least 2"),
    ("one-point drag", {"type": "drag", "path": [{"x": 1, "y": 1}]}, ["body", "drag", "path"], "at least 2"),
    (
        "drag off screen",
        {"type": "drag", "path": [{"x": 1, "y": 1}, {"x": 2000, "y": 1}]},
        ["body", "path", 1, "x"],
        "outside",
    ),
    ("unknown type", {"type": "teleport", "x": 1}, ["body", "type"], "teleport"),
    ("missing type", {"x": 1, "y": 2}, ["body", "type"], "missing 'type'"),
    ("bad button", {"type": "click", "button": "thumb"}, ["body", "click", "button"], "left"),
    ("count 4", {"type": "click", "count": 4}, ["body", "click", "count"], "less than or equal to 3"),
    ("typo field", {"type": "click", "buton": "left"}, ["body", "click", "buton"], "Extra inputs"),
    ("empty text", {"type": "type", "text": ""}, ["body", "type", "text"], "at least 1"),
    ("zero scroll", {"type": "scroll", "dx": 0, "dy": 0}, ["body", "scroll"], "non-zero"),
    (
        "zoom off screen",
        {"type": "zoom", "region": {"x": 1200, "y": 0, "width": 200, "height": 10}},
        ["body", "region"],
        "does not fit",
    ),
    ("empty batch", {"type": "batch", "actions": []}, ["body", "batch", "actions"], "at least 1"),
    (
        "batch item bad",
        {"type": "batch", "actions": [{"type": "move", "x": 1, "y": 1}, {"type": "key", "keys": "zzz"}]},
        ["body", "batch", "actions", 1, "key", "keys"],
        "zzz",
    ),
    (
        "batch item off screen",
        {"type": "batch", "actions": [{"type": "move", "x": 1, "y": 1}, {"type": "move", "x": 1, "y": 9000}]},
        ["body", "actions", 1, "y"],
        "outside",
    ),
    ("not json object", [1, 2, 3], ["body"], ""),
]


@pytest.mark.parametrize(
    ("name", "body", "loc", "phrase"), BAD_ACTIONS, ids=[case[0] for case in BAD_ACTIONS]
)
async def test_bad_actions_get_422_naming_the_field(
    client: httpx.AsyncClient, name: str, body: Any, loc: list[Any], phrase: str
) -> None:
    error = error_of(await client.post("/actions", json=body), 422)
    assert error["type"] == "invalid_request"
    assert loc in locations(error), f"{loc} not in {locations(error)}"
    assert phrase in error["message"]


async def test_invalid_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/actions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert error_of(response, 422)["type"] == "invalid_request"


async def test_a_rejected_batch_has_no_effect(client: httpx.AsyncClient) -> None:
    await act(client, type="move", x=10, y=10)
    batch = {
        "type": "batch",
        "actions": [{"type": "move", "x": 500, "y": 500}, {"type": "click", "x": 99999, "y": 1}],
    }
    error_of(await client.post("/actions", json=batch), 422)
    assert (await client.get("/cursor")).json() == {"x": 10, "y": 10}


async def test_a_batch_stops_at_the_action_that_fails(client: httpx.AsyncClient) -> None:
    # A chord of more distinct unmapped characters than the keymap has spare keycodes
    # is valid input that cannot be pressed at once: it fails while running.
    impossible = [chr(0x3400 + i) for i in range(40)]
    batch = {
        "type": "batch",
        "actions": [
            {"type": "move", "x": 321, "y": 123},
            {"type": "key", "keys": impossible},
            {"type": "move", "x": 5, "y": 5},
        ],
    }
    error = error_of(await client.post("/actions", json=batch), 422)
    assert error["type"] == "action_failed"
    assert error["failed_index"] == 1
    assert "action 1 (key) failed" in error["message"]
    assert [r["type"] for r in error["results"]] == ["move"]
    assert (await client.get("/cursor")).json() == {"x": 321, "y": 123}, "actions after the failure ran"


BAD_SCREENSHOT_PARAMS = [
    ({"format": "gif"}, ["query", "format"]),
    ({"quality": 0}, ["query", "quality"]),
    ({"quality": 101}, ["query", "quality"]),
    ({"width": -5}, ["query", "width"]),
    ({"scale": 0}, ["query", "scale"]),
    ({"scale": 0.5, "width": 100}, ["query", "scale"]),
    ({"region": "1,2,3"}, ["query", "region"]),
    ({"region": "a,b,c,d"}, ["query", "region"]),
    ({"region": "0,0,0,10"}, ["query", "region", "width"]),
    ({"region": "1200,700,200,200"}, ["query", "region"]),
]


@pytest.mark.parametrize(
    ("params", "loc"), BAD_SCREENSHOT_PARAMS, ids=[str(p[0]) for p in BAD_SCREENSHOT_PARAMS]
)
async def test_bad_screenshot_params(
    client: httpx.AsyncClient, params: dict[str, Any], loc: list[str]
) -> None:
    error = error_of(await client.get("/screenshot", params=params), 422)
    assert loc in locations(error)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/info"),
        ("POST", "/actions"),
        ("GET", "/screenshot"),
        ("POST", "/shell/run"),
        ("GET", "/files"),
        ("GET", "/clipboard"),
        ("GET", "/windows"),
        ("GET", "/processes"),
        ("GET", "/files/download"),
        ("PUT", "/files/upload"),
    ],
)
async def test_every_endpoint_needs_the_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = await client.request(method, path, headers=headers)
        error = error_of(response, 401)
        assert error["type"] == "authentication_error"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_token_in_the_query_string_is_not_accepted(client: httpx.AsyncClient) -> None:
    from tests.conftest import TOKEN

    response = await client.get("/info", params={"token": TOKEN}, headers={"Authorization": ""})
    error_of(response, 401)


async def test_health_is_open_and_reveals_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "components": {"server": "ready", "display": "ready"}}


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    assert error_of(await client.get("/nope"), 404)["type"] == "not_found"


async def test_the_server_keeps_serving_after_failures(client: httpx.AsyncClient) -> None:
    for body, _, _, _ in [(case[1], None, None, None) for case in BAD_ACTIONS]:
        await client.post("/actions", json=body)
    await act(client, type="move", x=42, y=43)
    assert (await client.get("/cursor")).json() == {"x": 42, "y": 43}
    info = (await client.get("/info")).json()
    assert info["screen"] == {"width": 1280, "height": 800}
