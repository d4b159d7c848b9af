"""Reading applications' accessibility trees from AT-SPI.

A walk asks each element for everything at once (its properties, role, states,
interfaces and children) and then, by what it implements, for its extents, text, value,
actions and attributes, while its children are already being asked for theirs. Each
application has its own deadline: one that hangs is reported, and the others still come
back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from ...errors import NotFoundError
from .bus import NULL_PATH, AccessibilityBus, CallFailed, Ref
from .states import state_names

ACCESSIBLE = "org.a11y.atspi.Accessible"
PROPERTIES = "org.freedesktop.DBus.Properties"
REGISTRY_ROOT: Ref = ("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root")
SCREEN_COORDS = 0
APPLICATION_TIMEOUT = 10.0
MAX_NODE_TEXT = 10_000
MAX_HOPS = 64
# Chromium and GTK put these where an embedded child or an unknown glyph sits in the text.
PLACEHOLDERS = str.maketrans("", "", "\ufffc\ufffd")


def _iface(name: str) -> str:
    return f"org.a11y.atspi.{name}"


@dataclass(frozen=True)
class TreeQuery:
    application: str | None = None
    """Only the application of this name (any case)."""
    visible_only: bool = False
    """Leave out elements that are not showing, with everything below them."""
    max_depth: int | None = None
    """0 is the applications alone, 1 adds their windows, and so on."""
    max_nodes: int = 10_000


@dataclass
class RawNode:
    """An element as AT-SPI gave it; the JSON and XML forms are both made from it."""

    ref: Ref
    role: str
    name: str = ""
    description: str = ""
    states: list[str] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    extents: tuple[int, int, int, int] | None = None
    text: str | None = None
    value: dict[str, float] = field(default_factory=dict)
    """CurrentValue, MinimumValue, MaximumValue, MinimumIncrement: those it gave."""
    actions: list[tuple[str, str, str]] = field(default_factory=list)
    """(name, description, key binding)."""
    attributes: dict[str, str] = field(default_factory=dict)
    child_count: int = 0
    children: list[RawNode] = field(default_factory=list)
    application: str = ""
    pid: int | None = None

    @property
    def showing(self) -> bool:
        return "showing" in self.states and "visible" in self.states

    def walk(self) -> list[RawNode]:
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


@dataclass
class RawTree:
    applications: list[RawNode]
    truncated: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(application, why) for each application that could not be read."""

    @property
    def node_count(self) -> int:
        return sum(len(app.walk()) for app in self.applications)


