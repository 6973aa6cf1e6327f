"""Line numbers for dotted key paths of a YAML document, so errors can say FILE:LINE."""

from __future__ import annotations

from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


def line_index(text: str) -> dict[KeyPath, int]:
    """Map every key path of a YAML document to its 1-based line (of the key, or list item)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    index: dict[KeyPath, int] = {}
    if root is not None:
        _walk(root, (), index)
    return index


def _walk(node: Any, path: KeyPath, index: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = (*path, key_node.value)
            index[sub] = key_node.start_mark.line + 1
            _walk(value_node, sub, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*path, i)
            index[sub] = item.start_mark.line + 1
            _walk(item, sub, index)


def line_of(index: dict[KeyPath, int], path: KeyPath) -> int | None:
    """Line of the deepest prefix of ``path`` that exists in the document."""
    for n in range(len(path), 0, -1):
        line = index.get(tuple(path[:n]))
        if line is not None:
            return line
    return None


def duplicate_keys(text: str) -> list[tuple[KeyPath, int, int]]:
    """(key path, first line, repeated line) of every key given twice in one mapping.

    PyYAML keeps the last silently, so a second ``optimize:`` would drop the first unseen."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found: list[tuple[KeyPath, int, int]] = []

    def walk(node: Any, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    found.append(((*path, key_node.value), seen[key_node.value], line))
                seen.setdefault(key_node.value, line)
                walk(value_node, (*path, key_node.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return found
