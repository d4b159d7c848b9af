"""What is Fly's own in the fly backend, through the stand-in (Fly's API and proxy on
127.0.0.1, machines as containers): many sandboxes behind one hostname, each reached by
its instance header and its viewer by replays; pause as suspend; Fly's refusals and rate
limits as DeskboxErrors and retries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from deskbox import (
    AsyncSandbox,
    AuthenticationError,
    BackendError,
    InvalidActionError,
    SandboxNotFoundError,
)
from deskbox.backends.fly import FlyBackend
from tests.e2e.conftest import FLY_APP, fly_backend

pytestmark = pytest.mark.e2e
FLAGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


async def test_two_sandboxes_behind_one_hostname(fly_machines: Any) -> None:
    backend = fly_backend(fly_machines)
    first, second = await asyncio.gather(
        AsyncSandbox.create(backend=backend, timeout=600), AsyncSandbox.create(backend=backend, timeout=600)
    )
    try:
        assert first.url == second.url == fly_machines.proxy_url  # one address for the app
        for index, sandbox in enumerate((first, second)):
            await sandbox.move_mouse(100 + index, 200)
            await sandbox.files.write("/home/user/who.txt", sandbox.sandbox_id)
        for _ in range(3):  # the proxy would spread unrouted requests over both machines
            for index, sandbox in enumerate((first, second)):
                assert await sandbox.get_cursor_position() == (100 + index, 200)
                assert await sandbox.files.read("/home/user/who.txt") == sandbox.sandbox_id
        assert (await first.commands.run("printenv FLY_MACHINE_ID")).stdout.strip() == first.sandbox_id
    finally:
        await asyncio.gather(first.kill(), second.kill())


async def test_the_viewer_and_the_live_trace_reach_their_machine(fly_machines: Any) -> None:
    """A browser cannot send the instance header: the link and the cookie name the machine,
    and every request that lands on the other machine is replayed to the right one."""
    from playwright.async_api import async_playwright

    from tests.conftest import CHROMIUM

    backend = fly_backend(fly_machines)
    other, wanted = await asyncio.gather(
        AsyncSandbox.create(backend=backend, timeout=600), AsyncSandbox.create(backend=backend, timeout=600)
    )
    replays = fly_machines.replays
    try:
        await wanted.trace.start()
        await wanted.left_click(640, 400)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page()
            await page.goto(await wanted.stream.get_url(view_only=True))
            await page.locator("canvas").first.wait_for(state="visible", timeout=30_000)
            await page.wait_for_function(
                "() => document.getElementById('noVNC_status')?.textContent.includes('Connected')"
                " || !!document.querySelector('.noVNC_connected')",
                timeout=30_000,
            )
            live = await browser.new_page()
            await live.goto(await wanted.trace.live_url())
            await live.wait_for_selector('.timeline .step[data-index="1"]', timeout=30_000)
            await browser.close()
        assert fly_machines.replays > replays, "no request landed on the other machine to be replayed"
    finally:
        await asyncio.gather(other.kill(), wanted.kill())


async def test_pause_is_fly_suspend(fly_machines: Any) -> None:
    backend = fly_backend(fly_machines)
    sandbox = await AsyncSandbox.create(backend=backend, timeout=600)
    try:
        await sandbox.move_mouse(33, 44)
        await sandbox.pause()
        listed = {info.sandbox_id: info for info in await AsyncSandbox.list(backend=backend)}
        assert listed[sandbox.sandbox_id].state == "paused"
        assert fly_machines.machines[sandbox.sandbox_id].state == "suspended"
        await sandbox.resume()
        assert await sandbox.get_cursor_position() == (33, 44)  # memory kept: the same desktop
        deadline = float(await sandbox.files.read("/var/lib/deskbox/deadline"))
        assert deadline > (sandbox.info.deadline or 0) - 700  # the clock ran again, not from zero
    finally:
        await sandbox.kill()
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect(sandbox.sandbox_id, backend=backend)


async def test_fly_refusals_are_deskbox_errors(fly_machines: Any) -> None:
    wrong = FlyBackend(app=FLY_APP, token="FlyV1 fm2_wrong", api_url=fly_machines.api_url)
    with pytest.raises(AuthenticationError, match="FLY_API_TOKEN"):
        await wrong.list()
    legacy = FlyBackend(
        app=FLY_APP, token=fly_machines.token.removeprefix("FlyV1 "), api_url=fly_machines.api_url
    )
    assert isinstance(await legacy.list(), list)  # the same token, sent as Bearer
    with pytest.raises(BackendError, match="app not found"):
        await FlyBackend(app="nosuchapp", token=fly_machines.token, api_url=fly_machines.api_url).list()
    with pytest.raises(InvalidActionError, match="256"):
        FlyBackend(app=FLY_APP, token=fly_machines.token, memory_mb=1000)
    with pytest.raises(InvalidActionError, match="CPUs"):  # Fly's own 422
        await AsyncSandbox.create(backend=fly_backend(fly_machines, cpus=3), timeout=60)
    with pytest.raises(InvalidActionError, match="manifest"):
        await AsyncSandbox.create(
            backend=fly_backend(fly_machines, image="registry.fly.io/x:none"), timeout=60
        )
    with pytest.raises(SandboxNotFoundError):
        await AsyncSandbox.connect("0123456789abcd", backend=fly_backend(fly_machines))


async def test_rate_limits_are_waited_out(fly_machines: Any) -> None:
    backend = fly_backend(fly_machines)
    refused = fly_machines.rate_limited
    results = await asyncio.gather(*(backend.list() for _ in range(14)))  # over list's burst of 10
    assert all(isinstance(found, list) for found in results)
    assert fly_machines.rate_limited > refused, "the burst never met Fly's rate limit"
