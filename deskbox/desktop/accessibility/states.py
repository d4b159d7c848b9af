"""AT-SPI's state set: the bit positions of ``AtspiStateType``, in the order at-spi2-core
defines them (a state set travels as two 32-bit words, bit n for state n).

The names are pyatspi's without their ``STATE_`` prefix, in lower case, as OSWorld's XML
writes them (``st:multi_line``).
"""

from __future__ import annotations

from collections.abc import Sequence

STATE_NAMES = (
    "invalid",
    "active",
    "armed",
    "busy",
    "checked",
    "collapsed",
    "defunct",
    "editable",
    "enabled",
    "expandable",
    "expanded",
    "focusable",
    "focused",
    "has_tooltip",
    "horizontal",
    "iconified",
    "modal",
    "multi_line",
    "multiselectable",
    "opaque",
    "pressed",
    "resizable",
    "selectable",
    "selected",
    "sensitive",
    "showing",
    "single_line",
    "stale",
    "transient",
    "vertical",
    "visible",
    "manages_descendants",
    "indeterminate",
    "required",
    "truncated",
    "animated",
    "invalid_entry",
    "supports_autocompletion",
    "selectable_text",
    "is_default",
    "visited",
    "checkable",
    "has_popup",
    "read_only",
)


def state_names(words: Sequence[int]) -> list[str]:
    """The names of the states set in ``words`` (AT-SPI's ``au``), lowest bit first."""
    names = []
    for word_index, word in enumerate(words):
        for bit in range(32):
            if word >> bit & 1:
                position = word_index * 32 + bit
                if position < len(STATE_NAMES):
                    names.append(STATE_NAMES[position])
    return names
