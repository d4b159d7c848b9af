"""What ``import deskbox`` offers: every error class, and the SDK's names, lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import deskbox
from deskbox import errors


def test_every_error_class_is_exported_from_the_package() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert classes <= set(errors.__all__)
    assert classes <= set(deskbox.__all__)
    for name in deskbox.__all__:
        assert getattr(deskbox, name) is not None


def test_the_type_checking_names_are_the_lazy_ones() -> None:
    tree = ast.parse(Path(deskbox.__file__).read_text())
    guarded = next(
        node for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
    )
    imported = {alias.asname or alias.name for node in guarded.body for alias in node.names}  # type: ignore[attr-defined]
    assert imported == set(deskbox._LAZY)


def test_importing_the_package_loads_no_sdk() -> None:
    """The sandbox's supervisor imports deskbox too; it must not pay for httpx or pydantic."""
    code = "import sys, deskbox; print(sorted(m for m in ('httpx', 'pydantic') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
