"""Where sandboxes live: ``local`` (processes on this host), ``docker``, or ``e2b`` (cloud)."""

from __future__ import annotations

from typing import Any

from ..errors import BackendError
from ._base import Backend, SandboxInfo, SandboxSpec


def get_backend(name: str | Backend, **options: Any) -> Backend:
    """A backend by name ("local", "docker"), or the backend object given."""
    if not isinstance(name, str):
        return name
    if name == "local":
        from .local import LocalBackend

        return LocalBackend(**options)
    if name == "docker":
        from .docker import DockerBackend

        return DockerBackend(**options)
    if name == "e2b":
        from .e2b import E2BBackend

        return E2BBackend(**options)
    raise BackendError(f"unknown backend {name!r}: use 'local', 'docker' or 'e2b'")


__all__ = ["Backend", "SandboxInfo", "SandboxSpec", "get_backend"]
