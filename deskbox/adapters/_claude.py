"""What Claude's computer tool and its computer toolset share: images as content blocks,
held keys, and xdotool-style key strings."""

from __future__ import annotations

from typing import Any

from anthropic.types.beta import BetaImageBlockParam

from ..actions import Action, Image, Key, media_type
from ..keys import split_combo
from ._computer import Computer, ToolCallError


def image_block(image: Image) -> BetaImageBlockParam:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type(image.format), "data": image.data},
    }


def held_keys(held: Any) -> list[str]:
    """The keys Claude asks to hold during a pointer action ("shift", "ctrl+shift")."""
    if held is None or held == "":
        return []
    if not isinstance(held, str):
        raise ToolCallError(
            f"text (the keys to hold) must be a string such as 'shift' or 'ctrl+shift', got {held!r}"
        )
    return split_combo(held)


def key_actions(c: Computer, text: str, repeat: Any) -> list[Action]:
    """xdotool's syntax: chords joined by '+', several chords separated by spaces."""
    count = 1 if repeat is None else repeat
    chords = text.split() or [text]  # a lone " " is the space key
    return [c.build(Key, keys=chord if chord.strip() else "space", repeat=count) for chord in chords]
