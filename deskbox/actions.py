"""The action schema: every input an agent can send to a desktop, and what comes back.

This module is the only place an action is defined. The control server parses request
bodies into these models, the SDK builds them, and the agent adapters and the MCP server
translate vendor tool calls into them. ``Action`` is a union tagged by ``type``;
``ActionRequest`` adds ``Batch``, a list of actions run in order.

Validation here is everything that can be checked without a screen: key names, button
names, durations, lengths, paths. Whether a point lies on the screen depends on the
screen, so it is checked by :func:`out_of_bounds` with the screen size at hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .errors import InvalidActionError
from .keys import UnknownKeyError, canonical_chord, canonical_key, split_combo

MouseButton = Literal["left", "right", "middle", "back", "forward"]
ImageFormat = Literal["png", "jpeg", "webp"]
MediaType = Literal["image/png", "image/jpeg", "image/webp"]
ScrollDirection = Literal["up", "down", "left", "right"]
SCROLL_DIRECTIONS: tuple[ScrollDirection, ...] = ("up", "down", "left", "right")

# X11 coordinates are 16-bit signed; anything larger cannot be a screen position.
Coordinate = Annotated[int, Field(ge=0, le=32767)]
MAX_WAIT_SECONDS = 60.0
MAX_HOLD_SECONDS = 30.0
MAX_SETTLE_SECONDS = 30.0
MAX_TEXT_LENGTH = 100_000
MAX_BATCH_LENGTH = 1000
MAX_SCRIPT_SECONDS = 600.0
DEFAULT_SCRIPT_SECONDS = 30.0
OsworldSignal = Literal["WAIT", "FAIL", "DONE"]
OSWORLD_SIGNALS: tuple[OsworldSignal, ...] = ("WAIT", "FAIL", "DONE")
"""OSWorld's special action strings: an agent says it waits, gives up, or is done."""
MAX_IMAGE_SIDE = 8192
"""The widest or tallest image deskbox makes; a screenshot's size is checked against it
after the aspect ratio fills in the side not given."""


