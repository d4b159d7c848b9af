"""Drives one X display from inside the sandbox: capture, input, windows, shell, files."""

from .capture import Frame, encode_frame
from .driver import Desktop

__all__ = ["Desktop", "Frame", "encode_frame"]
