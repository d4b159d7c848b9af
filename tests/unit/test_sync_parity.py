"""The sync twin mirrors the async source of truth: same methods, same parameters."""

from __future__ import annotations

import inspect

import pytest

from deskbox.client import _commands, _files, _sandbox, _sync

PAIRS = [
    (_sandbox.AsyncSandbox, _sync.Sandbox),
    (_commands.AsyncCommands, _sync.Commands),
    (_commands.AsyncCommandHandle, _sync.CommandHandle),
    (_files.AsyncFiles, _sync.Files),
    (_sandbox.AsyncStream, _sync.Stream),
]


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and not inspect.isclass(member)
    } | {name: inspect.Signature() for name in ("__aenter__",) if hasattr(cls, name)}


def parameters(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=[pair[1].__name__ for pair in PAIRS])
def test_every_async_method_has_a_sync_twin(async_cls: type, sync_cls: type) -> None:
    async_methods = public_methods(async_cls)
    sync_methods = public_methods(sync_cls)
    async_methods.pop("__aenter__", None)
    missing = sorted(set(async_methods) - set(sync_methods))
    assert not missing, f"{sync_cls.__name__} lacks {missing}"
    for name, signature in async_methods.items():
        assert parameters(sync_methods[name]) == parameters(signature), f"{sync_cls.__name__}.{name} differs"


def test_context_managers_on_both_sides() -> None:
    assert hasattr(_sandbox.AsyncSandbox, "__aenter__") and hasattr(_sandbox.AsyncSandbox, "__aexit__")
    assert hasattr(_sync.Sandbox, "__enter__") and hasattr(_sync.Sandbox, "__exit__")
