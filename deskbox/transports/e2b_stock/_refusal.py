"""The one refusal of stock mode."""

from __future__ import annotations

from ... import errors

MODE = "e2b stock mode"


def refuse(what: str) -> errors.UnsupportedInModeError:
    """``what`` is not available here: name it, the mode, and the way to get it."""
    return errors.UnsupportedInModeError(
        f"{what} is not available in {MODE}; build the deskbox template "
        "(`deskbox e2b build-template`) and use the default mode for it",
        what=what,
        mode=MODE,
    )
