"""Stock mode: the SDK's methods on E2B's stock ``desktop`` template, through ``e2b_desktop``.

For users with no deskbox template. The stock template runs no deskbox server, so unlike
every other backend this one cannot hand the SDK a URL: the sandbox object itself maps
each method onto ``e2b_desktop.Sandbox`` (whose calls are blocking; they run in a
thread). It works around two faults of the stock client:

- ``left_click(0, y)`` does not move the pointer there (``if x and y`` skips 0), so the
  pointer is always moved explicitly first;
- ``write`` types 25-character chunks with 75 ms between keys; here one ``xdotool type``
  per run of ASCII text with 4 ms between keys (12 ms for other characters, bound to
  spare keys beforehand) does the same job 7 to 13 times faster (bench/bench_e2b_stock.py).
  Binding first also fixes a loss: xdotool's own bind-type-unbind of a character
  outside the keymap dropped it in Chromium at any delay, 75 ms included.

Schema actions run too (``act``), held modifiers, zoom and ``screenshot_after`` included,
so the agent adapters drive a stock sandbox as they drive any other. What the stock
template cannot do (the browser's DevTools, window focus by id, the clipboard, a pointer
drawn into a screenshot) raises :class:`UnsupportedInModeError` naming the action and
the mode.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import io
import shlex
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from .. import errors
from ..actions import (
    Action,
    ActionResponse,
    ActionResult,
    Batch,
    Click,
    CursorPosition,
    Drag,
    HoldKey,
    Image,
    ImageFormat,
    Key,
    KeyDown,
    KeyUp,
    MouseButton,
    MouseDown,
    MouseUp,
    Move,
    Point,
    Screenshot,
    ScreenshotOptions,
    Scroll,
    Type,
    Wait,
    Zoom,
    target_size,
    zoom_size,
)
from ..client._commands import CommandResult, OutputCallback, _check
from ..client._sandbox import AsyncSandbox, ScrollDirection
from ..models import FileInfo, Window
from ._base import SandboxInfo

T = TypeVar("T")
MODE = "e2b stock mode"
ASCII_DELAY_MS = 4
"""Between keys in ``xdotool type`` for ASCII text: no key was dropped at this speed."""
UNICODE_DELAY_MS = 12
"""For characters outside ASCII (bound to keys beforehand, see ``_bind``): xdotool's
default delay."""
KEYMAP_GRACE_S = 0.1
TYPE_CHUNK = 500
_XDO_BUTTONS = {"left": 1, "middle": 2, "right": 3, "back": 8, "forward": 9}


class UnsupportedInModeError(errors.DeskboxError):
    """The stock template cannot do this; the deskbox template can."""

    status_code = 501
    error_type = "unsupported"


def _unsupported(what: str) -> UnsupportedInModeError:
    return UnsupportedInModeError(
        f"{what} is not available in {MODE}; build the deskbox template "
        "(`deskbox e2b build-template`) and use the default mode for it"
    )


class _StockCommands:
    def __init__(self, sandbox: StockDesktopSandbox) -> None:
        self._sandbox = sandbox

    async def run(
        self,
        cmd: str | builtins.list[str],
        background: bool = False,
        *,
        timeout: float | None = 60,
        envs: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stdin: str | None = None,
        open_stdin: bool = False,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        check: bool = True,
    ) -> CommandResult:
        if background or open_stdin:
            raise _unsupported("a background command")
        if stdin is not None:
            raise _unsupported("stdin for a command")
        command = cmd if isinstance(cmd, str) else shlex.join(cmd)
        raw = await self._sandbox._call(
            lambda d: d.commands.run(
                command,
                envs=envs,
                cwd=cwd,
                user=user,
                timeout=0 if timeout is None else timeout,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
            ),
            exit_ok=True,
        )
        result = CommandResult(str(raw.stdout), str(raw.stderr), int(raw.exit_code))
        return _check(result, cmd, check)


class _StockFiles:
    def __init__(self, sandbox: StockDesktopSandbox) -> None:
        self._sandbox = sandbox

    async def read(self, path: str, format: Literal["text", "bytes"] = "text") -> Any:
        data = await self._sandbox._call(lambda d: d.files.read(path, format=format))
        return bytes(data) if format == "bytes" else str(data)

    async def write(self, path: str, data: str | bytes) -> FileInfo:
        await self._sandbox._call(lambda d: d.files.write(path, data))
        return await self.get_info(path)

    async def exists(self, path: str) -> bool:
        return bool(await self._sandbox._call(lambda d: d.files.exists(path)))

    async def get_info(self, path: str) -> FileInfo:
        entry = await self._sandbox._call(lambda d: d.files.get_info(path))
        return _file_info(entry)

    async def list(self, path: str, depth: int = 1) -> builtins.list[FileInfo]:
        entries = await self._sandbox._call(lambda d: d.files.list(path, depth=depth))
        return [_file_info(entry) for entry in entries]

    async def make_dir(self, path: str) -> FileInfo:
        await self._sandbox._call(lambda d: d.files.make_dir(path))
        return await self.get_info(path)

    async def rename(self, old_path: str, new_path: str, overwrite: bool = False) -> FileInfo:
        if not overwrite and await self.exists(new_path):
            raise errors.ConflictError(f"{new_path} exists; pass overwrite=True to replace it")
        await self._sandbox._call(lambda d: d.files.rename(old_path, new_path))
        return await self.get_info(new_path)

    async def remove(self, path: str, recursive: bool = True) -> None:
        await self._sandbox._call(lambda d: d.files.remove(path))


MIN_FAST_RUN = 8
"""ASCII runs shorter than this, next to other characters, go with them at the slow
speed: on E2B every command is a round trip, which costs more than a few slow keys."""


def _runs(text: str) -> builtins.list[tuple[str, bool]]:
    """``text`` cut into runs to type fast (ASCII) or slowly (the rest), in order."""
    runs: builtins.list[tuple[str, bool]] = []
    for char in text:
        fast = ord(char) < 128
        if runs and runs[-1][1] == fast:
            runs[-1] = (runs[-1][0] + char, fast)
        else:
            runs.append((char, fast))
    if any(not fast for _, fast in runs):
        runs = [(run, fast and len(run) >= MIN_FAST_RUN) for run, fast in runs]
    merged: builtins.list[tuple[str, bool]] = []
    for run, fast in runs:
        if merged and merged[-1][1] == fast:
            merged[-1] = (merged[-1][0] + run, fast)
        else:
            merged.append((run, fast))
    return merged


def _file_info(entry: Any) -> FileInfo:
    kind = str(getattr(getattr(entry, "type", None), "value", getattr(entry, "type", "file")))
    return FileInfo(
        name=str(entry.name),
        path=str(entry.path),
        type="dir" if kind == "dir" else "file",
        size=int(getattr(entry, "size", 0) or 0),
        mode=oct(int(getattr(entry, "mode", 0) or 0))[2:],
        modified=float(entry.modified_time.timestamp()) if getattr(entry, "modified_time", None) else 0.0,
    )


class _StockStream:
    def __init__(self, sandbox: StockDesktopSandbox) -> None:
        self._sandbox = sandbox

    async def start(self) -> None:
        await self._sandbox._call(lambda d: d.stream.start())

    async def get_url(self, view_only: bool = False) -> str:
        def url(desktop: Any) -> str:
            if not getattr(desktop.stream, "_is_running", False):
                desktop.stream.start()
            return str(desktop.stream.get_url(view_only=view_only))

        return await self._sandbox._call(url)


class StockDesktopSandbox(AsyncSandbox):
    """An AsyncSandbox whose every call goes to an ``e2b_desktop.Sandbox``."""

    def __init__(self, info: SandboxInfo, backend: Any, desktop: Any, sdk: Any) -> None:
        self.info = info
        self._backend = backend
        self._desktop = desktop
        self._sdk = sdk
        self.commands = _StockCommands(self)  # type: ignore[assignment]
        self.files = _StockFiles(self)  # type: ignore[assignment]
        self.stream = _StockStream(self)  # type: ignore[assignment]
        self._spare_keycodes: builtins.list[int] | None = None
        self._bound: set[str] = set()

    def __repr__(self) -> str:
        return f"StockDesktopSandbox(sandbox_id={self.sandbox_id!r})"

    async def _call(self, work: Callable[[Any], T], exit_ok: bool = False) -> T:
        """Run a blocking e2b_desktop call in a thread, with E2B's errors translated."""
        exceptions = self._sdk.exceptions
        try:
            return await asyncio.to_thread(work, self._desktop)
        except self._sdk.CommandExitException as exc:
            if exit_ok:
                carried: T = exc  # it has stdout, stderr and exit_code, like a result
                return carried
            raise errors.ActionFailedError(
                f"the stock desktop's command failed: {exc}", index=0, action_type="", results=[]
            ) from exc
        except exceptions.NotFoundException as exc:
            raise errors.NotFoundError(str(exc)) from exc
        except exceptions.TimeoutException as exc:
            raise errors.TimeoutError(str(exc)) from exc
        except exceptions.SandboxException as exc:
            raise errors.BackendError(f"E2B: {exc}") from exc

    async def _xdotool(self, arguments: str) -> None:
        await self._call(lambda d: d.commands.run(f"xdotool {arguments}"))

    # ---- lifecycle ----------------------------------------------------------------------

    async def kill(self) -> None:
        await self._call(lambda d: d.kill())

    async def set_timeout(self, timeout: float) -> None:
        await self._call(lambda d: d.set_timeout(max(1, int(timeout))))

    async def pause(self) -> None:
        raise _unsupported("pause")

    async def close(self) -> None:
        """Nothing to close: e2b_desktop holds no connection for us."""

    # ---- screen and pointer -------------------------------------------------------------

    async def screenshot(
        self,
        format: ImageFormat | Literal["bytes"] = "png",
        *,
        quality: int = 80,
        width: int | None = None,
        height: int | None = None,
        settle: float = 0.0,
    ) -> bytes:
        png = await self._settled_png(settle)
        if format in ("png", "bytes") and width is None and height is None:
            return png
        fmt: ImageFormat = "png" if format == "bytes" else format
        options = _screenshot_options({"format": fmt, "quality": quality, "width": width, "height": height})
        data, _, _ = await asyncio.to_thread(_encode, png, options)
        return data

    async def _settled_png(self, settle: float) -> bytes:
        png = bytes(await self._call(lambda d: d.screenshot()))
        # Each stock screenshot is a round trip to the cloud, longer than any repaint, so
        # two equal ones in a row mean the screen has settled.
        deadline = time.monotonic() + settle
        while settle > 0 and time.monotonic() < deadline:
            latest = bytes(await self._call(lambda d: d.screenshot()))
            if latest == png:
                break
            png = latest
        return png

    async def _point_then(self, x: int | None, y: int | None, then: str) -> None:
        # e2b_desktop's clicks skip the move when x or y is 0 (`if x and y`): move first.
        if x is not None and y is not None:
            await self.move_mouse(x, y)
        await self._xdotool(then)

    async def _click(self, button: MouseButton, x: int | None, y: int | None, count: int = 1) -> None:
        await self._point_then(x, y, f"click --repeat {count} {_XDO_BUTTONS[button]}")

    async def move_mouse(self, x: int, y: int) -> None:
        await self._xdotool(f"mousemove {int(x)} {int(y)}")

    async def mouse_press(self, button: MouseButton = "left") -> None:
        await self._xdotool(f"mousedown {_XDO_BUTTONS[button]}")

    async def mouse_release(self, button: MouseButton = "left") -> None:
        await self._xdotool(f"mouseup {_XDO_BUTTONS[button]}")

    async def drag(self, fr: tuple[int, int], to: tuple[int, int]) -> None:
        await self._xdotool(f"mousemove {fr[0]} {fr[1]} mousedown 1 mousemove {to[0]} {to[1]} mouseup 1")

    async def scroll(
        self, direction: ScrollDirection = "down", amount: int = 1, x: int | None = None, y: int | None = None
    ) -> None:
        wheel = {"up": 4, "down": 5, "left": 6, "right": 7}[direction]
        await self._point_then(x, y, f"click --repeat {int(amount)} {wheel}")

    # ---- keyboard -----------------------------------------------------------------------

    async def write(
        self, text: str, *, chunk_size: int | None = None, delay_in_ms: int | None = None
    ) -> None:
        """Type ``text``; given ``chunk_size``/``delay_in_ms``, exactly as e2b_desktop would."""
        if chunk_size is not None or delay_in_ms is not None:
            chunk, delay = chunk_size or 25, 75 if delay_in_ms is None else delay_in_ms
            await self._call(lambda d: d.write(text, chunk_size=chunk, delay_in_ms=delay))
            return
        await self._bind(text)
        for run, is_ascii in _runs(text):
            speed = ASCII_DELAY_MS if is_ascii else UNICODE_DELAY_MS
            await self._type_run(run, speed)

    async def _bind(self, text: str) -> None:
        """Map the text's unmapped characters to spare keycodes before typing them.

        ``xdotool type`` binds such a character to a scratch keycode and unbinds it right
        after the key, and Chromium reads keyboard-map changes late, so it lost the key
        (at any delay, 75 ms included). Bound beforehand, once per sandbox, like the
        template mode's driver does, xdotool finds each character already on a key.
        """
        wanted = sorted({c for c in text if ord(c) >= 128} - self._bound)
        if not wanted:
            return
        if self._spare_keycodes is None:
            listing = await self._call(lambda d: d.commands.run("xmodmap -pke"), exit_ok=True)
            self._spare_keycodes = [
                int(line.split()[1])
                for line in str(listing.stdout).splitlines()
                if line.rstrip().endswith("=")
            ]
        assignments = []
        for char in wanted:
            if not self._spare_keycodes:
                break  # out of keys: xdotool binds the rest itself, as e2b_desktop would
            keysym = f"U{ord(char):04X}"
            assignments.append(f"-e 'keycode {self._spare_keycodes.pop()} = {keysym} {keysym}'")
            self._bound.add(char)
        if assignments:
            # The grace the template mode's driver gives applications to read the new map.
            command = "xmodmap " + " ".join(assignments) + f" && sleep {KEYMAP_GRACE_S}"
            await self._call(lambda d: d.commands.run(command))

    async def _type_run(self, run: str, delay_ms: int) -> None:
        await self._call(lambda d: d.write(run, chunk_size=TYPE_CHUNK, delay_in_ms=delay_ms))

    async def press(self, key: str | builtins.list[str]) -> None:
        await self._call(lambda d: d.press(key))

    async def hold_key(self, key: str | builtins.list[str], duration: float) -> None:
        keys = "+".join(key) if isinstance(key, builtins.list) else key
        await self._xdotool(f"keydown {shlex.quote(keys)} sleep {float(duration)} keyup {shlex.quote(keys)}")

    # ---- queries and desktop ------------------------------------------------------------

    async def get_cursor_position(self) -> tuple[int, int]:
        x, y = await self._call(lambda d: d.get_cursor_position())
        return int(x), int(y)

    async def get_screen_size(self) -> tuple[int, int]:
        width, height = await self._call(lambda d: d.get_screen_size())
        return int(width), int(height)

    async def wait(self, ms: int) -> None:
        await asyncio.sleep(ms / 1000)

    async def open(self, file_or_url: str) -> None:
        await self._call(lambda d: d.open(file_or_url))

    async def launch(self, application: str | builtins.list[str], uri: str | None = None) -> int:
        if not isinstance(application, str):
            raise _unsupported("launching an argument list")
        await self._call(lambda d: d.launch(application, uri))
        return 0

    async def get_current_window_id(self) -> str:
        return str(await self._call(lambda d: d.get_current_window_id()))

    async def get_application_windows(self, application: str) -> builtins.list[str]:
        return list(await self._call(lambda d: d.get_application_windows(application)))

    async def get_window_title(self, window_id: str | int) -> str:
        return str(await self._call(lambda d: d.get_window_title(str(window_id))))

    async def list_windows(self) -> builtins.list[Window]:
        raise _unsupported("list_windows")

    async def focus_window(self, window_id: int | str) -> None:
        await self._xdotool(f"windowactivate --sync {int(window_id)}")

    async def get_clipboard(self) -> str:
        raise _unsupported("the clipboard")

    async def set_clipboard(self, text: str) -> None:
        raise _unsupported("the clipboard")

    async def navigate(self, url: str) -> None:
        raise _unsupported("navigate (the browser's DevTools)")

    async def go_back(self) -> bool:
        raise _unsupported("go_back (the browser's DevTools)")

    async def go_forward(self) -> bool:
        raise _unsupported("go_forward (the browser's DevTools)")

    async def browser_tabs(self) -> builtins.list[dict[str, Any]]:
        raise _unsupported("browser_tabs (the browser's DevTools)")

    # ---- raw actions --------------------------------------------------------------------

    async def act(
        self,
        action: Action | Batch | builtins.list[Action],
        *,
        screenshot_after: bool = False,
        settle: float = 0.0,
        **screenshot_options: Any,
    ) -> ActionResponse:
        """Schema actions, one by one, as far as the stock template can do them."""
        options = _screenshot_options(screenshot_options) if screenshot_after else None
        actions = (
            action
            if isinstance(action, builtins.list)
            else action.actions
            if isinstance(action, Batch)
            else [action]
        )
        results = []
        for index, step in enumerate(actions):
            if isinstance(step, Screenshot | Zoom):
                image = await self._image_for(step)
                results.append(ActionResult(index=index, type=step.type, image=image))
                continue
            held = "+".join(getattr(step, "modifiers", None) or [])
            if held:
                await self._xdotool(f"keydown {shlex.quote(held)}")
            try:
                cursor = await self._one(step)
            finally:
                if held:
                    await self._xdotool(f"keyup {shlex.quote(held)}")
            results.append(ActionResult(index=index, type=step.type, cursor=cursor))
        response = ActionResponse(ok=True, results=results)
        if options is not None:
            png = await self._settled_png(settle)
            response.screenshot = await asyncio.to_thread(_encode_image, png, options)
        return response

    async def _image_for(self, step: Screenshot | Zoom) -> Image:
        png = await self._settled_png(0.0)
        if isinstance(step, Screenshot):
            if step.cursor:
                raise _unsupported("a screenshot with the pointer drawn in")
            return await asyncio.to_thread(_encode_image, png, step)
        width, height = zoom_size(step.region, await self.get_screen_size(), step.width, step.height)
        options = ScreenshotOptions(
            format=step.format, quality=step.quality, region=step.region, width=width, height=height
        )
        return await asyncio.to_thread(_encode_image, png, options)

    async def _one(self, step: Action) -> Point | None:
        if isinstance(step, Move):
            await self.move_mouse(step.x, step.y)
        elif isinstance(step, Click):
            await self._click(step.button, step.x, step.y, step.count)
        elif isinstance(step, MouseDown | MouseUp):
            if step.x is not None and step.y is not None:
                await self.move_mouse(step.x, step.y)
            verb = "mousedown" if isinstance(step, MouseDown) else "mouseup"
            await self._xdotool(f"{verb} {_XDO_BUTTONS[step.button]}")
        elif isinstance(step, Drag):
            moves = " ".join(f"mousemove {p.x} {p.y}" for p in step.path[1:])
            start = step.path[0]
            button = _XDO_BUTTONS[step.button]
            await self._xdotool(f"mousemove {start.x} {start.y} mousedown {button} {moves} mouseup {button}")
        elif isinstance(step, Scroll):
            motions: tuple[tuple[int, ScrollDirection, ScrollDirection], ...] = (
                (step.dy, "up", "down"),
                (step.dx, "left", "right"),
            )
            for notches, negative, positive in motions:
                if notches:
                    await self.scroll(negative if notches < 0 else positive, abs(notches), step.x, step.y)
        elif isinstance(step, Key):
            for _ in range(step.repeat):
                await self._xdotool("key " + shlex.quote("+".join(step.keys)))
        elif isinstance(step, Type):
            await self.write(step.text)
        elif isinstance(step, HoldKey):
            await self.hold_key(step.keys, step.duration)
        elif isinstance(step, KeyDown | KeyUp):
            verb = "keydown" if isinstance(step, KeyDown) else "keyup"
            await self._xdotool(f"{verb} {shlex.quote(step.key)}")
        elif isinstance(step, Wait):
            await asyncio.sleep(step.duration)
        elif isinstance(step, CursorPosition):
            x, y = await self.get_cursor_position()
            return Point(x=x, y=y)
        else:
            raise _unsupported(f"the {step.type!r} action")
        return None