def valid_unicode(value: str) -> str:
    """Text that can be encoded: JSON lets a lone surrogate (\\ud800) through, nothing
    downstream (a keyboard, a file, a process) can take one."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode: it holds a lone surrogate") from None
    return value


def clean_text(value: str) -> str:
    """Text that a command line, a path or a name can hold: valid Unicode, no NUL byte."""
    if "\x00" in value:
        raise ValueError("holds a NUL byte, which no command, path or name can hold")
    return valid_unicode(value)


UnicodeText = Annotated[str, AfterValidator(valid_unicode)]
CleanText = Annotated[str, AfterValidator(clean_text)]


class _Model(BaseModel):
    # Unknown fields are rejected so a typo ("buton") is a 422 that names it, not a no-op.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(_Model):
    x: Coordinate
    y: Coordinate


class Region(_Model):
    """A rectangle on the screen, in screen pixels."""

    x: Coordinate
    y: Coordinate
    width: Annotated[int, Field(gt=0, le=32767)]
    height: Annotated[int, Field(gt=0, le=32767)]


class ScreenshotOptions(_Model):
    """How to capture and encode the screen.

    ``width``/``height`` scale the image to a target size (give one to keep the aspect
    ratio); ``scale`` multiplies instead. ``region`` crops before scaling.
    """

    format: ImageFormat = "png"
    quality: Annotated[int, Field(ge=1, le=100)] = 80
    width: Annotated[int, Field(gt=0, le=MAX_IMAGE_SIDE)] | None = None
    height: Annotated[int, Field(gt=0, le=MAX_IMAGE_SIDE)] | None = None
    scale: Annotated[float, Field(gt=0, le=4)] | None = None
    region: Region | None = None
    cursor: bool = False

    @model_validator(mode="after")
    def _one_way_to_resize(self) -> ScreenshotOptions:
        if self.scale is not None and (self.width is not None or self.height is not None):
            raise ValueError("give either scale or width/height, not both")
        return self


def _validate_keys(value: Any) -> list[str]:
    if isinstance(value, str):
        value = split_combo(value)
    if not isinstance(value, list) or not value:
        raise ValueError("give a key combo such as 'ctrl+shift+t' or a non-empty list of keys")
    if not all(isinstance(key, str) and key for key in value):
        raise ValueError("every key must be a non-empty string")
    try:
        return canonical_chord(value)
    except UnknownKeyError as exc:
        raise ValueError(str(exc)) from None


def _validate_modifiers(value: Any) -> list[str]:
    if value == "" or value == []:
        return []
    keys = _validate_keys(value)
    if len(keys) > 8:
        raise ValueError("at most 8 modifier keys")
    return keys


def _validate_key(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("give a key name such as 'shift' or 'a'")
    try:
        return canonical_key(value)
    except UnknownKeyError as exc:
        raise ValueError(str(exc)) from None


Keys = Annotated[list[str], BeforeValidator(_validate_keys)]
"""Keys pressed together, canonical X names; accepts "ctrl+shift+t" or a list."""
KeyName = Annotated[str, BeforeValidator(_validate_key)]
Modifiers = Annotated[list[str], BeforeValidator(_validate_modifiers)]


class _Modifiers(_Model):
    modifiers: Modifiers = Field(default_factory=list)
    """Keys held down while the pointer action happens, e.g. ["shift"]."""


class _OptionalPoint(_Model):
    x: Coordinate | None = None
    y: Coordinate | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> _OptionalPoint:
        if (self.x is None) != (self.y is None):
            missing = "y" if self.y is None else "x"
            raise ValueError(f"give both x and y, or neither ({missing} is missing)")
        return self


class Move(_Model):
    type: Literal["move"] = "move"
    x: Coordinate
    y: Coordinate


class Click(_OptionalPoint, _Modifiers):
    """Click at (x, y), or where the pointer is when x and y are omitted."""

    type: Literal["click"] = "click"
    button: MouseButton = "left"
    count: Annotated[int, Field(ge=1, le=3)] = 1


class MouseDown(_OptionalPoint):
    type: Literal["mouse_down"] = "mouse_down"
    button: MouseButton = "left"


class MouseUp(_OptionalPoint):
    type: Literal["mouse_up"] = "mouse_up"
    button: MouseButton = "left"


class Drag(_Modifiers):
    """Press at the first point, move through the rest, release at the last."""

    type: Literal["drag"] = "drag"
    path: list[Point] = Field(min_length=2, max_length=1000)
    button: MouseButton = "left"


class Scroll(_OptionalPoint, _Modifiers):
    """Turn the wheel by whole notches: dy > 0 scrolls down, dx > 0 scrolls right."""

    type: Literal["scroll"] = "scroll"
    dx: Annotated[int, Field(ge=-200, le=200)] = 0
    dy: Annotated[int, Field(ge=-200, le=200)] = 0

    @model_validator(mode="after")
    def _some_motion(self) -> Scroll:
        if self.dx == 0 and self.dy == 0:
            raise ValueError("scroll needs a non-zero dx or dy")
        return self


class Key(_Model):
    """Press keys together and release them: "ctrl+shift+t", ["ctrl", "c"] or "Return"."""

    type: Literal["key"] = "key"
    keys: Keys
    repeat: Annotated[int, Field(ge=1, le=100)] = 1


class KeyDown(_Model):
    """Press a key and keep it down until a key_up."""

    type: Literal["key_down"] = "key_down"
    key: KeyName


class KeyUp(_Model):
    type: Literal["key_up"] = "key_up"
    key: KeyName


class HoldKey(_Model):
    """Hold keys down for a duration, then release them."""

    type: Literal["hold_key"] = "hold_key"
    keys: Keys
    duration: Annotated[float, Field(ge=0, le=MAX_HOLD_SECONDS)]
    """Seconds."""


class Type(_Model):
    """Type any Unicode text; newlines press Return and tabs press Tab."""

    type: Literal["type"] = "type"
    text: UnicodeText = Field(min_length=1, max_length=MAX_TEXT_LENGTH)


class Wait(_Model):
    type: Literal["wait"] = "wait"
    duration: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)]
    """Seconds."""


class Screenshot(ScreenshotOptions):
    type: Literal["screenshot"] = "screenshot"


class PyAutoGUI(_Model):
    """Python code that drives the desktop through pyautogui, as OSWorld's agents write it.

    It runs in a warm worker that has pyautogui imported, with ``PAUSE = 0`` and the
    fail-safe off; its input goes through deskbox's own, so ``write`` types any text.
    OSWorld's strings ``WAIT``, ``FAIL`` and ``DONE`` are answered as ``signal``.
    """

    type: Literal["pyautogui"] = "pyautogui"
    code: CleanText = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    timeout: Annotated[float, Field(gt=0, le=MAX_SCRIPT_SECONDS)] = DEFAULT_SCRIPT_SECONDS
    """Seconds the code may run; past it the worker is stopped and the action fails."""
    wait: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] = 2.0
    """Seconds a ``WAIT`` waits (OSWorld's default pause)."""

    @property
    def signal(self) -> OsworldSignal | None:
        """``WAIT``, ``FAIL`` or ``DONE`` when the code is one of OSWorld's signals."""
        stripped = self.code.strip()
        return next((signal for signal in OSWORLD_SIGNALS if signal == stripped), None)


class CursorPosition(_Model):
    type: Literal["cursor_position"] = "cursor_position"


class Zoom(_Model):
    """A region of the screen, cropped and scaled up to ``width`` (default: screen width)."""

    type: Literal["zoom"] = "zoom"
    region: Region
    width: Annotated[int, Field(gt=0, le=8192)] | None = None
    height: Annotated[int, Field(gt=0, le=8192)] | None = None
    format: ImageFormat = "png"
    quality: Annotated[int, Field(ge=1, le=100)] = 80


Action = Annotated[
    Move
    | Click
    | MouseDown
    | MouseUp
    | Drag
    | Scroll
    | Key
    | KeyDown
    | KeyUp
    | HoldKey
    | Type
    | Wait
    | Screenshot
    | CursorPosition
    | Zoom
    | PyAutoGUI,
    Field(discriminator="type"),
]


class Batch(_Model):
    """Actions run in order; the first failure stops the batch."""

    type: Literal["batch"] = "batch"
    actions: list[Action] = Field(min_length=1, max_length=MAX_BATCH_LENGTH)

    @model_validator(mode="after")
    def _bounded(self) -> Batch:
        # No one request may hold the desktop for long: the waits, holds and typing of a
        # batch are bounded as one action's are.
        waited = sum(a.duration for a in self.actions if isinstance(a, Wait | HoldKey)) + sum(
            a.wait for a in self.actions if isinstance(a, PyAutoGUI) and a.signal == "WAIT"
        )
        if waited > MAX_WAIT_SECONDS:
            raise ValueError(
                f"the batch waits and holds keys {waited:g} s in all; at most {MAX_WAIT_SECONDS:g} s"
            )
        typed = sum(len(a.text) for a in self.actions if isinstance(a, Type))
        if typed > MAX_TEXT_LENGTH:
            raise ValueError(f"the batch types {typed} characters in all; at most {MAX_TEXT_LENGTH}")
        return self


ActionRequest = Annotated[Action | Batch, Field(discriminator="type")]
"""What ``POST /actions`` takes: one action or a batch."""

_REQUEST = TypeAdapter(ActionRequest)
_ACTIONS = TypeAdapter(list[Action])
M = TypeVar("M", bound=BaseModel)


def build(model: type[M], **fields: Any) -> M:
    """``model(**fields)``, with a bad field raised as InvalidActionError located as the
    server locates it in a request body (``body.click.x`` for an action's field)."""
    tag = model.model_fields.get("type")
    # An action validates as its own model, where POST /actions finds it by its tag (a
    # union of all of them costs a third more on cold caches); its fields are placed
    # under the tag, as there.
    prefix = ("body",) if tag is None or model is Batch else ("body", tag.default)
    try:
        return model(**fields)
    except ValidationError as exc:
        raise InvalidActionError.from_validation(exc, prefix) from None


def parse_request(value: Any) -> Action | Batch:
    """One action or a batch, from models or their JSON form (dicts), as POST /actions
    takes it; a list is one batch. Bad input raises InvalidActionError naming the field."""
    try:
        if isinstance(value, list):
            return Batch(actions=_ACTIONS.validate_python(value))
        request: Action | Batch = _REQUEST.validate_python(value)
        return request
    except ValidationError as exc:
        prefix = ("body", "actions") if isinstance(value, list) else ("body",)
        raise InvalidActionError.from_validation(exc, prefix) from None


def scroll_motion(direction: ScrollDirection, amount: int) -> dict[str, int]:
    """The ``dx``/``dy`` of a Scroll for a direction and a number of notches."""
    sign = -1 if direction in ("up", "left") else 1
    return {"dy": sign * amount} if direction in ("up", "down") else {"dx": sign * amount}


def media_type(fmt: ImageFormat) -> MediaType:
    """The MIME type of an image format."""
    media: MediaType = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}[fmt]  # type: ignore[assignment]
    return media


