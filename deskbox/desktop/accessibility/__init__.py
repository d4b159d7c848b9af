"""The desktop's accessibility tree, read from AT-SPI: as deskbox's JSON, in OSWorld's XML,
searched, and hit-tested at a point."""

from .bus import AccessibilityBus
from .forms import as_node, as_tree, errors_of
from .osworld_xml import osworld_xml
from .reader import AccessibilityReader, RawNode, RawTree, TreeQuery

__all__ = [
    "AccessibilityBus",
    "AccessibilityReader",
    "RawNode",
    "RawTree",
    "TreeQuery",
    "as_node",
    "as_tree",
    "errors_of",
    "osworld_xml",
]
