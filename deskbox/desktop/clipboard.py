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


async def _xclip(display: str, *args: str, text: str | None = None) -> tuple[int, bytes]:
    """Run xclip on the CLIPBOARD selection; returns its exit code and output."""
    path = shutil.which("xclip")
    if path is None:
        raise DesktopUnavailableError("xclip is not installed; the clipboard needs it")
    proc = await asyncio.create_subprocess_exec(
        path,
        "-selection",
        "clipboard",
        "-target",
        "UTF8_STRING",
        *args,
        stdin=asyncio.subprocess.PIPE if text is not None else asyncio.subprocess.DEVNULL,
        # When setting, xclip forks a child that serves the selection. It must not
        # inherit our pipes, or waiting for output would wait until it is replaced.
        stdout=asyncio.subprocess.PIPE if text is None else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "DISPLAY": display},
        start_new_session=True,
    )
    try:
        stdout, _ = await asyncio.wait_for(
            proc.communicate(text.encode("utf-8") if text is not None else None), CLIPBOARD_TIMEOUT
        )
    except TimeoutError:
        proc.kill()
        raise DeskboxError("the clipboard did not answer in time") from None
    return proc.returncode if proc.returncode is not None else -1, stdout or b""


async def get_clipboard(display: str) -> str:
    code, output = await _xclip(display, "-o")
    # A failure here means no owner, or one that offers no text: an empty clipboard.
    return output.decode("utf-8", "replace") if code == 0 else ""


async def set_clipboard(display: str, text: str) -> None:
    code, _ = await _xclip(display, "-i", text=text)
    if code != 0:
        raise DesktopUnavailableError(f"xclip failed with exit code {code}")
