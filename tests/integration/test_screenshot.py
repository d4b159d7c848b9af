"""Screenshots and zoom: formats, sizes, regions and the pixels in them."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.helpers import act, over_both_channels, screenshot

pytestmark = pytest.mark.integration
client = over_both_channels()

RED = (255, 0, 0)
BLUE = (0, 0, 255)
TARGET_BOX = (600, 100, 200, 200)  # the red #target: x, y, width, height


def close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


async def test_png_is_lossless_and_full_size(client: httpx.AsyncClient, page: Any) -> None:
    response = await client.get("/screenshot")
    assert response.headers["content-type"] == "image/png"
    assert (response.headers["x-image-width"], response.headers["x-image-height"]) == ("1280", "800")
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1280, 800)
    assert image.getpixel((700, 200))[:3] == RED
    assert image.getpixel((800, 550))[:3] == BLUE
    assert image.getpixel((50, 50))[:3] == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
async def test_lossy_formats_and_quality(client: httpx.AsyncClient, page: Any, fmt: str) -> None:
    low = await client.get("/screenshot", params={"format": fmt, "quality": 10})
    high = await client.get("/screenshot", params={"format": fmt, "quality": 95})
    assert low.headers["content-type"] == f"image/{fmt}"
    assert len(low.content) < len(high.content)
    image = Image.open(io.BytesIO(high.content))
    assert image.format == fmt.upper()
    assert image.size == (1280, 800)
    assert close(image.getpixel((700, 200)), RED)


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"width": 1024, "height": 768}, (1024, 768)),
        ({"width": 1024}, (1024, 640)),
        ({"height": 400}, (640, 400)),
        ({"scale": 0.5}, (640, 400)),
        ({"scale": 1.5}, (1920, 1200)),
    ],
)
async def test_scaling(
    client: httpx.AsyncClient, page: Any, params: dict[str, Any], size: tuple[int, int]
) -> None:
    image = await screenshot(client, **params)
    assert image.size == size
    sx, sy = size[0] / 1280, size[1] / 800
    assert close(image.getpixel((int(700 * sx), int(200 * sy))), RED)


async def test_region_crops_to_the_pixels_there(client: httpx.AsyncClient, page: Any) -> None:
    image = await screenshot(client, region="600,100,200,200")
    assert image.size == (200, 200)
    colours = {image.getpixel((x, y))[:3] for x in range(0, 200, 20) for y in range(0, 200, 20)}
    assert colours == {RED}


async def test_cursor_is_drawn_only_when_asked(client: httpx.AsyncClient, page: Any) -> None:
    await act(client, type="move", x=800, y=550)
    region = "790,540,40,40"
    plain = await screenshot(client, region=region)
    with_cursor = await screenshot(client, region=region, cursor="true")
    assert {plain.getpixel((x, y))[:3] for x in range(40) for y in range(40)} == {BLUE}
    assert any(with_cursor.getpixel((x, y))[:3] != BLUE for x in range(10, 30) for y in range(10, 30)), (
        "no cursor drawn at the pointer"
    )


async def test_base64_json_form(client: httpx.AsyncClient, page: Any) -> None:
    body = (await client.get("/screenshot/base64", params={"format": "jpeg", "width": 640})).json()
    assert (body["format"], body["width"], body["height"]) == ("jpeg", 640, 400)
    image = Image.open(io.BytesIO(base64.b64decode(body["data"])))
    assert image.size == (640, 400)


async def test_screenshot_action_and_screenshot_after(client: httpx.AsyncClient, page: Any) -> None:
    body = await act(
        client, type="screenshot", format="png", region={"x": 600, "y": 100, "width": 10, "height": 10}
    )
    image = Image.open(io.BytesIO(base64.b64decode(body["results"][0]["image"]["data"])))
    assert image.size == (10, 10) and image.getpixel((5, 5))[:3] == RED

    response = await client.post(
        "/actions",
        params={"screenshot_after": "true", "format": "jpeg", "width": 320},
        json={"type": "move", "x": 10, "y": 10},
    )
    shot = response.json()["screenshot"]
    assert (shot["format"], shot["width"], shot["height"]) == ("jpeg", 320, 200)


async def test_zoom_scales_a_region_up(client: httpx.AsyncClient, page: Any) -> None:
    # Half red target, half white page: the zoomed image keeps that split.
    body = await act(client, type="zoom", region={"x": 500, "y": 150, "width": 200, "height": 125})
    image_model = body["results"][0]["image"]
    assert (image_model["width"], image_model["height"]) == (1280, 800)
    image = Image.open(io.BytesIO(base64.b64decode(image_model["data"])))
    assert image.getpixel((320, 400))[:3] == (255, 255, 255)
    assert image.getpixel((960, 400))[:3] == RED

    sized = await act(
        client, type="zoom", region={"x": 600, "y": 100, "width": 100, "height": 100}, width=300
    )
    assert (sized["results"][0]["image"]["width"], sized["results"][0]["image"]["height"]) == (300, 300)


GREEN = (0, 255, 0)
NOTHING = {"type": "wait", "duration": 0}
ANIMATE = """steps => {
    const box = document.createElement('div');
    box.style.cssText = 'position:fixed;left:0;top:0;width:300px;height:300px;z-index:9999;background:#000';
    document.body.appendChild(box);
    let frame = 0;
    const timer = setInterval(() => {
        frame += 1;
        if (steps > 0 && frame >= steps) {
            box.style.background = 'rgb(0, 255, 0)';
            clearInterval(timer);
        } else {
            box.style.background = `rgb(${(frame * 37) % 200}, 0, ${(frame * 91) % 200})`;
        }
    }, 20);
}"""


async def test_settle_waits_for_the_screen_to_stop_changing(client: httpx.AsyncClient, page: Any) -> None:
    await page.evaluate(ANIMATE, 75)  # 1.5 s of colour changes, then green for good
    unsettled = await client.post("/actions", params={"screenshot_after": "true"}, json=NOTHING)
    mid_animation = Image.open(io.BytesIO(base64.b64decode(unsettled.json()["screenshot"]["data"])))
    assert not close(mid_animation.getpixel((150, 150)), GREEN), "the animation ended before the check"

    settled = await client.post(
        "/actions",
        params={"screenshot_after": "true", "settle": 5},
        json={"type": "move", "x": 900, "y": 600},
    )
    assert settled.status_code == 200, settled.text
    image = Image.open(io.BytesIO(base64.b64decode(settled.json()["screenshot"]["data"])))
    assert close(image.getpixel((150, 150)), GREEN)
    assert close((await screenshot(client, settle=5)).getpixel((150, 150)), GREEN)


async def test_settle_gives_up_at_its_limit_on_a_screen_that_never_settles(
    client: httpx.AsyncClient, page: Any
) -> None:
    await page.evaluate(ANIMATE, 0)
    started = time.monotonic()
    image = await screenshot(client, settle=0.3)
    assert time.monotonic() - started < 3
    assert image.size == (1280, 800)


@pytest.mark.parametrize("settle", ["-1", "31", "soon"])
async def test_a_bad_settle_is_refused_by_name(client: httpx.AsyncClient, settle: str) -> None:
    for response in (
        await client.get("/screenshot", params={"settle": settle}),
        await client.post("/actions", params={"screenshot_after": "true", "settle": settle}, json=NOTHING),
    ):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert "query.settle" in error["message"]
        assert [detail["loc"] for detail in error["details"]] == [["query", "settle"]]
