"""``open()`` shows what it was given, in the desktop's browser or the file's application,
and says so when it cannot: e2b_desktop's own ``open`` returned without error and showed
nothing (xdg-open started a second Chromium that died, or asked for a browser)."""

from __future__ import annotations

import time

import pytest

from deskbox import errors
from deskbox.e2b_desktop import InvalidArgumentException, NotFoundException, Sandbox


def tab_urls(sandbox: Sandbox) -> list[str]:
    return [tab["url"] for tab in sandbox._native.browser_tabs()]


def test_a_path_a_file_url_and_a_web_page_each_open_in_the_desktops_browser(sandbox: Sandbox) -> None:
    sandbox.files.write("/home/user/page.html", "<title>from a path</title><h1>path</h1>")
    sandbox.files.write("/home/user/other.html", "<title>from a URL</title><h1>url</h1>")
    sandbox.files.make_dir("/home/user/site")
    sandbox.files.write("/home/user/site/index.html", "<title>served</title><h1>served</h1>")
    server = sandbox.commands.run(
        "python3 -m http.server 8765 --bind 127.0.0.1", background=True, cwd="/home/user/site", timeout=0
    )
    try:
        deadline = time.monotonic() + 20
        probe = "python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8765/')\" || echo down"
        while sandbox.commands.run(probe).stdout:
            assert time.monotonic() < deadline, "the page server did not start"
            time.sleep(0.2)
        sandbox.open("/home/user/page.html")
        sandbox.open("file:///home/user/other.html")
        sandbox.open("http://127.0.0.1:8765/")
        urls = tab_urls(sandbox)
        assert "file:///home/user/page.html" in urls
        assert "file:///home/user/other.html" in urls
        assert "http://127.0.0.1:8765/" in urls
        # The last one opened is in front: its title is the window's.
        assert "served" in sandbox.get_window_title(sandbox.get_current_window_id())
    finally:
        server.kill()


def test_opening_what_cannot_be_shown_raises(sandbox: Sandbox) -> None:
    before = tab_urls(sandbox)
    with pytest.raises(NotFoundException) as missing:
        sandbox.open("/home/user/no-such-file.txt")
    assert "no-such-file.txt" in str(missing.value) and isinstance(missing.value, errors.DeskboxError)
    with pytest.raises(InvalidArgumentException, match="ERR_CONNECTION_REFUSED"):
        sandbox.open("http://127.0.0.1:8766/")  # nothing listens there
    assert tab_urls(sandbox) == before  # a failed open leaves no error page behind


def test_launching_the_browser_with_a_page_opens_a_tab_in_the_running_one(sandbox: Sandbox) -> None:
    sandbox.files.write("/home/user/launched.html", "<title>launched</title>")
    sandbox.launch("chromium", "file:///home/user/launched.html")
    deadline = time.monotonic() + 20
    while "file:///home/user/launched.html" not in tab_urls(sandbox):
        assert time.monotonic() < deadline, tab_urls(sandbox)
        time.sleep(0.2)
    with pytest.raises(InvalidArgumentException, match="exited at once"):
        sandbox.launch("false")
