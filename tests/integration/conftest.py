"""A real local sandbox per module, at the module's ``SCREEN`` size, and its recorder page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from deskbox import AsyncSandbox
from tests.helpers import recorder_in


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[AsyncSandbox]:
    screen = getattr(request.module, "SCREEN", (1024, 768))
    created = await AsyncSandbox.create(backend="local", resolution=screen, timeout=900)
    yield created
    await created.kill()


@pytest_asyncio.fixture(loop_scope="session")
async def recorder(sandbox: AsyncSandbox) -> AsyncIterator[Any]:
    async with recorder_in(sandbox) as tab:
        yield tab