def _screenshot_options(given: dict[str, Any]) -> ScreenshotOptions:
    try:
        return ScreenshotOptions.model_validate(given)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "screenshot"
        raise errors.InvalidActionError(f"{field}: {problem['msg']}") from None


def _encode_image(png: bytes, options: ScreenshotOptions) -> Image:
    data, width, height = _encode(png, options)
    encoded = base64.b64encode(data).decode("ascii")
    return Image(format=options.format, width=width, height=height, data=encoded)


def _encode(png: bytes, options: ScreenshotOptions) -> tuple[bytes, int, int]:
    """A stock screenshot (PNG bytes) cropped, scaled and encoded as the options ask:
    the bytes, and their width and height."""
    from PIL import Image as PILImage  # e2b_desktop depends on Pillow

    picture = PILImage.open(io.BytesIO(png)).convert("RGB")
    region = options.region
    if region is not None:
        if region.x + region.width > picture.width or region.y + region.height > picture.height:
            raise errors.InvalidActionError(
                f"region: it does not fit the {picture.width}x{picture.height} screen"
            )
        picture = picture.crop((region.x, region.y, region.x + region.width, region.y + region.height))
    size = target_size(
        picture.width, picture.height, to_width=options.width, to_height=options.height, scale=options.scale
    )
    if size != picture.size:
        picture = picture.resize(size, PILImage.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format=options.format.upper(), quality=options.quality)
    return out.getvalue(), picture.width, picture.height
