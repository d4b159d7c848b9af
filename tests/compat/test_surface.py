"""The whole surface of the installed e2b_desktop, walked member by member against
``deskbox.e2b_desktop``: every public name, and every member of its Sandbox, commands,
command handle, files and stream, is there with e2b's parameters and defaults, or is one
of the declared members that raise ``UnsupportedException`` naming themselves. Any other
difference fails, so a new e2b release shows here what it added."""

from __future__ import annotations

import inspect
from typing import Any

import e2b_desktop
import pytest
from e2b.sandbox_sync.commands.command import Commands as E2BCommands
from e2b.sandbox_sync.commands.command_handle import CommandHandle as E2BCommandHandle
from e2b.sandbox_sync.commands.pty import Pty as E2BPty
from e2b.sandbox_sync.filesystem.filesystem import Filesystem as E2BFilesystem
from e2b.sandbox_sync.filesystem.watch_handle import WatchHandle as E2BWatchHandle
from e2b_desktop.main import KEYS as E2B_KEYS
from e2b_desktop.main import _VNCServer as E2BStream

from deskbox import e2b_desktop as compat
from deskbox.e2b_desktop import _sandbox

pytestmark: list[pytest.MarkDecorator] = []

PAIRS = [
    (e2b_desktop.Sandbox, compat.Sandbox),
    (E2BCommands, compat.Commands),
    (E2BPty, compat.Pty),
    (E2BCommandHandle, compat.CommandHandle),
    (E2BFilesystem, compat.Filesystem),
    (E2BWatchHandle, compat.WatchHandle),
    (E2BStream, compat.Stream),
]
NOT_BUILT_MEMBERS: set[tuple[str, str]] = set()
"""What is missing today; the test fails if this list and the code disagree."""


def public(cls: type) -> list[str]:
    return sorted(name for name in dir(cls) if not name.startswith("_"))


def parameters(function: Any) -> list[tuple[str, str, Any]]:
    """(name, kind, default) of each parameter but self/cls and catch-all ``**opts``."""
    signature = inspect.signature(function)
    return [
        (p.name, p.kind.name, p.default)
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


@pytest.mark.parametrize(("theirs", "ours"), PAIRS, ids=[pair[1].__name__ for pair in PAIRS])
def test_every_member_is_there_with_e2bs_parameters_or_is_declared_unsupported(
    theirs: type, ours: type
) -> None:
    differences = []
    for name in public(theirs):
        if ours is compat.Sandbox and (name in _sandbox.CLOUD_ONLY or name in _sandbox.NOT_BUILT):
            bare = object.__new__(compat.Sandbox)
            with pytest.raises(compat.UnsupportedException, match=name) as refused:
                getattr(bare, name)
            assert isinstance(refused.value, compat.SandboxException)
            continue
        if not hasattr(ours, name):
            differences.append(f"{name}: missing")
            continue
        their_member = inspect.getattr_static(theirs, name)
        if isinstance(their_member, property):
            if not isinstance(inspect.getattr_static(ours, name), property):
                differences.append(f"{name}: a property in e2b")
            continue
        if not callable(getattr(theirs, name)):
            if getattr(theirs, name) != getattr(ours, name):
                differences.append(f"{name}: {getattr(ours, name)!r}, e2b {getattr(theirs, name)!r}")
            continue
        our_member = inspect.getattr_static(ours, name)
        # A method callable on the class with an id or on a sandbox: its sandbox form is
        # the one e2b's signature shows.
        our_function = (
            our_member._on_instance if isinstance(our_member, _sandbox._either) else getattr(ours, name)
        )
        if parameters(getattr(theirs, name)) != parameters(our_function):
            differences.append(
                f"{name}: {parameters(our_function)} != e2b {parameters(getattr(theirs, name))}"
            )
    extra = set(public(ours)) - set(public(theirs)) - {"__iter__"}
    assert differences == [], differences
    assert extra == set(), f"members e2b does not have: {sorted(extra)}"


def test_the_not_built_list_is_the_code() -> None:
    assert {("Sandbox", name) for name in _sandbox.NOT_BUILT} == NOT_BUILT_MEMBERS


def test_every_public_name_imports_or_raises_naming_itself() -> None:
    for name in public(e2b_desktop):  # type: ignore[arg-type]
        if name in compat.CLOUD_ONLY_NAMES or name in compat.NOT_BUILT_NAMES:
            with pytest.raises(compat.UnsupportedException, match=name):
                getattr(compat, name)
        else:
            assert name in compat.__all__, f"{name} cannot be imported from deskbox.e2b_desktop"
            getattr(compat, name)
    with pytest.raises(AttributeError):
        compat.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_the_key_table_is_e2bs() -> None:
    assert compat.KEYS == E2B_KEYS
    for name in ("Enter", "CTRL", "a", "F5"):
        assert compat.map_key(name) == e2b_desktop.main.map_key(name)


def test_e2bs_results_and_errors_have_their_fields() -> None:
    from e2b import CommandExitException, EntryInfo, WriteInfo
    from e2b.sandbox.commands.command_handle import CommandResult

    for theirs, ours in (
        (CommandResult, compat.CommandResult),
        (EntryInfo, compat.EntryInfo),
        (WriteInfo, compat.WriteInfo),
    ):
        assert set(theirs.__dataclass_fields__) <= set(ours.__dataclass_fields__), theirs
    assert {"stdout", "stderr", "exit_code", "error", "cmd", "envs", "cwd"} <= set(
        compat.CommandExitException.__dataclass_fields__
    )
    assert set(CommandExitException.__dataclass_fields__) <= set(
        compat.CommandExitException.__dataclass_fields__
    )
    assert [t.value for t in compat.FileType] == ["file", "dir", "symlink"]
