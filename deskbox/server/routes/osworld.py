"""OSWorld's guest protocol under ``/osworld``: what ``desktop_env``'s PythonController asks
a VM's guest server for, with the request and answer shapes it expects.

Behind the token like every route; OSWorld's client sends none, so it talks to a
forwarder in its own process (``deskbox.integrations.osworld``) that adds it. OSWorld
runs each pyautogui action as ``python -c "import pyautogui; ..."``; ``/execute``
recognises that form and runs it in the warm pyautogui worker instead of a new Python.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from ...actions import DEFAULT_SCRIPT_SECONDS, CleanText, ScreenshotOptions
from ...desktop import Desktop
from ...desktop.accessibility import RawNode, TreeQuery, osworld_xml
from ...desktop.files import check_readable_file
from ...errors import CapabilityError, NotFoundError, ScriptError
from ...models import Command, CommandRequest
from ..deps import get_desktop

router = APIRouter(prefix="/osworld", tags=["osworld"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]

PYTHONS = frozenset({"python", "python3", sys.executable, os.path.basename(sys.executable)})
TREE_LIMIT = 5000
"""Entries a directory tree lists at most; a larger one says it was cut."""
OSWORLD_MAX_DEPTH = 50
"""How deep OSWorld's guest walks a tree."""
COMMAND_TIMEOUT = 120.0
"""Seconds an /execute command may run (OSWorld's client gives up after 90)."""

NOT_YET: dict[str, str] = {
    "POST /wallpaper": "the wallpaper is not served",
    "POST /setup/change_wallpaper": "the wallpaper cannot be changed yet",
}
"""OSWorld calls this server does not answer yet, refused by name (501), never with a 404."""


# The fields take the shell API's own types, so what a command could not carry (a NUL, a
# lone surrogate) is a 422 naming the field here rather than a failure deeper down.
class ExecuteRequest(BaseModel):
    command: Annotated[Command, Field(min_length=1)]
    shell: bool = False


class PythonScript(BaseModel):
    code: CleanText


class BashScript(BaseModel):
    script: CleanText
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30
    working_dir: CleanText | None = None


class DirectoryRequest(BaseModel):
    path: CleanText


def pyautogui_code(command: str | list[str]) -> str | None:
    """The code of ``python -c "<code using pyautogui>"``, the form OSWorld sends actions in."""
    if isinstance(command, list) and len(command) == 3 and command[1] == "-c" and command[0] in PYTHONS:
        code = command[2]
        return code if "import pyautogui" in code else None
    return None


def _ran(status_ok: bool, output: str, error: str, returncode: int) -> dict[str, Any]:
    return {
        "status": "success" if status_ok else "error",
        "output": output,
        "error": error,
        "returncode": returncode,
    }


@router.get("/screenshot", response_class=Response)
async def screenshot(desktop: DesktopDep) -> Response:
    """The screen as PNG, with the pointer drawn in (as OSWorld's guest takes it)."""
    encoded = await desktop.screenshot(ScreenshotOptions(format="png", cursor=True))
    return Response(encoded.data, media_type="image/png")


@router.post("/execute")
async def execute(request: ExecuteRequest, desktop: DesktopDep) -> dict[str, Any]:
    """Run a command and return its output; pyautogui code runs in the warm worker."""
    code = pyautogui_code(request.command)
    if code is not None:
        try:
            output = await desktop.run_pyautogui(code, DEFAULT_SCRIPT_SECONDS * 3)
        except ScriptError as exc:
            return _ran(False, exc.output, exc.traceback or exc.message, 1)
        return _ran(True, output, "", 0)
    command: str | list[str] = request.command
    if request.shell and isinstance(command, list):
        command = " ".join(command)
    result = await desktop.processes.run(CommandRequest(cmd=command, timeout=COMMAND_TIMEOUT))
    return _ran(result.exit_code == 0, result.stdout, result.stderr, result.exit_code)


@router.post("/run_python")
async def run_python(script: PythonScript, desktop: DesktopDep) -> dict[str, Any]:
    result = await desktop.processes.run(
        CommandRequest(cmd=[sys.executable, "-c", script.code], timeout=COMMAND_TIMEOUT)
    )
    answer = _ran(result.exit_code == 0, result.stdout, result.stderr, result.exit_code)
    answer["message"] = "the script ran" if result.exit_code == 0 else "the script failed"
    return answer


@router.post("/run_bash_script")
async def run_bash_script(script: BashScript, desktop: DesktopDep) -> dict[str, Any]:
    request = CommandRequest(
        cmd=["/bin/bash", "-c", script.script], timeout=script.timeout, cwd=script.working_dir
    )
    result = await desktop.processes.run(request)
    if result.timed_out:
        return _ran(False, result.stdout, f"Script execution timed out after {script.timeout:g} seconds", -1)
    return _ran(result.exit_code == 0, result.stdout, result.stderr, result.exit_code)


