"""Request and response bodies of the control server, other than actions.

Shared by the server, which validates with them, and the SDK, which builds and parses
them, so the two cannot disagree about a field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from .actions import ActionResult, CleanText, UnicodeText, clean_text

MAX_COMMAND_TIMEOUT = 24 * 3600.0


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str = "value_error"


class ErrorInfo(BaseModel):
    type: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
    failed_index: int | None = None
    """For a failed batch: the index of the action that failed."""
    results: list[ActionResult] | None = None
    """For a failed batch: the results of the actions that ran before the failure."""


class ErrorBody(BaseModel):
    """The one JSON shape of every error response."""

    error: ErrorInfo


# ---- shell ------------------------------------------------------------------------------


def _check_command(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list) and value and all(isinstance(arg, str) for arg in value):
        return [clean_text(arg) for arg in value]
    raise ValueError("give a shell string or a non-empty list of strings (argv)")


Command = Annotated[str | list[str], BeforeValidator(_check_command)]


class CommandRequest(_Request):
    cmd: Command
    """A shell string run by /bin/sh -c, or an argv list run directly."""
    timeout: Annotated[float, Field(gt=0, le=MAX_COMMAND_TIMEOUT)] | None = 60.0
    """Seconds before the whole process group is killed; null for no limit."""
    cwd: CleanText | None = None
    env: dict[CleanText, CleanText] = Field(default_factory=dict)
    user: CleanText | None = None
    stdin: UnicodeText | None = None
    """Text written to the command's input; it is closed afterwards unless ``open_stdin``."""
    open_stdin: bool = False
    """Keep the input open (background processes only) for ``POST /processes/{id}/stdin``."""

    @field_validator("env")
    @classmethod
    def _names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not name or "=" in name or "\x00" in name:
                raise ValueError(f"invalid environment variable name {name!r}")
        return env


class CommandResult(BaseModel):
    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    duration: float
    """Seconds from start to exit."""


class ProcessInfo(BaseModel):
    id: str
    pid: int
    command: str | list[str]
    running: bool
    exit_code: int | None = None
    timed_out: bool = False


class ProcessOutput(BaseModel):
    """Output of a background process from the offsets asked for."""

    stdout: str
    stderr: str
    stdout_offset: int
    """Pass back as ``stdout_offset`` to read only newer output."""
    stderr_offset: int
    running: bool
    exit_code: int | None = None


class StdinRequest(_Request):
    data: UnicodeText = Field(default="", max_length=10_000_000)
    close: bool = False
    """Close the input after writing, so the process reads end-of-file."""


class SignalRequest(_Request):
    signal: Literal["TERM", "KILL", "INT", "HUP", "STOP", "CONT", "USR1", "USR2"] = "KILL"


# ---- files ------------------------------------------------------------------------------


FileType = Literal["file", "dir", "symlink", "other"]


class FileInfo(BaseModel):
    name: str
    path: str
    type: FileType
    size: int
    mode: str
    modified: float
    symlink_target: str | None = None


class WriteFileRequest(_Request):
    path: CleanText = Field(min_length=1)
    content: UnicodeText
    encoding: Literal["utf-8", "base64"] = "utf-8"
    append: bool = False
    mode: Annotated[str, Field(pattern=r"^0?o?[0-7]{3,4}$")] | None = None
    """Permission bits in octal, e.g. "755"."""


class MoveRequest(_Request):
    source: CleanText = Field(min_length=1)
    destination: CleanText = Field(min_length=1)
    overwrite: bool = False


class FileContent(BaseModel):
    path: str
    content: str
    encoding: Literal["utf-8", "base64"]


# ---- desktop ----------------------------------------------------------------------------


class ClipboardContent(BaseModel):
    text: UnicodeText


class OpenRequest(_Request):
    target: CleanText = Field(min_length=1)
    """A URL or a file path."""


class LaunchRequest(_Request):
    command: Command
    """An application name ("xfce4-terminal") or an argv list."""


class Launched(BaseModel):
    pid: int


class Window(BaseModel):
    id: int
    title: str
    wm_class: str
    pid: int | None
    x: int
    y: int
    width: int
    height: int
    active: bool


class ActiveWindow(BaseModel):
    id: int | None
    """The focused window, or None when no window has the focus."""


class WindowTitle(BaseModel):
    title: str


class Size(BaseModel):
    width: int
    height: int


class Info(BaseModel):
    display: str
    screen: Size
    versions: dict[str, str]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    components: dict[str, str]
    errors: dict[str, str] | None = None
    """For each component that is not ready and has failed: why, with its last log lines.
    Only for a caller with the token: /health is open, and logs are not."""


# ---- browser ----------------------------------------------------------------------------


class NavigateRequest(_Request):
    url: CleanText = Field(min_length=1, max_length=100_000)


class HistoryMoved(BaseModel):
    moved: bool
    """False when there was no page to go to."""


class HistoryRequest(_Request):
    delta: Annotated[int, Field(ge=-100, le=100)] = -1
