"""The JSON form of what the reader found: deskbox's models."""

from __future__ import annotations

from ...models import AccessibilityTree, AccessibleNode, ApplicationError, Bounds
from .reader import RawNode, RawTree


def as_node(raw: RawNode, with_children: bool = True) -> AccessibleNode:
    bounds = None
    if raw.extents is not None and raw.extents[2] > 0 and raw.extents[3] > 0:
        x, y, width, height = raw.extents
        bounds = Bounds(x=x, y=y, width=width, height=height)
    return AccessibleNode(
        id=f"{raw.ref[0]}{raw.ref[1]}",
        role=raw.role,
        name=raw.name,
        description=raw.description,
        states=raw.states,
        bounds=bounds,
        text=raw.text,
        value=raw.value.get("CurrentValue"),
        actions=[name for name, _, _ in raw.actions],
        attributes=raw.attributes,
        interfaces=raw.interfaces,
        application=raw.application,
        pid=raw.pid,
        children=[as_node(child) for child in raw.children] if with_children else [],
        child_count=raw.child_count,
    )


def as_tree(raw: RawTree) -> AccessibilityTree:
    return AccessibilityTree(
        applications=[as_node(app) for app in raw.applications],
        node_count=raw.node_count,
        truncated=raw.truncated,
        errors=errors_of(raw),
    )


def errors_of(raw: RawTree) -> list[ApplicationError]:
    return [ApplicationError(application=name, message=why) for name, why in raw.errors]
