"""The sync twin is generated from the async source of truth, and matches it."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deskbox.client import _commands, _files, _pty, _sandbox, _stream, _sync

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    (_sandbox.AsyncSandbox, _sync.Sandbox),
    (_commands.AsyncCommands, _sync.Commands),
    (_commands.AsyncCommandHandle, _sync.CommandHandle),
    (_files.AsyncFiles, _sync.Files),
    (_files.AsyncWatchHandle, _sync.WatchHandle),
    (_pty.AsyncPty, _sync.Pty),
    (_stream.AsyncStream, _sync.Stream),
]
TWIN_NAMES = {a.__name__: s.__name__ for a, s in PAIRS}


def test_the_checked_in_twin_is_what_the_generator_writes() -> None:
    check = subprocess.run(
        [sys.executable, "tools/gen_sync.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    found = {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and not inspect.isclass(member)
    }
    return found


def as_sync(annotation: object) -> str:
    text = str(annotation)
    text = re.sub(r"AsyncGenerator\[([^,\]]+)(, None)?\]|AsyncIterator\[([^\]]+)\]", r"Iterator[\1\3]", text)
    for async_name, sync_name in TWIN_NAMES.items():
        text = re.sub(rf"\b{async_name}\b", sync_name, text)
    return text


def parameters(signature: inspect.Signature, rename: bool) -> list[tuple[str, object, object, str]]:
    convert = as_sync if rename else str
    return [(p.name, p.kind, p.default, convert(p.annotation)) for p in signature.parameters.values()]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=[pair[1].__name__ for pair in PAIRS])
def test_every_async_method_has_a_sync_twin_with_the_same_parameters(async_cls: type, sync_cls: type) -> None:
    async_methods = public_methods(async_cls)
    sync_methods = public_methods(sync_cls)
    assert sorted(async_methods) == sorted(sync_methods)
    for name, signature in async_methods.items():
        twin = sync_methods[name]
        assert parameters(twin, False) == parameters(signature, True), f"{sync_cls.__name__}.{name} differs"
        assert str(twin.return_annotation) == as_sync(signature.return_annotation), name


def test_text_and_bytes_reads_stay_distinct() -> None:
    overloads = [
        str(inspect.signature(f).return_annotation)
        for f in __import__("typing").get_overloads(_sync.Files.read)
    ]
    assert overloads[:2] == ["str", "bytes"]


def test_context_managers_on_both_sides() -> None:
    assert hasattr(_sandbox.AsyncSandbox, "__aenter__") and hasattr(_sandbox.AsyncSandbox, "__aexit__")
    assert hasattr(_sync.Sandbox, "__enter__") and hasattr(_sync.Sandbox, "__exit__")
