"""E2B stock mode's allowlists: it answers only routes the server has, refuses every other
route and action through its one refusal, and refuses before anything runs."""

from __future__ import annotations

import re

import e2b
import httpx
import pytest

from deskbox import UnsupportedInModeError
from deskbox.actions import Action
from deskbox.server import Settings, create_app
from deskbox.transports import e2b_stock
from deskbox.transports.e2b_stock import ACTIONS, MODE, OFF_ACTIONS, StockTransport


class Untouchable:
    """A stand-in desktop that fails the test if a refused request reaches it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a refused request reached the desktop ({name})")


def server_routes() -> set[str]:
    paths = create_app(Settings(token="t", display=":99")).openapi()["paths"]
    return {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods}


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=StockTransport(Untouchable(), e2b), base_url="http://stock")


def test_stock_mode_answers_only_routes_the_server_has() -> None:
    assert StockTransport(Untouchable(), e2b).routes <= server_routes()


@pytest.mark.parametrize("route", sorted(server_routes() - StockTransport(Untouchable(), e2b).routes))
async def test_every_other_route_is_refused_by_name(route: str) -> None:
    method, path = route.split(" ", 1)
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    async with client() as http:
        with pytest.raises(UnsupportedInModeError) as refused:
            await http.request(method, concrete)
    assert refused.value.what == f"{method} {concrete}" and refused.value.mode == MODE


def test_every_action_type_is_declared() -> None:
    union = Action.__origin__.__args__  # type: ignore[attr-defined]
    types = {model.model_fields["type"].default for model in union}
    # A new action type fails here until someone decides for stock mode.
    assert types == ACTIONS | OFF_ACTIONS
    assert not ACTIONS & OFF_ACTIONS


@pytest.mark.parametrize("kind", sorted(OFF_ACTIONS))
async def test_actions_decided_off_are_refused_by_name(kind: str) -> None:
    action = {"type": "pyautogui", "code": "pass"} if kind == "pyautogui" else {"type": kind}
    async with client() as http:
        with pytest.raises(UnsupportedInModeError) as refused:
            await http.post("/actions", json=action)
    assert refused.value.what == f"the {kind!r} action" and refused.value.mode == MODE


async def test_an_action_off_in_the_mode_is_refused_before_the_batch_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(e2b_stock, "ACTIONS", ACTIONS - {"zoom"})
    zoom = {"type": "zoom", "region": {"x": 0, "y": 0, "width": 5, "height": 5}}
    batch = {"type": "batch", "actions": [{"type": "move", "x": 1, "y": 1}, zoom]}
    async with client() as http:
        with pytest.raises(UnsupportedInModeError, match="the 'zoom' action is not available in e2b stock"):
            await http.post("/actions", json=batch)
