"""The tree in the XML form OSWorld's guest server gives (``{"AT": xml}``), which its agents
linearize and its evaluators query with XPath and CSS selectors.

An element is named after its role ("push-button"), with its name in ``name``, each state
that is set as ``st:<state>="true"``, the toolkit's attributes under ``attr:``, its place
on screen as ``cp:screencoord="(x, y)"`` and ``cp:size="(w, h)"`` (when it is showing),
its value under ``val:``, its actions under ``act:``, and its text as the element's text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from .reader import RawNode, RawTree

NAMESPACES = {
    "st": "https://accessibility.ubuntu.example.org/ns/state",
    "attr": "https://accessibility.ubuntu.example.org/ns/attributes",
    "cp": "https://accessibility.ubuntu.example.org/ns/component",
    "doc": "https://accessibility.ubuntu.example.org/ns/document",
    "docattr": "https://accessibility.ubuntu.example.org/ns/document/attributes",
    "txt": "https://accessibility.ubuntu.example.org/ns/text",
    "val": "https://accessibility.ubuntu.example.org/ns/value",
    "act": "https://accessibility.ubuntu.example.org/ns/action",
}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)

VALUE_FIELDS = {
    "CurrentValue": "value",
    "MinimumValue": "min",
    "MaximumValue": "max",
    "MinimumIncrement": "step",
}
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_NOT_IN_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def osworld_xml(tree: RawTree, application_names: Mapping[str, str] | None = None) -> str:
    """The tree as XML; ``application_names`` renames applications (e.g. to the names
    OSWorld's checks select them by)."""
    root = ET.Element("desktop-frame")
    for application in tree.applications:
        element = _element(application)
        if application_names and application.name in application_names:
            element.set("name", application_names[application.name])
        root.append(element)
    return ET.tostring(root, encoding="unicode")


def _element(node: RawNode) -> ET.Element:
    attributes = {"name": _clean(node.name)}
    for state in node.states:
        attributes[_qualified("st", state)] = "true"
    for key, value in node.attributes.items():
        if key:
            attributes[_qualified("attr", key)] = _clean(value)
    if node.showing and node.extents is not None:
        x, y, width, height = node.extents
        attributes[_qualified("cp", "screencoord")] = str((x, y))
        attributes[_qualified("cp", "size")] = str((width, height))
    if "Image" in node.interfaces:
        attributes["image"] = "true"
    if "Selection" in node.interfaces:
        attributes["selection"] = "true"
    for key, number in node.value.items():
        if key in VALUE_FIELDS:
            attributes[_qualified("val", VALUE_FIELDS[key])] = str(number)
    for name, description, key_binding in node.actions:
        action = name.replace(" ", "-")
        attributes[_qualified("act", f"{action}_desc")] = _clean(description)
        attributes[_qualified("act", f"{action}_kb")] = _clean(key_binding)
    element = ET.Element(_name(node.role.replace(" ", "-")), attributes)
    if node.text:
        element.text = _clean(node.text)
    element.extend(_element(child) for child in node.children)
    return element


def _qualified(prefix: str, local: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{_name(local)}"


def _name(raw: str) -> str:
    """A valid XML name for a role or a key, which toolkits do not promise."""
    name = _NOT_IN_NAME.sub("-", raw) or "unknown"
    return name if name[0].isalpha() or name[0] == "_" else f"_{name}"


def _clean(text: str) -> str:
    return _NOT_IN_XML.sub("", text)
