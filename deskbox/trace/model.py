"""What a trace holds: the steps that reached a sandbox, the screens around them, and the
model's words that led to them. The server writes these, the SDK and the viewer read them.

Every event carries ``seq``, one counter for the whole trace, so the order of steps,
frames and notes is known even where requests overlapped. A step's screen before is the
last frame captured before the step began (lower ``seq``); its screen after is the last
frame captured before the next step began.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT: Literal["deskbox-trace"] = "deskbox-trace"
VERSION = 1

StepKind = Literal["action", "screenshot", "command", "file", "other"]


class TraceMeta(BaseModel):
    format: Literal["deskbox-trace"] = FORMAT
    version: int = VERSION
    started_at: float
    """Unix time."""
    screen_width: int
    screen_height: int
    frame_width: int
    """The widest a frame is kept (frames are JPEGs scaled to at most this)."""
    title: str | None = None
    deskbox: str = ""
    """The version of the server that wrote it."""


class StepTiming(BaseModel):
    """Milliseconds, measured in the server from the request's arrival to its answer."""

    total: float
    action: float = 0.0
    """Input reaching the display, a command or code running."""
    settle: float = 0.0
    """Waiting for the screen to stop changing before a screenshot."""
    encode: float = 0.0
    """Encoding images."""
    rest: float = 0.0
    """Everything else: reading and checking the request, writing the answer."""


class TraceStep(BaseModel):
    kind: Literal["step"] = "step"
    seq: int
    index: int
    """1 for the first step of the trace, counting steps only."""
    at: float
    """Unix time the request arrived."""
    method: str
    path: str
    query: dict[str, Any] = Field(default_factory=dict)
    channel: Literal["http", "socket"] = "http"
    category: StepKind = "other"
    request: Any = None
    """The JSON body, with long strings and image data cut short; or what a non-JSON body
    was (its type and size)."""
    status: int
    response: Any = None
    """As ``request``, for the answer."""
    error: str | None = None
    timing: StepTiming
    pointer: tuple[int, int] | None = None
    """Where the pointer was when the step began (for actions that act where it is)."""
    note: int | None = None
    """The ``seq`` of the model's note this step carries out, when an adapter gave one."""
    before: int | None = None
    """The ``seq`` of the frame showing the screen as the step began."""
    after: int | None = None
    """The ``seq`` of the frame showing the screen once the step was done (filled in when
    the trace is read; the next step's start is what bounds it)."""


class TraceFrame(BaseModel):
    kind: Literal["frame"] = "frame"
    seq: int
    at: float
    width: int
    height: int
    """The JPEG's size; the screen's size is in the trace's meta."""
    bytes: int


class TraceNote(BaseModel):
    """What a model asked for, added by an agent adapter (or by the caller)."""

    kind: Literal["note"] = "note"
    seq: int
    at: float
    source: str
    """Who is speaking: "anthropic", "openai", "gemini", "mcp", or the caller's name."""
    call: Any = None
    """The vendor's tool call, as the model sent it."""
    text: str | None = None
    """The model's own words for this step, when the caller passes them."""


TraceEvent = Annotated[TraceStep | TraceFrame | TraceNote, Field(discriminator="kind")]


class TraceStartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frame_width: Annotated[int, Field(ge=160, le=7680)] = 1280
    """Frames wider than this are scaled down to it (scaling costs more CPU than it saves)."""
    quality: Annotated[int, Field(ge=10, le=95)] = 70
    """The frames' JPEG quality."""
    title: Annotated[str, Field(max_length=200)] | None = None


class TraceNoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(min_length=1, max_length=64)]
    call: Any = None
    text: Annotated[str, Field(max_length=100_000)] | None = None


class TraceStatus(BaseModel):
    tracing: bool
    started_at: float | None = None
    steps: int = 0
    frames: int = 0
    notes: int = 0
    bytes: int = 0
    """The trace file's size so far."""
    title: str | None = None
    error: str | None = None
    """Why the trace stopped by itself (a full disk, its size limit); ``stop`` still
    downloads what it has."""


class TraceEvents(BaseModel):
    """A trace so far: what the viewer reads, from a file or from a sandbox as it runs."""

    meta: TraceMeta | None = None
    events: list[TraceEvent] = Field(default_factory=list)
    last: int = 0
    """How many events there are so far: ask again with ``after=last`` for what follows."""
    tracing: bool = False
    """True while the trace is still being written (more will come)."""
