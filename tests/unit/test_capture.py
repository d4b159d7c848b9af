"""Encoding: the fast PNG writer is valid and lossless; sizes are computed right."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image, ImageChops

from deskbox.actions import target_size
from deskbox.desktop.capture import Frame, encode_frame
from deskbox.imaging import _vips, fast_png, pillow_resize, resize


def random_frame(width: int, height: int) -> Frame:
    return Frame(width, height, os.urandom(width * height * 4))


def test_fast_png_is_lossless() -> None:
    frame = random_frame(97, 61)
    expected = frame.to_image()
    decoded = Image.open(io.BytesIO(fast_png(expected.tobytes(), 97, 61)))
    assert decoded.mode == "RGB" and decoded.size == (97, 61)
    assert decoded.tobytes() == expected.tobytes()


def test_bgra_is_read_as_rgb() -> None:
    frame = Frame(2, 1, bytes([0, 0, 255, 0, 255, 0, 0, 0]))  # red, then blue, in BGRX
    image = Image.open(io.BytesIO(encode_frame(frame, "png").data))
    assert image.getpixel((0, 0)) == (255, 0, 0) and image.getpixel((1, 0)) == (0, 0, 255)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_formats_and_resize(fmt: str) -> None:
    encoded = encode_frame(random_frame(64, 40), fmt, 70, (32, 20))  # type: ignore[arg-type]
    image = Image.open(io.BytesIO(encoded.data))
    assert image.format == fmt.upper() and image.size == (32, 20) == (encoded.width, encoded.height)
    assert encoded.media_type == f"image/{fmt}"


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({}, (1280, 800)),
        ({"to_width": 1024}, (1024, 640)),
        ({"to_height": 768}, (1229, 768)),
        ({"to_width": 1024, "to_height": 768}, (1024, 768)),
        ({"scale": 0.5}, (640, 400)),
    ],
)
def test_target_size(kwargs: dict[str, float], size: tuple[int, int]) -> None:
    assert target_size(1280, 800, **kwargs) == size  # type: ignore[arg-type]


RESIZES = [
    ((1920, 1080), (1366, 768)),
    ((1920, 1200), (1280, 800)),
    ((1000, 700), (999, 333)),
    ((300, 200), (1280, 853)),
    ((640, 400), (7, 5)),
]


@pytest.mark.parametrize(("source", "size"), RESIZES)
def test_banded_resize_matches_one_lanczos_resize(source: tuple[int, int], size: tuple[int, int]) -> None:
    # Noise, so a seam between bands or a missing support row would change many pixels.
    image = Image.frombytes("RGB", source, os.urandom(source[0] * source[1] * 3))
    expected = image.resize(size, Image.Resampling.LANCZOS).tobytes()
    banded = pillow_resize(image, size).tobytes()
    if source[1] / size[1] in (1.40625, 1.5):
        # The usual agent scalings are exact in binary, and so are the bands' edges.
        assert banded == expected
    else:
        # Elsewhere an edge's float can tip a value's rounding by one level. A seam or a
        # missing support row would be off by far more.
        assert max(abs(a - b) for a, b in zip(banded, expected, strict=True)) <= 1


def desktop_like(width: int, height: int) -> Image.Image:
    """Small dark text on light panels and light text on dark ones, as UIs draw it: where a
    resize's quality shows (a blurry or ringing kernel smears the strokes)."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), (244, 246, 251))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(13)
    draw.rectangle((width // 2, 0, width, height), fill=(18, 18, 24))
    for row, top in enumerate(range(4, height - 16, 17)):
        line = f"-rwxr-xr-x 1 root root {row * 7919 % 100000:>6} Jun  4 2025 file-{row:03d}.txt  README.md"
        draw.text((6, top), line, fill=(30, 30, 30), font=font)
        draw.text((width // 2 + 6, top), line, fill=(230, 230, 230), font=font)
    return image


@pytest.mark.skipif(_vips() is None, reason="pyvips is not installed (the server extra has it)")
@pytest.mark.parametrize(("source", "size"), RESIZES[:3])
def test_the_vips_resize_looks_like_pillows_lanczos(source: tuple[int, int], size: tuple[int, int]) -> None:
    image = desktop_like(*source)
    ours = resize(image, size)
    assert ours.size == size and ours.mode == "RGB"
    lanczos = image.resize(size, Image.Resampling.LANCZOS)
    bilinear = image.resize(size, Image.Resampling.BILINEAR)

    def mean_difference(other: Image.Image) -> float:
        histogram = ImageChops.difference(ours, other).convert("L").histogram()
        return sum(level * count for level, count in enumerate(histogram)) / sum(histogram)

    # As close to Pillow's Lanczos as a level or so, and much closer to it than a softer
    # kernel is: the text keeps Lanczos' sharpness.
    assert mean_difference(lanczos) < 1.0
    assert mean_difference(lanczos) < mean_difference(bilinear) / 3


@pytest.mark.skipif(_vips() is None, reason="pyvips is not installed (the server extra has it)")
def test_a_frame_resized_as_grabbed_matches_the_image_resized() -> None:
    image = desktop_like(1280, 800)
    image.paste((220, 40, 10), (100, 300, 400, 500))  # a colour, so a channel swap shows
    red, green, blue = image.split()
    frame = Frame(1280, 800, Image.merge("RGBA", (blue, green, red, Image.new("L", image.size))).tobytes())
    encoded = encode_frame(frame, "png", size=(1024, 640))
    grabbed = Image.open(io.BytesIO(encoded.data)).convert("RGB")
    assert grabbed.size == (1024, 640)
    assert grabbed.getpixel((200, 320)) == (220, 40, 10)
    histogram = ImageChops.difference(grabbed, resize(image, (1024, 640))).convert("L").histogram()
    assert sum(level * count for level, count in enumerate(histogram)) / sum(histogram) < 0.05
