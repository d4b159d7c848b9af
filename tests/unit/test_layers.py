"""The package's layers, read from its imports: lower layers never import upper ones, and
no module imports itself back through others.

Every import counts, at module level or inside a function (a lazy import that closes a
cycle still is one); only imports under ``if TYPE_CHECKING:`` are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from deskbox.backends import BACKENDS

PACKAGE = Path(__file__).resolve().parents[2] / "deskbox"

FORBIDDEN = {
    # lower layer: what it must never import
    "deskbox.errors": ("deskbox",),
    "deskbox.timing": ("deskbox",),
    # A trace's shape, file and viewer: read by the SDK and the CLI, written by the server.
    "deskbox.trace": (
        "deskbox.client",
        "deskbox.backends",
        "deskbox.server",
        "deskbox.desktop",
        "deskbox.adapters",
        "deskbox.integrations",
        "deskbox.sandbox",
        "Xlib",
    ),
    "deskbox.keys": ("deskbox.actions", "deskbox.client", "deskbox.backends", "deskbox.server"),
    "deskbox.actions": ("deskbox.client", "deskbox.backends", "deskbox.desktop", "deskbox.server"),
    "deskbox.models": ("deskbox.client", "deskbox.backends", "deskbox.desktop", "deskbox.server"),
    "deskbox.imaging": ("deskbox.client", "deskbox.backends", "deskbox.desktop", "deskbox.server"),
    "deskbox.dispatch": ("deskbox.client", "deskbox.backends", "deskbox.desktop", "deskbox.server", "Xlib"),
    "deskbox.desktop": (
        "deskbox.e2b_desktop",
        "deskbox.client",
        "deskbox.backends",
        "deskbox.server",
        "deskbox.adapters",
    ),
    "deskbox.transports": ("deskbox.client", "deskbox.backends", "deskbox.server", "deskbox.desktop", "Xlib"),
    "deskbox.backends": (
        "deskbox.e2b_desktop",
        "deskbox.client",
        "deskbox.adapters",
        "deskbox.server",
        "deskbox.desktop",
    ),
    "deskbox.client": (
        "deskbox.e2b_desktop",
        "deskbox.adapters",
        "deskbox.server",
        "deskbox.desktop",
        "Xlib",
        "dbus_fast",
    ),
    "deskbox.server": (
        "deskbox.e2b_desktop",
        "deskbox.client",
        "deskbox.adapters",
        "deskbox.backends",
        "deskbox.integrations",
    ),
    "deskbox.integrations": ("deskbox.server", "deskbox.desktop", "deskbox.sandbox", "Xlib"),
    "deskbox.sandbox": ("deskbox.client", "deskbox.adapters", "deskbox.backends", "deskbox.desktop"),
    # The E2B compatibility layer is a skin over the SDK: nothing below it knows of it.
    "deskbox.e2b_desktop": (
        "deskbox.server",
        "deskbox.desktop",
        "deskbox.adapters",
        "deskbox.sandbox",
        "Xlib",
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute names."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            # `from . import errors` imports the submodule itself.
            found.update(f"{target}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {
    name: {target for target in imports_of(path) if target in MODULES and target != name}
    for name, path in MODULES.items()
}


# The backend table imports its modules by name: those are edges too.
GRAPH["deskbox.backends"] |= {target.partition(":")[0] for target in BACKENDS.values()}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_an_upper_one(layer: str) -> None:
    offences = []
    for name, path in MODULES.items():
        if not within(name, layer):
            continue
        for target in imports_of(path):
            for banned in FORBIDDEN[layer]:
                if within(target, banned) and not within(target, layer):
                    offences.append(f"{name} imports {target}")
    assert not offences, "\n".join(sorted(set(offences)))


def test_no_import_cycles() -> None:
    # A module's package __init__ runs before it, so "a.b imports a" is the normal way of
    # being in a package, not a cycle: parents are left out of each module's edges.
    edges = {name: {t for t in targets if not within(name, t)} for name, targets in GRAPH.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            walk(name)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_sdk_reaches_backend_capabilities_through_their_protocols() -> None:
    for path in (PACKAGE / "client").glob("*.py"):
        source = path.read_text()
        assert "getattr(self._backend" not in source and "getattr(chosen" not in source, path.name


def test_the_graph_is_read() -> None:
    """The check above sees real edges (a parser that found none would pass anything)."""
    assert (
        "deskbox.dispatch" in GRAPH["deskbox.desktop.driver"]
        or "deskbox.imaging" in GRAPH["deskbox.desktop.driver"]
    )
    assert "deskbox.transports.e2b_stock" in GRAPH["deskbox.backends.e2b"]
