"""``sandbox.accessibility``: the desktop's accessibility tree (AT-SPI)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ..models import AccessibilityTree, AccessibleMatches, ElementAt
from ._connection import Connection
from ._validation import checked

MaxNodes = Annotated[int, Field(ge=1, le=50_000)]


class AsyncAccessibility:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @checked
    async def tree(
        self,
        application: str | None = None,
        *,
        visible_only: bool = False,
        max_depth: Annotated[int, Field(ge=0)] | None = None,
        max_nodes: MaxNodes = 10_000,
    ) -> AccessibilityTree:
        """Every application's tree (or one's, by name): roles, names, states, bounds on
        screen, text, values and actions."""
        params = _tree_params(application, visible_only, max_depth, max_nodes)
        return AccessibilityTree.model_validate(
            await self._connection.json("GET", "/accessibility", params=params)
        )

    @checked
    async def xml(
        self,
        application: str | None = None,
        *,
        visible_only: bool = False,
        max_depth: Annotated[int, Field(ge=0)] | None = None,
        max_nodes: MaxNodes = 10_000,
    ) -> str:
        """The tree in OSWorld's XML, as its agents and evaluators read it."""
        params = {**_tree_params(application, visible_only, max_depth, max_nodes), "format": "xml"}
        response = await self._connection.request("GET", "/accessibility", params=params)
        return response.text

    @checked
    async def find(
        self,
        role: str | None = None,
        name: str | None = None,
        *,
        name_contains: str | None = None,
        application: str | None = None,
        visible_only: bool = True,
        limit: Annotated[int, Field(ge=1, le=10_000)] = 100,
    ) -> AccessibleMatches:
        """Elements by role ("push button", any case) and name (exact, or a part of it
        in any case), in tree order. Only those showing, unless ``visible_only=False``."""
        params = {
            **_tree_params(application, visible_only, None, 50_000),
            "role": role,
            "name": name,
            "name_contains": name_contains,
            "limit": limit,
        }
        return AccessibleMatches.model_validate(
            await self._connection.json("GET", "/accessibility/find", params=_present(params))
        )

    @checked
    async def element_at(self, x: Annotated[int, Field(ge=0)], y: Annotated[int, Field(ge=0)]) -> ElementAt:
        """The innermost element at a point on screen, with its parents up to its window."""
        return ElementAt.model_validate(
            await self._connection.json("GET", "/accessibility/element_at", params={"x": x, "y": y})
        )


def _tree_params(
    application: str | None, visible_only: bool, max_depth: int | None, max_nodes: int
) -> dict[str, Any]:
    return _present(
        {
            "application": application,
            "visible_only": str(visible_only).lower(),
            "max_depth": max_depth,
            "max_nodes": max_nodes,
        }
    )


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}
