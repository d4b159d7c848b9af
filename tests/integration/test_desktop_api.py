"""Clipboard, windows, launching and opening, screen and info, on the real desktop."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import act, eventually, file_text, focus_text_field, register_scheme_handler

pytestmark = pytest.mark.integration


async def test_clipboard_round_trip_and_paste(client: httpx.AsyncClient, page: Any) -> None:
    text = "clipboard → 日本語 🙂\nsecond line"
    assert (await client.put("/clipboard", json={"text": text})).status_code == 200
    assert (await client.get("/clipboard")).json() == {"text": text}

    await focus_text_field(client, page)
    await act(client, type="key", keys="ctrl+v")
    value = await eventually(lambda: page.eval_on_selector("#text", "e => e.value"), lambda v: v == text)
    assert value == text


async def test_copy_in_an_app_shows_in_the_clipboard(client: httpx.AsyncClient, page: Any) -> None:
    await focus_text_field(client, page)
    await act(client, type="type", text="copied from the page")
    await act(client, type="key", keys="ctrl+a")
    await act(client, type="key", keys="ctrl+c")
    await eventually(lambda: clipboard(client), lambda v: v == "copied from the page")


async def clipboard(client: httpx.AsyncClient) -> str:
    text: str = (await client.get("/clipboard")).json()["text"]
    return text


async def test_windows_list_titles_and_focus(client: httpx.AsyncClient, page: Any) -> None:
    windows = (await client.get("/windows")).json()
    browser = [w for w in windows if w["title"].startswith("deskbox recorder")]
    assert browser, windows
    assert browser[0]["width"] == 1280

    launched = (
        await client.post(
            "/launch",
            json={"command": ["xmessage", "-name", "deskbox-probe", "-title", "Probe Window", "hello"]},
        )
    ).json()
    try:
        probe = await eventually(
            lambda: client.get("/windows"),
            lambda r: any(w["title"] == "Probe Window" for w in r.json()),
        )
        window = next(w for w in probe.json() if w["title"] == "Probe Window")
        assert window["wm_class"] == "Xmessage"

        # Focus the browser, then the probe: the active flag follows.
        assert (await client.post(f"/windows/{browser[0]['id']}/focus")).status_code == 204
        await eventually(
            lambda: client.get("/windows"), lambda r: _active_title(r).startswith("deskbox recorder")
        )
        assert (await client.post(f"/windows/{window['id']}/focus")).status_code == 204
        await eventually(lambda: client.get("/windows"), lambda r: _active_title(r) == "Probe Window")
    finally:
        os.kill(launched["pid"], signal.SIGTERM)
    await eventually(
        lambda: client.get("/windows"), lambda r: all(w["title"] != "Probe Window" for w in r.json())
    )


def _active_title(response: httpx.Response) -> str:
    active = [w["title"] for w in response.json() if w["active"]]
    return active[0] if active else ""


async def test_focus_unknown_window_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/windows/123456789/focus")
    assert response.status_code == 404
    assert "123456789" in response.json()["error"]["message"]


async def test_launch_unknown_program_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/launch", json={"command": "no-such-program --flag"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "command"]


async def test_open_hands_a_url_to_its_registered_application(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, record = register_scheme_handler(tmp_path, "deskbox-probe")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("XDG_CURRENT_DESKTOP", raising=False)

    response = await client.post("/open", json={"target": "deskbox-probe://task?q=1"})
    assert response.status_code == 200, response.text
    assert await eventually(lambda: file_text(record), lambda v: v != "") == "deskbox-probe://task?q=1"


async def test_screen_cursor_info(client: httpx.AsyncClient, display: str) -> None:
    assert (await client.get("/screen")).json() == {"width": 1280, "height": 800}
    await act(client, type="move", x=3, y=4)
    assert (await client.get("/cursor")).json() == {"x": 3, "y": 4}
    info = (await client.get("/info")).json()
    assert info["display"] == display
    assert info["versions"]["deskbox"]


async def test_many_running_apps_do_not_starve_the_server(client: httpx.AsyncClient) -> None:
    # Each launched app is watched until it exits; that must not cost a pool thread,
    # or a dozen open apps would leave none for screenshots.
    pids = [
        (await client.post("/launch", json={"command": ["sleep", "60"]})).json()["pid"] for _ in range(12)
    ]
    try:
        for _ in range(3):
            response = await client.get("/screenshot", params={"format": "jpeg"}, timeout=5)
            assert response.status_code == 200
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)


async def test_open_with_nothing_to_show_it_is_an_error_naming_the_target(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = tmp_path / "data.deskbox-unknown"
    blob.write_bytes(bytes(range(256)))
    monkeypatch.delenv("XDG_CURRENT_DESKTOP", raising=False)
    monkeypatch.setenv("BROWSER", "false")  # no browser to fall back on: xdg-open gives up
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    refused = await client.post("/open", json={"target": str(blob)})
    assert refused.status_code == 422, refused.text
    assert "data.deskbox-unknown" in refused.json()["error"]["message"]
    assert "exited with status" in refused.json()["error"]["message"]

    missing = await client.post("/open", json={"target": str(tmp_path / "absent.txt")})
    assert missing.status_code == 404 and "absent.txt" in missing.json()["error"]["message"]