def parse_region(text: str, loc: tuple[str, ...] = ("query", "region")) -> Region:
    """A region written "x,y,width,height", as the screenshot query takes it."""
    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise InvalidActionError.at(loc, "give x,y,width,height as four integers")
    x, y, width, height = (int(p) for p in parts)
    try:
        return Region(x=x, y=y, width=width, height=height)
    except ValidationError as exc:
        raise InvalidActionError.from_validation(exc, loc) from None


_DEFAULT_SCREENSHOT = ScreenshotOptions()


class _Query(_Model):
    """The screenshot query: the options plus how long to wait for the screen to settle."""

    settle: Annotated[float, Field(ge=0, le=MAX_SETTLE_SECONDS)] = 0.0


def screenshot_query(params: Any) -> tuple[ScreenshotOptions, float]:
    """Screenshot options and ``settle`` from query parameters (strings), refused with the
    field located in the query, for transports that answer the server's requests."""
    if not params:
        # Most actions come with no query; validating nothing costs 60 us on cold caches.
        return _DEFAULT_SCREENSHOT, 0.0
    fields = {k: v for k, v in dict(params).items() if k in ScreenshotOptions.model_fields}
    if "region" in fields:
        fields["region"] = parse_region(fields["region"])
    try:
        options = ScreenshotOptions(**fields)
        settle = _Query.model_validate({"settle": dict(params).get("settle", 0.0)}).settle
    except ValidationError as exc:
        raise InvalidActionError.from_validation(exc, ("query",)) from None
    return options, settle


