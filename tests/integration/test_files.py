"""Files over HTTP, checked on the real filesystem."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


async def test_write_creates_parents_and_read_returns_it(client: httpx.AsyncClient, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "note.txt"
    response = await client.post("/files/write", json={"path": str(target), "content": "héllo 日本\n"})
    assert response.status_code == 200, response.text
    assert response.json()["size"] == len("héllo 日本\n".encode())
    assert target.read_text(encoding="utf-8") == "héllo 日本\n"
    body = (await client.get("/files/read", params={"path": str(target)})).json()
    assert body == {"path": str(target), "content": "héllo 日本\n", "encoding": "utf-8"}


async def test_binary_round_trip_in_base64(client: httpx.AsyncClient, tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    target = tmp_path / "blob.bin"
    await client.post(
        "/files/write",
        json={"path": str(target), "content": base64.b64encode(data).decode(), "encoding": "base64"},
    )
    assert target.read_bytes() == data
    body = (await client.get("/files/read", params={"path": str(target), "encoding": "base64"})).json()
    assert base64.b64decode(body["content"]) == data
    response = await client.get("/files/read", params={"path": str(target)})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["query", "encoding"]


async def test_append_and_mode(client: httpx.AsyncClient, tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    await client.post("/files/write", json={"path": str(target), "content": "#!/bin/sh\n", "mode": "755"})
    await client.post("/files/write", json={"path": str(target), "content": "echo ok\n", "append": True})
    assert target.read_text() == "#!/bin/sh\necho ok\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


async def test_list_stat_exists(client: httpx.AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "dir" / "inner").mkdir(parents=True)
    (tmp_path / "dir" / "file.txt").write_text("12345")
    (tmp_path / "dir" / "inner" / "deep.txt").write_text("x")
    os.symlink(tmp_path / "dir" / "file.txt", tmp_path / "dir" / "link")

    shallow = (await client.get("/files", params={"path": str(tmp_path / "dir")})).json()
    assert sorted((e["name"], e["type"]) for e in shallow) == [
        ("file.txt", "file"),
        ("inner", "dir"),
        ("link", "symlink"),
    ]
    deep = (await client.get("/files", params={"path": str(tmp_path / "dir"), "depth": 2})).json()
    assert "deep.txt" in [e["name"] for e in deep]

    info = (await client.get("/files/stat", params={"path": str(tmp_path / "dir" / "file.txt")})).json()
    assert (info["type"], info["size"]) == ("file", 5)
    assert (await client.get("/files/exists", params={"path": str(tmp_path / "dir" / "link")})).json() is True
    assert (await client.get("/files/exists", params={"path": str(tmp_path / "nope")})).json() is False


async def test_mkdir_move_delete(client: httpx.AsyncClient, tmp_path: Path) -> None:
    folder = tmp_path / "x" / "y"
    assert (await client.post("/files/mkdir", params={"path": str(folder)})).json()["type"] == "dir"
    (folder / "f.txt").write_text("data")
    moved = await client.post(
        "/files/move", json={"source": str(folder / "f.txt"), "destination": str(tmp_path / "g.txt")}
    )
    assert moved.status_code == 200 and (tmp_path / "g.txt").read_text() == "data"

    response = await client.delete("/files", params={"path": str(tmp_path / "x")})
    assert response.status_code == 409, "a non-empty folder needs recursive"
    assert (
        await client.delete("/files", params={"path": str(tmp_path / "x"), "recursive": "true"})
    ).status_code == 204
    assert not (tmp_path / "x").exists()


async def test_relative_paths_start_at_home(client: httpx.AsyncClient) -> None:
    name = f".deskbox-test-{os.getpid()}.txt"
    try:
        await client.post("/files/write", json={"path": name, "content": "home"})
        assert (Path.home() / name).read_text() == "home"
    finally:
        (Path.home() / name).unlink(missing_ok=True)


async def test_upload_and_download_stream(client: httpx.AsyncClient, tmp_path: Path) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    target = tmp_path / "up" / "big.bin"
    response = await client.put("/files/upload", params={"path": str(target)}, content=chunks())
    assert response.status_code == 200, response.text
    assert target.read_bytes() == payload
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".part")], "temporary file left behind"

    download = await client.get("/files/download", params={"path": str(target)})
    assert download.status_code == 200 and download.content == payload


async def test_failed_upload_keeps_the_old_file(client: httpx.AsyncClient, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("the user's work")

    async def broken():  # type: ignore[no-untyped-def]
        yield b"partial new content"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await client.put("/files/upload", params={"path": str(target)}, content=broken())
    assert target.read_text() == "the user's work"
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]


@pytest.mark.parametrize(
    ("method", "path", "params", "status"),
    [
        ("GET", "/files/read", {"path": "/no/such/file"}, 404),
        ("GET", "/files/stat", {"path": "/no/such/file"}, 404),
        ("GET", "/files", {"path": "/no/such/dir"}, 404),
        ("GET", "/files", {"path": "/etc/hostname"}, 409),
        ("GET", "/files/read", {"path": "/etc"}, 409),
        ("GET", "/files/download", {"path": "/etc"}, 409),
        ("GET", "/files/download", {"path": "/no/such/file"}, 404),
        ("DELETE", "/files", {"path": "/no/such/file"}, 404),
        ("GET", "/files/read", {"path": ""}, 422),
        ("GET", "/files/read", {}, 422),
        ("GET", "/files", {"path": "/tmp", "depth": 0}, 422),
    ],
)
async def test_file_errors(
    client: httpx.AsyncClient, method: str, path: str, params: dict[str, object], status: int
) -> None:
    response = await client.request(method, path, params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


async def test_bad_write_requests(client: httpx.AsyncClient, tmp_path: Path) -> None:
    response = await client.post(
        "/files/write", json={"path": str(tmp_path / "x"), "content": "@@@", "encoding": "base64"}
    )
    assert response.status_code == 422 and response.json()["error"]["details"][0]["loc"] == [
        "body",
        "content",
    ]
    response = await client.post("/files/write", json={"path": str(tmp_path), "content": "x"})
    assert response.status_code == 409
    response = await client.post(
        "/files/write", json={"path": str(tmp_path / "x"), "content": "x", "mode": "999"}
    )
    assert response.status_code == 422 and ["body", "mode"] in [
        d["loc"] for d in response.json()["error"]["details"]
    ]