@router.post("/file", response_class=FileResponse)
async def file(file_path: Annotated[CleanText, Form(min_length=1)]) -> FileResponse:
    """A file's bytes (OSWorld's evaluators read results this way)."""
    target = await asyncio.to_thread(check_readable_file, file_path)
    return FileResponse(target, media_type="application/octet-stream")


OSWORLD_APPLICATION_NAMES = {"Chromium": "Google Chrome"}
"""The image's google-chrome is Chromium; OSWorld's Chrome checks find the browser by
``application[name=Google Chrome]`` (Chromium only on ARM, where its VMs ship Chromium)."""


@router.get("/accessibility")
async def accessibility(desktop: DesktopDep) -> dict[str, str]:
    """The desktop's accessibility tree in OSWorld's XML, under "AT"."""
    tree = await desktop.accessibility.tree(TreeQuery(max_depth=OSWORLD_MAX_DEPTH))
    return {"AT": osworld_xml(tree, OSWORLD_APPLICATION_NAMES)}


@router.get("/terminal")
async def terminal(desktop: DesktopDep) -> dict[str, Any]:
    """The text of the terminal in front (the focused one, else the only one), or null."""
    raw = await desktop.accessibility.tree(TreeQuery(visible_only=True))
    found: list[tuple[RawNode, RawNode]] = []  # (window, terminal)
    for application in raw.applications:
        for window in application.children:
            found.extend((window, node) for node in window.walk() if node.role == "terminal")
    front = [t for w, t in found if "focused" in t.states] or [t for w, t in found if "active" in w.states]
    chosen = front or [t for _, t in found]
    output = (chosen[0].text or "").rstrip() if len(chosen) == 1 or front else None
    return {"output": output, "status": "success"}


@router.post("/start_recording")
async def start_recording(desktop: DesktopDep) -> dict[str, str]:
    """OSWorld's recording: the whole screen at 10 fps, as MP4."""
    await desktop.recorder.start(await desktop.screen_size(), 10, "mp4", None)
    return {"status": "success", "message": "Started recording."}


@router.post("/end_recording", response_class=FileResponse)
async def end_recording(desktop: DesktopDep) -> FileResponse:
    return FileResponse(await desktop.recorder.stop(), media_type="video/mp4", filename="recording.mp4")


@router.post("/screen_size")
async def screen_size(desktop: DesktopDep) -> dict[str, int]:
    width, height = await desktop.screen_size()
    return {"width": width, "height": height}


@router.get("/platform")
async def platform_name() -> Response:
    return Response(platform.system(), media_type="text/plain")


@router.get("/cursor_position")
async def cursor_position(desktop: DesktopDep) -> list[int]:
    return list(await desktop.cursor_position())


@router.post("/window_size")
async def window_size(
    app_class_name: Annotated[CleanText, Form(min_length=1)], desktop: DesktopDep
) -> dict[str, int]:
    for window in await desktop.list_windows():
        if window.wm_class.lower() == app_class_name.lower():
            return {"width": window.width, "height": window.height}
    raise NotFoundError(f"no window of class {app_class_name!r} is open")


@router.post("/desktop_path")
async def desktop_path() -> dict[str, str]:
    return {"desktop_path": str(Path.home() / "Desktop")}


@router.post("/list_directory")
async def list_directory(request: DirectoryRequest) -> dict[str, Any]:
    root = Path(request.path).expanduser()
    if not root.is_dir():
        raise NotFoundError(f"{root} is not a directory")
    return {"directory_tree": await asyncio.to_thread(_tree, root)}


def _tree(root: Path) -> dict[str, Any]:
    """The directory as OSWorld's guest gives it: nested name/type/children."""
    budget = [TREE_LIMIT]

    def node(path: Path) -> dict[str, Any]:
        budget[0] -= 1
        if not path.is_dir() or path.is_symlink():
            return {"name": path.name, "type": "file"}
        children: list[dict[str, Any]] = []
        try:
            entries = sorted(path.iterdir())
        except OSError:
            entries = []
        for entry in entries:
            if budget[0] <= 0:
                children.append({"name": "...", "type": "truncated"})
                break
            children.append(node(entry))
        return {"name": path.name, "type": "directory", "children": children}

    return node(root)


def _refusal(what: str, why: str) -> Any:
    async def refuse() -> None:
        raise CapabilityError(f"{what}: {why}", capability=what)

    return refuse


for _route, _why in NOT_YET.items():
    _method, _path = _route.split(" ", 1)
    router.add_api_route(_path, _refusal(_route, _why), methods=[_method], include_in_schema=True)