def out_of_bounds(action: Any, width: int, height: int) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Yield (field location, message) for every coordinate of ``action`` off a screen."""

    def check(
        loc: tuple[str | int, ...], x: int | None, y: int | None
    ) -> Iterator[tuple[tuple[str | int, ...], str]]:
        if x is not None and x >= width:
            yield (*loc, "x"), f"x={x} is outside the screen (0..{width - 1})"
        if y is not None and y >= height:
            yield (*loc, "y"), f"y={y} is outside the screen (0..{height - 1})"

    if isinstance(action, Batch):
        for index, inner in enumerate(action.actions):
            for loc, message in out_of_bounds(inner, width, height):
                yield ("actions", index, *loc), message
    elif isinstance(action, Drag):
        for index, point in enumerate(action.path):
            yield from check(("path", index), point.x, point.y)
    elif isinstance(action, Move | Click | MouseDown | MouseUp | Scroll):
        yield from check((), action.x, action.y)
    elif isinstance(action, Screenshot | Zoom) and action.region is not None:
        region = action.region
        if region.x + region.width > width or region.y + region.height > height:
            yield (
                ("region",),
                (
                    f"region {region.width}x{region.height}+{region.x}+{region.y} "
                    f"does not fit the {width}x{height} screen"
                ),
            )


def places_on_screen(action: Any) -> bool:
    """Whether ``action`` names any point or region, i.e. needs the screen size checked."""
    if isinstance(action, Batch):
        return any(places_on_screen(inner) for inner in action.actions)
    if isinstance(action, Drag):
        return True
    if isinstance(action, Move | Click | MouseDown | MouseUp | Scroll):
        return action.x is not None
    return isinstance(action, Screenshot | Zoom) and action.region is not None


# ---- results ----------------------------------------------------------------------------


class Image(BaseModel):
    """An encoded image, base64 in JSON."""

    format: ImageFormat
    width: int
    height: int
    data: str
    """Base64 of the encoded bytes."""


class ActionResult(BaseModel):
    """The outcome of one action."""

    index: int
    type: str
    ok: bool = True
    error: str | None = None
    cursor: Point | None = None
    image: Image | None = None
    output: str | None = None
    """What a ``pyautogui`` action's code printed (stdout and stderr)."""
    signal: OsworldSignal | None = None
    """The OSWorld signal a ``pyautogui`` action gave, if it was one."""


class ActionResponse(BaseModel):
    """The outcome of ``POST /actions``: one result per action that ran."""

    ok: bool
    results: list[ActionResult]
    failed_index: int | None = None
    """Index of the action that failed; later actions did not run."""
    screenshot: Image | None = None
    """The screen after the actions, when asked for with ``screenshot_after``."""


def target_size(
    width: int,
    height: int,
    *,
    to_width: int | None = None,
    to_height: int | None = None,
    scale: float | None = None,
) -> tuple[int, int]:
    """The output size for a resize request; one given side keeps the aspect ratio."""
    if scale is not None:
        size, asked = (max(1, round(width * scale)), max(1, round(height * scale))), "scale"
    elif to_width is not None and to_height is not None:
        size, asked = (to_width, to_height), "width"
    elif to_width is not None:
        size, asked = (to_width, max(1, round(height * to_width / width))), "width"
    elif to_height is not None:
        size, asked = (max(1, round(width * to_height / height)), to_height), "height"
    else:
        return width, height
    if max(size) > MAX_IMAGE_SIDE:
        raise InvalidActionError.at(
            (asked,), f"the image would be {size[0]}x{size[1]}, over the {MAX_IMAGE_SIDE}-pixel limit"
        )
    return size


def zoom_size(
    region: Region, screen: tuple[int, int], width: int | None, height: int | None
) -> tuple[int, int]:
    """A zoom's output size: as asked, or the region scaled up to fit the screen."""
    if width is None and height is None:
        factor = min(screen[0] / region.width, screen[1] / region.height)
        return max(1, round(region.width * factor)), max(1, round(region.height * factor))
    return target_size(region.width, region.height, to_width=width, to_height=height)
