"""Where a request's time goes: the parts of it that code deep in the call measures.

A trace shows, for every step, how long it took and what it spent that time on. The
request's outer layer (the server's trace recorder) opens a :class:`StepClock`; code
anywhere below it adds its part with :func:`timed`, without being passed anything. With
no clock open, :func:`timed` costs one context-variable lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

Part = Literal["action", "settle", "encode"]


@dataclass
class StepClock:
    """Seconds spent on each part of one request."""

    action: float = 0.0
    """Input reaching the display, commands running, code executing."""
    settle: float = 0.0
    """Waiting for the screen to stop changing before a screenshot."""
    encode: float = 0.0
    """Turning pixels into PNG, JPEG or WebP."""
    _running: list[Part] = field(default_factory=list, repr=False)


_clock: ContextVar[StepClock | None] = ContextVar("deskbox_step_clock", default=None)


@contextmanager
def clock() -> Iterator[StepClock]:
    """Open a clock for the request running in this context (and the threads it starts)."""
    opened = StepClock()
    token = _clock.set(opened)
    try:
        yield opened
    finally:
        _clock.reset(token)


@contextmanager
def timed(part: Part) -> Iterator[None]:
    """Add the time spent in the block to ``part`` of the open clock, if one is open."""
    opened = _clock.get()
    if opened is None:
        yield
        return
    started = time.perf_counter()
    outer = opened._running[-1] if opened._running else None
    opened._running.append(part)
    try:
        yield
    finally:
        opened._running.pop()
        spent = time.perf_counter() - started
        setattr(opened, part, getattr(opened, part) + spent)
        if outer is not None and outer != part:
            # A screenshot inside a batch is encoding, not action: each second counts once.
            setattr(opened, outer, getattr(opened, outer) - spent)
