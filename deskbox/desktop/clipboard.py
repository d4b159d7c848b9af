"""The CLIPBOARD selection, through xclip.

Owning a selection means answering other clients' requests for as long as the content
should stay available, including the chunked INCR protocol for large content. xclip
already does that in a process of its own that outlives the call, which is exactly the
lifetime a clipboard needs, so deskbox delegates rather than keep an owner thread.
"""

from __future__ import annotations

import asyncio
import os
import shutil

from ..errors import DeskboxError, DesktopUnavailableError

CLIPBOARD_TIMEOUT = 5.0


def _env(display: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": display}


def _xclip() -> str:
    path = shutil.which("xclip")
    if path is None:
        raise DesktopUnavailableError("xclip is not installed; the clipboard needs it")
    return path


async def get_clipboard(display: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        _xclip(),
        "-selection",
        "clipboard",
        "-o",
        "-target",
        "UTF8_STRING",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(display),
    )
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), CLIPBOARD_TIMEOUT)
    except TimeoutError:
        proc.kill()
        raise DeskboxError("the clipboard owner did not answer in time") from None
    if proc.returncode != 0:
        # No owner, or an owner that offers no text: an empty clipboard to the caller.
        return ""
    return stdout.decode("utf-8", "replace")


async def set_clipboard(display: str, text: str) -> None:
    # xclip forks a child that serves the selection; it must not inherit our pipes,
    # or waiting for the command would wait for the clipboard to be replaced.
    proc = await asyncio.create_subprocess_exec(
        _xclip(),
        "-selection",
        "clipboard",
        "-i",
        "-target",
        "UTF8_STRING",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=_env(display),
        start_new_session=True,
    )
    try:
        await asyncio.wait_for(proc.communicate(text.encode("utf-8")), CLIPBOARD_TIMEOUT)
    except TimeoutError:
        proc.kill()
        raise DeskboxError("xclip did not take the clipboard in time") from None
    if proc.returncode != 0:
        raise DesktopUnavailableError(f"xclip failed with exit code {proc.returncode}")
