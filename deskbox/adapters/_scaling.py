"""Coordinate scaling between the real screen and the smaller image a model sees.

Anthropic recommends sending screenshots no larger than XGA/WXGA-class sizes and mapping
the model's coordinates back up: models click more accurately on images near the size
they were trained on, and a smaller image costs fewer tokens. The target keeps the
screen's aspect ratio, so one factor per axis is all there is to undo.
"""

from __future__ import annotations

from dataclasses import dataclass

XGA = (1024, 768)
WXGA = (1280, 800)
FWXGA = (1366, 768)
STANDARD_TARGETS = (XGA, WXGA, FWXGA)
"""Sizes tried in order; the first whose aspect ratio matches the screen's is used."""
ASPECT_TOLERANCE = 0.02


def pick_target(width: int, height: int) -> tuple[int, int]:
    """The standard size to scale a ``width`` x ``height`` screen down to, or the screen
    itself when it is already that small or matches no standard aspect ratio."""
    ratio = width / height
    for target_width, target_height in STANDARD_TARGETS:
        if abs(target_width / target_height - ratio) < ASPECT_TOLERANCE and target_width < width:
            return target_width, target_height
    return width, height


@dataclass(frozen=True)
class Scaler:
    """Maps between screen pixels and the pixels of the image the model is shown."""

    screen: tuple[int, int]
    model: tuple[int, int]

    @classmethod
    def for_screen(cls, width: int, height: int, target: tuple[int, int] | bool | None = None) -> Scaler:
        """``target``: None or True picks a standard size, False keeps the screen's
        size, a (width, height) pair is used as given."""
        if target is False:
            return cls((width, height), (width, height))
        if target is None or target is True:
            return cls((width, height), pick_target(width, height))
        return cls((width, height), target)

    @property
    def scaled(self) -> bool:
        return self.screen != self.model

    def to_screen(self, x: float, y: float) -> tuple[int, int]:
        """A model coordinate as the screen pixel it points at (clamped onto the screen)."""
        return (
            _map(x, self.model[0], self.screen[0]),
            _map(y, self.model[1], self.screen[1]),
        )

    def to_model(self, x: float, y: float) -> tuple[int, int]:
        """A screen pixel as the model sees it in its scaled screenshot."""
        return (
            _map(x, self.screen[0], self.model[0]),
            _map(y, self.screen[1], self.model[1]),
        )

    def length_to_screen(self, value: float, axis: int) -> int:
        """A distance along x (axis 0) or y (axis 1), model pixels to screen pixels."""
        return round(value * self.screen[axis] / self.model[axis])


def _map(value: float, source: int, target: int) -> int:
    return min(max(round(value * target / source), 0), target - 1)
