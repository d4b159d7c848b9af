"""Coordinate scaling: the standard targets, and the screen -> model -> screen round trip."""

from __future__ import annotations

import pytest

from deskbox.adapters import FWXGA, WXGA, XGA, Scaler, pick_target


@pytest.mark.parametrize(
    ("screen", "target"),
    [
        ((2048, 1536), XGA),
        ((1600, 1200), XGA),
        ((1920, 1200), WXGA),
        ((2560, 1600), WXGA),
        ((1920, 1080), FWXGA),
        ((2560, 1440), FWXGA),
        ((1024, 768), (1024, 768)),  # already XGA: nothing to scale
        ((1280, 800), (1280, 800)),
        ((1000, 1000), (1000, 1000)),  # no standard shape: left alone
    ],
)
def test_pick_target(screen: tuple[int, int], target: tuple[int, int]) -> None:
    assert pick_target(*screen) == target


@pytest.mark.parametrize("screen", [(2048, 1536), (1920, 1200), (1920, 1080), (1600, 1200), (2560, 1440)])
def test_round_trip_is_within_one_pixel(screen: tuple[int, int]) -> None:
    scaler = Scaler.for_screen(*screen)
    assert scaler.scaled
    worst = 0
    for x in range(screen[0]):
        back = scaler.to_screen(*scaler.to_model(x, 0))[0]
        worst = max(worst, abs(back - x))
    for y in range(screen[1]):
        back = scaler.to_screen(*scaler.to_model(0, y))[1]
        worst = max(worst, abs(back - y))
    assert worst <= 1


def test_model_edges_stay_on_screen() -> None:
    scaler = Scaler.for_screen(1920, 1080)
    assert scaler.model == FWXGA
    assert scaler.to_screen(1365, 767) == (1919, 1079)
    assert scaler.to_screen(0, 0) == (0, 0)
    assert scaler.to_model(1919, 1079) == (1365, 767)


def test_scaling_off_and_explicit_target() -> None:
    assert Scaler.for_screen(1920, 1080, False).model == (1920, 1080)
    assert Scaler.for_screen(1920, 1080, (960, 540)).to_screen(480, 270) == (960, 540)
