"""Encoding: the fast PNG writer is valid and lossless; sizes are computed right."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from deskbox.actions import target_size
from deskbox.desktop.capture import Frame, encode_frame
from deskbox.imaging import fast_png, resize


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
    banded = resize(image, size).tobytes()
    if source[1] / size[1] in (1.40625, 1.5):
        # The usual agent scalings are exact in binary, and so are the bands' edges.
        assert banded == expected
    else:
        # Elsewhere an edge's float can tip a value's rounding by one level. A seam or a
        # missing support row would be off by far more.
        assert max(abs(a - b) for a, b in zip(banded, expected, strict=True)) <= 1