class _Budget:
    """How many more elements a walk may take, and those it has (a toolkit can list one
    element under two parents, or loop)."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.exhausted = False
        self.seen: set[Ref] = set()

    def take(self) -> bool:
        if self.left <= 0:
            self.exhausted = True
            return False
        self.left -= 1
        return True


class AccessibilityReader:
    def __init__(self, bus: AccessibilityBus, application_timeout: float = APPLICATION_TIMEOUT) -> None:
        self.bus = bus
        self._timeout = application_timeout

    async def tree(self, query: TreeQuery) -> RawTree:
        applications = await self._applications(query.application)
        budget = _Budget(query.max_nodes)
        tree = RawTree(applications=[])
        readings = await asyncio.gather(
            *(self._bounded(self._read(ref, name, 0, query, budget)) for ref, name in applications)
        )
        for (ref, name), reading in zip(applications, readings, strict=True):
            if isinstance(reading, str):
                tree.errors.append((name or ref[0], reading))
            elif reading is not None:
                reading.pid = await self.bus.pid_of(ref[0])
                tree.applications.append(reading)
        tree.truncated = budget.exhausted
        return tree

    async def element_at(self, x: int, y: int, pid: int | None, title: str | None) -> list[RawNode]:
        """The innermost element at (x, y), then its parents up to its window.

        The application is the one whose window is on top there (by ``pid``), its window
        the one showing there (by ``title`` when it has several); from the window down,
        the application's own hit test decides.
        """
        applications = await self._applications(None)
        if pid is not None:
            pids = await asyncio.gather(*(self.bus.pid_of(ref[0]) for ref, _ in applications))
            mine = [app for app, app_pid in zip(applications, pids, strict=True) if app_pid == pid]
            applications = mine or applications
        for ref, name in applications:
            window = await self._bounded(self._window_at(ref, x, y, title))
            if isinstance(window, RawNode):
                return await self._bounded_hit(name, window, x, y)
        raise NotFoundError(f"no application shows an accessible element at ({x}, {y})")

    # ---- walking ------------------------------------------------------------------------

    async def _applications(self, wanted: str | None) -> list[tuple[Ref, str]]:
        children = await self._optional(REGISTRY_ROOT, ACCESSIBLE, "GetChildren")
        refs = [(str(name), str(path)) for name, path in (children[0] if children else [])]
        names = await asyncio.gather(*(self._name(ref) for ref in refs))
        found = list(zip(refs, names, strict=True))
        if wanted is None:
            return found
        chosen = [(ref, name) for ref, name in found if name.casefold() == wanted.casefold()]
        if not chosen:
            running = ", ".join(sorted({name for _, name in found if name})) or "none"
            raise NotFoundError(f"no application named {wanted!r} is running (running: {running})")
        return chosen

    async def _bounded(self, reading: Awaitable[Any]) -> Any:
        """The reading, or why it failed: an application that hangs must not hold the rest."""
        try:
            return await asyncio.wait_for(reading, self._timeout)
        except TimeoutError:
            return f"did not answer within {self._timeout:g} s"
        except CallFailed as exc:
            return f"answered {exc.error_name}"

    async def _bounded_hit(self, application: str, window: RawNode, x: int, y: int) -> list[RawNode]:
        found = await self._bounded(self._hit(window, x, y))
        if isinstance(found, str):
            raise NotFoundError(f"{application or window.ref[0]} {found} when asked what is at ({x}, {y})")
        return found  # type: ignore[no-any-return]

    async def _read(
        self, ref: Ref, application: str, depth: int, query: TreeQuery, budget: _Budget
    ) -> RawNode | None:
        if ref in budget.seen:
            return None
        budget.seen.add(ref)
        want_children = query.max_depth is None or depth < query.max_depth
        node, children = await self._describe(ref, application, want_children)
        if node is None or "defunct" in node.states:
            return None
        if query.visible_only and depth > 0 and not node.showing:
            return None
        if not budget.take():
            return None
        readings = await asyncio.gather(
            *(self._read(child, application, depth + 1, query, budget) for child in children)
        )
        node.children = [child for child in readings if child is not None]
        return node

    async def _describe(
        self, ref: Ref, application: str, want_children: bool
    ) -> tuple[RawNode | None, list[Ref]]:
        # Property by property: atk-bridge answers GetAll wrongly for some elements, and
        # libdbus then aborts the whole application (Chromium died of it).
        first = await asyncio.gather(
            self._property(ref, ACCESSIBLE, "Name"),
            self._property(ref, ACCESSIBLE, "Description"),
            self._optional(ref, ACCESSIBLE, "GetRoleName"),
            self._optional(ref, ACCESSIBLE, "GetState"),
            self._optional(ref, ACCESSIBLE, "GetInterfaces"),
            self._optional(ref, ACCESSIBLE, "GetChildren")
            if want_children
            else self._property(ref, ACCESSIBLE, "ChildCount"),
        )
        name, description, role, state, interfaces, children_or_count = first
        if role is None:
            return None, []  # gone since its parent listed it
        children = children_or_count if want_children else None
        short = sorted(name.rsplit(".", 1)[-1] for name in (interfaces[0] if interfaces else []))
        node = RawNode(
            ref=ref,
            role=str(role[0]) or "unknown",
            name=str(name or ""),
            description=str(description or ""),
            states=state_names(state[0]) if state else [],
            interfaces=short,
            child_count=len(children[0]) if children else int(children_or_count or 0),
            application=application,
        )
        await self._details(node)
        refs = [(str(name), str(path)) for name, path in (children[0] if children else [])]
        return node, [child for child in refs if child[1] != NULL_PATH]

    async def _details(self, node: RawNode) -> None:
        ref, has = node.ref, set(node.interfaces)
        extents, text, value, actions, attributes = await asyncio.gather(
            self._optional(ref, _iface("Component"), "GetExtents", "u", [SCREEN_COORDS])
            if "Component" in has
            else _nothing(),
            self._optional(ref, _iface("Text"), "GetText", "ii", [0, -1]) if "Text" in has else _nothing(),
            self._value(ref) if "Value" in has else _nothing(),
            self._optional(ref, _iface("Action"), "GetActions") if "Action" in has else _nothing(),
            self._optional(ref, ACCESSIBLE, "GetAttributes"),
        )
        if extents:
            x, y, width, height = (int(v) for v in extents[0])
            node.extents = (x, y, width, height)
        if text:
            cleaned = str(text[0]).translate(PLACEHOLDERS)[:MAX_NODE_TEXT]
            node.text = cleaned or None
        if value:
            node.value = value
        if actions:
            # GetActions gives the localized names, which toolkits often leave empty.
            names = await asyncio.gather(
                *(self._optional(ref, _iface("Action"), "GetName", "i", [i]) for i in range(len(actions[0])))
            )
            node.actions = [
                (str(name[0]) if name else str(localized), str(description), str(key_binding))
                for name, (localized, description, key_binding) in zip(names, actions[0], strict=True)
            ]
        if attributes:
            node.attributes = {str(k): str(v) for k, v in attributes[0].items()}

    async def _name(self, ref: Ref) -> str:
        return str(await self._property(ref, ACCESSIBLE, "Name") or "")

    async def _property(self, ref: Ref, interface: str, name: str) -> Any:
        reply = await self._optional(ref, PROPERTIES, "Get", "ss", [interface, name])
        return reply[0].value if reply else None

    async def _value(self, ref: Ref) -> dict[str, float]:
        names = ("CurrentValue", "MinimumValue", "MaximumValue", "MinimumIncrement")
        values = await asyncio.gather(*(self._property(ref, _iface("Value"), name) for name in names))
        return {name: float(value) for name, value in zip(names, values, strict=True) if value is not None}

    async def _optional(
        self, ref: Ref, interface: str, member: str, signature: str = "", body: Any = ()
    ) -> list[Any] | None:
        """The answer, or None when the element does not have it (or is gone)."""
        try:
            return await self.bus.call(ref, interface, member, signature, body)
        except CallFailed:
            return None

    # ---- hit testing --------------------------------------------------------------------

    async def _window_at(self, application: Ref, x: int, y: int, title: str | None) -> RawNode | None:
        children = await self._optional(application, ACCESSIBLE, "GetChildren")
        refs = [(str(n), str(p)) for n, p in (children[0] if children else [])]
        name = await self._name(application)
        described = await asyncio.gather(*(self._describe(ref, name, False) for ref in refs))
        windows = [
            node
            for node, _ in described
            if node is not None and node.showing and node.extents is not None and _inside(node.extents, x, y)
        ]
        titled = [window for window in windows if title is not None and window.name == title]
        candidates = titled or windows
        return candidates[0] if candidates else None

    async def _hit(self, window: RawNode, x: int, y: int) -> list[RawNode]:
        chain = [window]
        ref = window.ref
        for _ in range(MAX_HOPS):
            found = await self._optional(
                ref, _iface("Component"), "GetAccessibleAtPoint", "iiu", [x, y, SCREEN_COORDS]
            )
            target = (str(found[0][0]), str(found[0][1])) if found else None
            if target is None or target[1] == NULL_PATH or target == ref:
                break
            node, _ = await self._describe(target, window.application, False)
            if node is None:
                break
            chain.append(node)
            ref = target
        innermost = chain[-1]
        return [innermost, *await self._ancestors(innermost, window)]

    async def _ancestors(self, node: RawNode, window: RawNode) -> list[RawNode]:
        """The parents of ``node``, nearest first, up to and with ``window``."""
        found: list[RawNode] = []
        ref = node.ref
        while ref != window.ref and len(found) < MAX_HOPS:
            reply = await self._property(ref, ACCESSIBLE, "Parent")
            if not reply:
                break
            parent = (str(reply[0]), str(reply[1]))
            if parent[1] == NULL_PATH or parent == ref:
                break
            described, _ = await self._describe(parent, window.application, False)
            if described is None:
                break
            found.append(described)
            ref = parent
        return found


async def _nothing() -> None:
    return None


def _inside(extents: tuple[int, int, int, int], x: int, y: int) -> bool:
    left, top, width, height = extents
    return left <= x < left + width and top <= y < top + height
