"""Action traces: what an agent did in a sandbox, step by step, with the screen around
each step. The server writes them (``deskbox.server.tracing``); this package holds their
shape, the file they live in, and the viewer that shows them.

    from deskbox.trace import TraceFile
    with TraceFile("run.zip") as trace:
        for step in trace.steps:
            print(step.index, step.method, step.path, step.timing.total)
"""

from __future__ import annotations

from ..errors import TraceFileError
from .archive import TraceFile, TraceWriter
from .model import (
    StepTiming,
    TraceEvents,
    TraceFrame,
    TraceMeta,
    TraceNote,
    TraceNoteRequest,
    TraceStartRequest,
    TraceStatus,
    TraceStep,
)

__all__ = [
    "StepTiming",
    "TraceEvents",
    "TraceFile",
    "TraceFileError",
    "TraceFrame",
    "TraceMeta",
    "TraceNote",
    "TraceNoteRequest",
    "TraceStartRequest",
    "TraceStatus",
    "TraceStep",
    "TraceWriter",
]
