"""Drives one X display from inside the sandbox: capture, input, windows, shell, files."""

from .capture import Encoded, Frame, encode, fast_png
from .driver import Desktop, image_model
from .executor import run_action, run_actions

__all__ = [
    "Desktop",
    "Encoded",
    "Frame",
    "encode",
    "fast_png",
    "image_model",
    "run_action",
    "run_actions",
]
