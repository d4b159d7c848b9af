"""The accessibility tree of the desktop's applications (AT-SPI): whole, searched, or at a
point, as deskbox's JSON or in OSWorld's XML."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from ...desktop import Desktop
from ...desktop.accessibility import RawNode, RawTree, TreeQuery, as_node, as_tree, errors_of, osworld_xml
from ...errors import InvalidActionError
from ...models import AccessibilityTree, AccessibleMatches, ElementAt
from ..deps import get_desktop

router = APIRouter(prefix="/accessibility", tags=["accessibility"])
DesktopDep = Annotated[Desktop, Depends(get_desktop)]

MAX_NODES = 50_000
Application = Annotated[
    str | None, Query(min_length=1, max_length=200, description="one application, by name (any case)")
]
VisibleOnly = Annotated[bool, Query(description="only elements that are showing, and what is below them")]
MaxDepth = Annotated[
    int | None, Query(ge=0, le=500, description="0: applications only; 1: and their windows; ...")
]
MaxNodes = Annotated[
    int, Query(ge=1, le=MAX_NODES, description="elements at most; the answer says when it was cut")
]


def tree_query(
    application: Application = None,
    visible_only: VisibleOnly = False,
    max_depth: MaxDepth = None,
    max_nodes: MaxNodes = 10_000,
) -> TreeQuery:
    return TreeQuery(
        application=application, visible_only=visible_only, max_depth=max_depth, max_nodes=max_nodes
    )


QueryDep = Annotated[TreeQuery, Depends(tree_query)]


@router.get("", response_model=AccessibilityTree, responses={200: {"content": {"application/xml": {}}}})
async def tree(
    desktop: DesktopDep,
    query: QueryDep,
    format: Annotated[Literal["json", "xml"], Query(description="json, or OSWorld's XML")] = "json",
) -> AccessibilityTree | Response:
    """Every application's tree: role, name, states, bounds on screen, text, value, actions."""
    raw = await desktop.accessibility.tree(query)
    if format == "xml":
        return Response(osworld_xml(raw), media_type="application/xml")
    return as_tree(raw)


@router.get("/find", response_model=AccessibleMatches)
async def find(
    desktop: DesktopDep,
    query: QueryDep,
    role: Annotated[
        str | None, Query(min_length=1, max_length=100, description='e.g. "push button", any case')
    ] = None,
    name: Annotated[str | None, Query(max_length=1000, description="the exact name")] = None,
    name_contains: Annotated[
        str | None, Query(min_length=1, max_length=1000, description="part of the name, any case")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> AccessibleMatches:
    """Elements by role and name, in tree order, each without its children."""
    if role is None and name is None and name_contains is None:
        raise InvalidActionError.at(("query", "role"), "give role, name or name_contains to search by")
    raw = await desktop.accessibility.tree(query)
    matches = [node for node in _elements(raw) if _matches(node, role, name, name_contains)]
    return AccessibleMatches(
        elements=[as_node(node, with_children=False) for node in matches[:limit]],
        truncated=raw.truncated or len(matches) > limit,
        errors=errors_of(raw),
    )


@router.get("/element_at", response_model=ElementAt)
async def element_at(
    desktop: DesktopDep,
    x: Annotated[int, Query(ge=0, le=100_000)],
    y: Annotated[int, Query(ge=0, le=100_000)],
) -> ElementAt:
    """The innermost element at a point on screen, and its parents up to its window."""
    width, height = await desktop.screen_size()
    if x >= width or y >= height:
        field = "x" if x >= width else "y"
        raise InvalidActionError.at(("query", field), f"({x}, {y}) is off the {width}x{height} screen")
    window = await desktop.window_at(x, y)
    chain = await desktop.accessibility.element_at(
        x, y, window.pid if window is not None else None, window.title if window is not None else None
    )
    return ElementAt(
        element=as_node(chain[0], with_children=False),
        ancestors=[as_node(node, with_children=False) for node in chain[1:]],
    )


def _elements(raw: RawTree) -> list[RawNode]:
    return [node for application in raw.applications for node in application.walk()]


def _matches(node: RawNode, role: str | None, name: str | None, name_contains: str | None) -> bool:
    if role is not None and node.role.casefold() != role.casefold():
        return False
    if name is not None and node.name != name:
        return False
    return name_contains is None or name_contains.casefold() in node.name.casefold()
