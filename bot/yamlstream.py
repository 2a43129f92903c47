"""Python data built straight from libyaml's events: the fast path of ``bot/yamlsource.py``.

Composing a node tree first (what ``yaml.load`` does) costs about 380 MB and most of the time
for a 100,000-member alliance file. Here each event becomes its value at once, and the same
bounds are measured on the way: alias expansion (an alias weighs what its anchor weighs), an
alias inside the block it names, integers too long to read, keys given twice. Whatever is
unusual (any of those, a merge key, an explicit tag, more than one document, an error) raises
``Unusual``: the caller then takes the node path, which decides and names the line.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
MERGE = "tag:yaml.org,2002:merge"
VALUE = "tag:yaml.org,2002:value"


class Unusual(Exception):
    """The fast path does not decide this file; the node path will."""


class _Open:
    """A mapping or sequence being built: its value, weight so far and the key awaiting a
    value (mappings)."""

    __slots__ = ("anchor", "key", "keys", "value", "weight")

    def __init__(self, value: dict[Any, Any] | list[Any], anchor: str | None) -> None:
        self.value = value
        self.anchor = anchor
        self.weight = 1
        self.key: Any = _NO_KEY
        self.keys: set[str] | None = set() if isinstance(value, dict) else None


_NO_KEY = object()


def _resolvers(loader: Any) -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """The loader's implicit resolvers by first character, each list with the wildcards."""
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = loader.yaml_implicit_resolvers
    wildcard = table.get(None, [])
    return {first: [*found, *wildcard] for first, found in table.items()} | {None: wildcard}


def build(loader: Any, *, max_int_digits: int, floor: int, ratio: int, length: int) -> Any:
    """The single document's data, or ``Unusual``. ``loader`` is a fresh (C)SafeLoader."""
    resolvers = _resolvers(loader)
    wildcard = resolvers[None]
    constructors = loader.yaml_constructors
    anchors: dict[str, tuple[Any, int | None]] = {}  # anchor -> (value, weight; None: open)
    stack: list[_Open] = []
    distinct = 0
    root: Any = None
    root_weight = 0
    get = loader.get_event
    try:
        get()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        get()  # document start
        while True:
            event = get()
            kind = type(event)
            if kind is ScalarEvent:
                distinct += 1
                value = event.value
                if event.tag is not None:  # an explicit tag: the node path builds it
                    raise Unusual
                if event.implicit[0]:
                    tag = STR
                    for found, pattern in resolvers.get(value[:1], wildcard):
                        if pattern.match(value):
                            tag = found
                            break
                else:
                    tag = STR
                if tag == STR:
                    item: Any = value
                elif tag in (MERGE, VALUE) or (
                    tag == INT and sum(c.isdigit() for c in value) > max_int_digits
                ):
                    raise Unusual
                else:
                    node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
                    item = constructors[tag](loader, node)
                weight = 1 + len(value)
                if event.anchor is not None:
                    _anchor(anchors, event.anchor, item, weight)
            elif kind is AliasEvent:
                if event.anchor not in anchors:
                    raise Unusual
                item, known = anchors[event.anchor]
                if known is None:  # inside the block it names
                    raise Unusual
                weight = known
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.tag is not None:
                    raise Unusual
                distinct += 1
                block = _Open({} if kind is MappingStartEvent else [], event.anchor)
                if event.anchor is not None:
                    _anchor(anchors, event.anchor, block.value, None)
                stack.append(block)
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                block = stack.pop()
                item, weight = block.value, block.weight
                if block.anchor is not None:
                    anchors[block.anchor] = (item, weight)
            else:  # the document's end
                break
            if not stack:
                root, root_weight = item, weight
                continue
            parent = stack[-1]
            parent.weight += weight
            if parent.keys is None:
                parent.value.append(item)  # type: ignore[union-attr]
            elif parent.key is _NO_KEY:
                text = str(item)
                if text in parent.keys or isinstance(item, dict | list):
                    raise Unusual  # a key given twice, or a block as a key
                parent.keys.add(text)
                parent.key = sys.intern(item) if type(item) is str else item  # 100,000 "id"s: one
            else:
                parent.value[parent.key] = item
                parent.key = _NO_KEY
        if not loader.check_event(yaml.StreamEndEvent):
            raise Unusual  # more than one document
    except Unusual:
        raise
    except Exception as exc:  # a syntax error, a value that cannot be built: named by the node path
        raise Unusual from exc
    if isinstance(root, dict | list) and root_weight > max(floor, ratio * (distinct + length)):
        raise Unusual
    return root


def _anchor(anchors: dict[str, tuple[Any, int | None]], name: str, value: Any, w: Any) -> None:
    if name in anchors:
        raise Unusual  # a duplicate anchor: the composer refuses it
    anchors[name] = (value, w)
