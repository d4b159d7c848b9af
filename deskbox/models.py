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


class PtySize(_Request):
    cols: Annotated[int, Field(ge=1, le=1000)]
    rows: Annotated[int, Field(ge=1, le=1000)]


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
    pty: PtySize | None = None
    """Run in a terminal of this size (background only): its output, stdout and stderr
    together, is the terminal's screen stream, and its input is typed into it."""

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
    pty: PtySize | None = None
    """The terminal's size, for a command run in one."""


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
    encoding: Literal["utf-8", "base64"] = "utf-8"
    """base64 for bytes that are not text (a terminal's control sequences are text)."""
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
    owner: str | None = None
    group: str | None = None


class WriteFileRequest(_Request):
    path: CleanText = Field(min_length=1)
    content: UnicodeText
    encoding: Literal["utf-8", "base64"] = "utf-8"
    append: bool = False
    mode: Annotated[str, Field(pattern=r"^0?o?[0-7]{3,4}$")] | None = None
    """Permission bits in octal, e.g. "755"."""


class WatchRequest(_Request):
    path: CleanText = Field(min_length=1)
    recursive: bool = False
    """Watch every folder below too, new ones included."""


class WatchInfo(BaseModel):
    id: str
    path: str
    recursive: bool
    running: bool
    """False once the folder itself was removed or moved away."""


class WatchEvent(BaseModel):
    name: str
    """The path of what changed, relative to the folder watched ("" for the folder itself)."""
    type: Literal["create", "write", "remove", "rename", "chmod"]


class WatchEvents(BaseModel):
    events: list[WatchEvent]
    dropped: int
    """Events lost before these (more than the watch keeps unread, or the kernel's queue)."""
    running: bool


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


class Opened(BaseModel):
    via: Literal["browser", "application"]
    """A new tab of the desktop's browser, or the file's default application."""
    pid: int | None = None
    """The opener's process, for an application."""
    url: str | None = None
    """The page shown, for the browser."""


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


# ---- accessibility ----------------------------------------------------------------------


class Bounds(BaseModel):
    """A rectangle in screen pixels, as screenshots and clicks count them."""

    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


class AccessibleNode(BaseModel):
    """One element of an application's accessibility tree (AT-SPI)."""

    id: str
    """Where the element lives: its application's bus name and object path."""
    role: str
    """AT-SPI's role name: "push button", "entry", "document web", "terminal", ..."""
    name: str = ""
    description: str = ""
    states: list[str] = Field(default_factory=list)
    """AT-SPI's states that are set: "focused", "showing", "visible", "checked", ..."""
    bounds: Bounds | None = None
    """On screen; None for an element with no extent (hidden, zero-sized, no component)."""
    text: str | None = None
    """The element's text, for elements that have some (fields, labels, terminals)."""
    value: float | None = None
    """The current value of a slider, a progress bar, a spin button."""
    actions: list[str] = Field(default_factory=list)
    """What the element can do ("click", "press", "activate", ...)."""
    attributes: dict[str, str] = Field(default_factory=dict)
    """The toolkit's own attributes (Chromium's "tag", "id", "class", ...)."""
    interfaces: list[str] = Field(default_factory=list)
    """The AT-SPI interfaces it implements ("Component", "Text", "Action", "Value", ...)."""
    application: str = ""
    """The name of the application the element belongs to."""
    pid: int | None = None
    """For an application: its process, as windows' ``pid`` gives it."""
    children: list[AccessibleNode] = Field(default_factory=list)
    child_count: int = 0
    """How many children the element has, also when they were not read (max_depth)."""

    def walk(self) -> list[AccessibleNode]:
        """This element and every element below it, in tree order."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


class ApplicationError(BaseModel):
    application: str
    """The application's name, or its bus name when it did not say its name."""
    message: str


class AccessibilityTree(BaseModel):
    applications: list[AccessibleNode]
    """One root per application, its windows ("frame") below it."""
    node_count: int
    truncated: bool = False
    """True when the tree had more elements than max_nodes and the rest were left out."""
    errors: list[ApplicationError] = Field(default_factory=list)
    """Applications whose tree could not be read in time: they are missing from the tree."""


class AccessibleMatches(BaseModel):
    elements: list[AccessibleNode]
    """Matching elements in tree order, each without its children."""
    truncated: bool = False
    errors: list[ApplicationError] = Field(default_factory=list)


class ElementAt(BaseModel):
    element: AccessibleNode
    """The innermost element at the point, as the application's own hit test finds it."""
    ancestors: list[AccessibleNode] = Field(default_factory=list)
    """Its parents, nearest first, up to its window: where the button is for a label in it."""


# ---- recording --------------------------------------------------------------------------


class RecordingRequest(_Request):
    fps: Annotated[int, Field(ge=1, le=60)] = 10
    format: Literal["mp4", "webm"] = "mp4"
    """mp4 (H.264) or webm (VP8)."""
    width: Annotated[int, Field(ge=16, le=7680)] | None = None
    """The video's size; the screen's by default. Give both or neither."""
    height: Annotated[int, Field(ge=16, le=4320)] | None = None


class RecordingStatus(BaseModel):
    recording: bool
    fps: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    started_at: float | None = None
    """Unix time."""
    seconds: float = 0.0
    bytes: int = 0
    segments: int = 0
    restarts: int = 0
    """How many times ffmpeg died and a new segment was started."""
    error: str | None = None
    """Why the recording stopped by itself, when it did."""


class ViewerLinkInfo(BaseModel):
    """A reusable viewer link (POST /viewer/links)."""

    id: str
    """Revoke the link with DELETE /viewer/links/{id}."""
    url: str | None = None
    """Given once, when the link is made: only a hash of its secret is kept."""
    expires_at: float
    """Unix time."""
    view_only: bool
