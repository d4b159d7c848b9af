"""Where sandboxes live: ``local`` (processes on this host), ``docker``, or the clouds:
``e2b``, ``modal`` and ``fly``."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import BackendError
from ._base import (
    Backend,
    SandboxInfo,
    SandboxSpec,
    SnapshotInfo,
    SupportsPause,
    SupportsReset,
    SupportsSnapshots,
)

BACKENDS: dict[str, str] = {
    "local": "deskbox.backends.local:LocalBackend",
    "docker": "deskbox.backends.docker:DockerBackend",
    "e2b": "deskbox.backends.e2b:E2BBackend",
    "modal": "deskbox.backends.modal:ModalBackend",
    "fly": "deskbox.backends.fly:FlyBackend",
}
"""Every backend by name: where its class lives (imported on first use)."""


def get_backend(name: str | Backend, **options: Any) -> Backend:
    """A backend by name (see BACKENDS), or the backend object given."""
    if not isinstance(name, str):
        return name
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}: use one of {', '.join(sorted(BACKENDS))}")
    module, _, attribute = BACKENDS[name].partition(":")
    backend: Backend = getattr(importlib.import_module(module), attribute)(**options)
    return backend


__all__ = [
    "BACKENDS",
    "Backend",
    "SandboxInfo",
    "SandboxSpec",
    "SnapshotInfo",
    "SupportsPause",
    "SupportsReset",
    "SupportsSnapshots",
    "get_backend",
]
