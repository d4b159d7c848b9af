"""Every check of E2B Desktop's own test suites (Python: test_controls.py; JS: mouse,
screen and apps tests), against a deskbox sandbox through ``deskbox.e2b_desktop``.

Where E2B's tests sleep a fixed 5 s for the desktop to react, these wait for the
condition itself, so they pass on a loaded machine and fail only when it never comes.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from PIL import Image, ImageChops

from deskbox.e2b_desktop import Sandbox


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def around(image: Image.Image, point: tuple[int, int]) -> Image.Image:
    x, y = point
    return image.crop((x - 50, y - 50, x + 50, y + 50))


def shot(sandbox: Sandbox) -> Image.Image:
    return Image.open(io.BytesIO(sandbox.screenshot())).convert("RGB")


def test_right_click_changes_the_screen_around_the_pointer(sandbox: Sandbox) -> None:
    before = shot(sandbox)
    pointer = sandbox.get_cursor_position()
    sandbox.right_click()

    def changed() -> bool:
        return (
            ImageChops.difference(around(before, pointer), around(shot(sandbox), pointer)).getbbox()
            is not None
        )

    until(changed, timeout=20, what="change around the pointer (the desktop's menu)")


def test_a_screenshot_is_a_valid_image(sandbox: Sandbox) -> None:
    data = sandbox.screenshot()
    assert data
    Image.open(io.BytesIO(data)).verify()


def test_the_pointer_starts_in_the_middle_of_the_screen(sandbox: Sandbox) -> None:
    assert sandbox.get_cursor_position() == (512, 384)
    width, height = sandbox.get_screen_size()
    assert sandbox.get_cursor_position() == (width // 2, height // 2)


def test_the_screen_is_1024_by_768(sandbox: Sandbox) -> None:
    assert sandbox.get_screen_size() == (1024, 768)


def test_a_written_file_reads_back_after_it_is_opened(sandbox: Sandbox) -> None:
    path = "/home/user/test.txt"
    sandbox.files.write(path, "hello")
    sandbox.open(path)
    assert sandbox.files.read(path) == "hello"


def test_the_mouse_moves_where_it_is_told(sandbox: Sandbox) -> None:
    sandbox.move_mouse(100, 200)
    assert sandbox.get_cursor_position() == (100, 200)


def test_a_file_made_by_a_command_opens_with_its_default_application(sandbox: Sandbox) -> None:
    path = "/home/user/testfile.txt"
    sandbox.commands.run(f'echo "This is a test file." > {path}')
    sandbox.open(path)
    assert sandbox.files.read(path) == "This is a test file.\n"
