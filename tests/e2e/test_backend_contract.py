"""One contract, every backend: local processes, Docker, E2B in both modes (the deskbox
template and E2B's stock desktop), Modal and Fly Machines, through the stand-ins, and against the real
clouds as well when their credentials are set.

Every test here runs unchanged on each backend, through the same AsyncSandbox methods: a
sandbox is created, driven, found, extended and killed, and each step is checked on its
real effect. What stock mode cannot do, it refuses with UnsupportedInModeError naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from PIL import Image

from deskbox import AsyncSandbox, SandboxNotFoundError, UnsupportedInModeError
from deskbox.backends import Backend, get_backend
from deskbox.backends.e2b import E2BBackend
from deskbox.backends.modal import ModalBackend, credentials_in_environment
from harness import e2b_cloud, e2b_desktop
from tests.e2e.conftest import docker_backend, fly_backend
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

SIZE = (1280, 800)
LIVE_E2B = pytest.param(
    "e2b-live",
    marks=pytest.mark.skipif(
        not os.environ.get("E2B_API_KEY"), reason="E2B_API_KEY is not set: the live E2B run is skipped"
    ),
)
LIVE_E2B_STOCK = pytest.param(
    "e2b-stock-live",
    marks=pytest.mark.skipif(
        not os.environ.get("E2B_API_KEY"), reason="E2B_API_KEY is not set: the live E2B run is skipped"
    ),
)
LIVE_MODAL = pytest.param(
    "modal-live",
    marks=pytest.mark.skipif(
        not credentials_in_environment(),
        reason="MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are not set: the live Modal run is skipped",
    ),
)
LIVE_FLY = pytest.param(
    "fly-live",
    marks=pytest.mark.skipif(
        not (os.environ.get("FLY_API_TOKEN") and os.environ.get("FLY_APP")),
        reason="FLY_API_TOKEN and FLY_APP are not set: the live Fly run is skipped",
    ),
)
BACKENDS = [
    "local", "docker", "e2b", "e2b-stock", "modal", "fly",
    LIVE_E2B, LIVE_E2B_STOCK, LIVE_MODAL, LIVE_FLY,
]  # fmt: skip


def make_backend(name: str, request: pytest.FixtureRequest) -> Backend:
    if name == "docker":
        request.getfixturevalue("foreign_sandboxes")  # Docker up, the image built, a user's sandboxes
        return docker_backend()
    if name == "e2b":
        return E2BBackend(sdk=e2b_cloud, api_key=e2b_cloud.API_KEY)  # type: ignore[arg-type]
    if name == "e2b-stock":
        stock: Backend = e2b_desktop.stock_backend()
        return stock
    if name == "e2b-live":  # the real E2B, from the built template (`deskbox e2b build-template`)
        return get_backend("e2b", template=os.environ.get("DESKBOX_E2B_TEMPLATE", "deskbox-desktop"))
    if name == "e2b-stock-live":
        return get_backend("e2b", mode="stock")
    if name == "modal":  # the stand-in: sandboxes are containers of the image on this machine
        cloud = request.getfixturevalue("modal_cloud")
        return ModalBackend(sdk=cloud, token_id=cloud.TOKEN_ID, token_secret=cloud.TOKEN_SECRET)
    if name == "modal-live":  # the real Modal, building the image from this checkout
        return get_backend("modal", app=os.environ.get("DESKBOX_MODAL_APP", "deskbox-tests"))
    if name == "fly":  # the stand-in: Fly's API and proxy on 127.0.0.1, machines as containers
        return fly_backend(request.getfixturevalue("fly_machines"))
    if name == "fly-live":  # the real Fly, from the image `deskbox fly push` put in FLY_APP's registry
        return get_backend("fly")
    return get_backend(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return make_backend(request.param, request)


@pytest_asyncio.fixture(loop_scope="session")
async def box(backend: Backend) -> AsyncIterator[AsyncSandbox]:
    created = await AsyncSandbox.create(
        backend=backend, resolution=SIZE, timeout=600, metadata={"suite": "contract", "run": str(time.time())}
    )
    try:
        yield created
    finally:
        with contextlib.suppress(SandboxNotFoundError):  # a test may have killed it itself
            await created.kill()
        await backend.aclose()


async def test_screen_pointer_and_a_click_at_zero(box: AsyncSandbox) -> None:
    assert await box.get_screen_size() == SIZE
    image = Image.open(io.BytesIO(await box.screenshot()))
    assert image.size == SIZE
    await box.move_mouse(321, 123)
    assert await box.get_cursor_position() == (321, 123)
    await box.left_click(0, 0)  # coordinate 0 is a place, not "no coordinate"
    assert await box.get_cursor_position() == (0, 0)


def stock(backend: Backend) -> bool:
    return isinstance(backend, E2BBackend) and backend.mode == "stock"


async def test_typing_reaches_the_browser(box: AsyncSandbox, backend: Backend) -> None:
    page = "<title>empty</title><textarea autofocus oninput='document.title=this.value'></textarea>"
    url = "data:text/html;charset=utf-8," + quote(page)
    if stock(backend):  # no DevTools there: typing is checked in test_e2b_backend's stock tests
        with pytest.raises(UnsupportedInModeError, match="POST /browser/navigate"):
            await box.navigate(url)
        return
    await box.navigate(url)
    windows = await eventually(box.list_windows, lambda ws: any("empty" in w.title for w in ws))
    await box.focus_window(next(w for w in windows if "empty" in w.title).id)

    async def title() -> str:
        tabs: list[dict[str, Any]] = await box.browser_tabs()
        return str(tabs[0]["title"])

    # Chromium drops keys that arrive before its first paint; type once the page shows.
    await eventually(title, lambda t: t == "empty")
    await box.write("héllo 世界 ✓")
    assert await eventually(title, lambda t: t == "héllo 世界 ✓") == "héllo 世界 ✓"


async def test_commands_and_files(box: AsyncSandbox) -> None:
    result = await box.commands.run("echo $((6 * 7)); echo oops >&2; exit 3", check=False)
    assert (result.stdout, result.stderr, result.exit_code) == ("42\n", "oops\n", 3)
    await box.files.write("/tmp/contract/note.txt", "ünïcode\n")
    assert await box.files.read("/tmp/contract/note.txt") == "ünïcode\n"
    assert (await box.commands.run("cat /tmp/contract/note.txt")).stdout == "ünïcode\n"


async def test_list_connect_extend_and_kill(box: AsyncSandbox, backend: Backend) -> None:
    listed = {info.sandbox_id: info for info in await AsyncSandbox.list(backend=backend)}
    assert box.sandbox_id in listed
    assert listed[box.sandbox_id].metadata["suite"] == "contract"

    again = await AsyncSandbox.connect(box.sandbox_id, backend=backend)
    assert await again.get_screen_size() == SIZE  # its token works
    await again.close()

    before = box.info.deadline
    await box.set_timeout(3600)
    extended = {info.sandbox_id: info for info in await AsyncSandbox.list(backend=backend)}[box.sandbox_id]
    if extended.deadline is not None and before is not None:  # docker keeps its deadline inside
        assert extended.deadline > before

    await box.kill()
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect(box.sandbox_id, backend=backend)
    await asyncio.sleep(0)


async def test_an_unknown_sandbox_is_not_found(backend: Backend) -> None:
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect("nosuchsandbox1234", backend=backend)
