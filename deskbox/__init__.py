"""deskbox: a desktop in a box for computer-use agents."""

__version__ = "0.1.0"
