"""E2B Desktop's own tests, re-expressed for deskbox: the fixtures below are the ones
E2B's test suite defines (packages/python-sdk/tests/conftest.py in e2b-dev/desktop),
with the sandbox from ``deskbox.e2b_desktop`` instead of ``e2b_desktop``.

Underneath, the sandboxes are docker sandboxes of the image built from this checkout,
labelled with this run's labels, so the run touches only what it made.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from deskbox import e2b_desktop
from deskbox.e2b_desktop import Sandbox
from tests.e2e.conftest import deskbox_containers, docker_backend, ensure_image

pytestmark = pytest.mark.e2e
timeout = 60
logger = logging.getLogger(__name__)


@pytest.fixture(scope="session", autouse=True)
def deskbox_docker() -> Iterator[None]:
    ensure_image()
    backend = docker_backend()
    e2b_desktop.set_default_backend(backend)
    try:
        yield
    finally:
        e2b_desktop.set_default_backend(None)
    assert deskbox_containers() == [], "a compatibility test left a sandbox behind"


@pytest.fixture
def sandbox(debug: bool) -> Iterator[Sandbox]:
    box = Sandbox.create(timeout=timeout)
    try:
        yield box
    finally:
        try:
            box.kill()
        except Exception as exc:
            if not debug:
                logger.warning("could not kill the sandbox: %s", exc)


@pytest.fixture
def debug() -> bool:
    return os.getenv("E2B_DEBUG") is not None
