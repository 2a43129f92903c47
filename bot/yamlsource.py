"""YAML with line numbers, and problems that point at a file, a line and a field.

Mistakes are reported all at once, each as ``file:line: field: what is wrong and how to fix it``.

Untrusted files are bounded before anything is built from them: a size limit, UTF-8 text
without control characters, libyaml's nesting limit, and alias expansion measured on the
composed node graph (each node once, so a "billion laughs" file is refused in milliseconds).

The usual file takes a fast path (``bot/yamlstream.py``): its data is built from libyaml's events
with the same bounds measured on the way, and no node tree is kept; the tree is composed only
when a problem needs its line. Anything unusual takes the node path below, which decides.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from pydantic import ValidationError

from bot.yamlstream import Unusual, build

Path = tuple[str | int, ...]

MAX_FILE_BYTES = 10_000_000
"""The default size limit of an alliance file: 10 MB holds about 100,000 members, and takes
some 20 s of CPU and 600 MB to check. ALLIANCE_BOT_ALLIANCE_MAX_MB changes it."""
EXPANSION_FLOOR = 1_000_000
EXPANSION_RATIO = 10
"""Aliases may make a document at most 10 times larger than its file (or 1,000,000 units,
whichever is more); a unit is a node or a character of a scalar."""
MAX_INT_DIGITS = 100
_INT_TAG = "tag:yaml.org,2002:int"
# Characters YAML 1.1 does not allow in a stream (it allows tab, line breaks, and printables).
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """The C loader when libyaml is there (else the Python one); every value that cannot
    be built (a date like 2026-02-30) becomes an error that carries its line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise _Unreadable(None, None, str(exc), node.start_mark) from None


class _Unreadable(yaml.constructor.ConstructorError):
    """A value YAML can parse but Python cannot build, such as the date 2026-02-30."""


@dataclass(frozen=True, order=True)
class Problem:
    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass
class YamlDocument:
    """Parsed YAML plus its node tree, to find the line of any value by its path. A document
    read on the fast path keeps its ``text`` instead, and composes the tree when first asked."""

    source: str
    data: Any
    root: yaml.Node | None
    problems: list[Problem]
    text: str | None = field(default=None, repr=False)

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest ancestor that exists in the file."""
        if self.root is None and self.text is not None:
            self.root = _compose(self.text)
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        return Problem(self.source, self.line_of(path), field_name(path), message)

    def pydantic_problems(self, err: ValidationError, base: Sequence[str | int]) -> list[Problem]:
        return [
            self.problem((*base, *entry["loc"]), explain_pydantic(entry))
            for entry in err.errors(include_url=False)
        ]


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        found = None
        for key_node, value_node in node.value:
            if str(key_node.value) == str(part):
                found = value_node  # the last one wins, as when the mapping is built
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    return None


def field_name(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value: str, limit: int = 80) -> str:
    """A value quoted back to a person: control characters escaped, long ones cut."""
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value[: limit + 1])
    return text[:limit] + "…" if len(text) > limit else text


def explain_pydantic(entry: Any) -> str:
    kind = entry["type"]
    msg = str(entry["msg"])
    if kind == "missing":
        return "this field is required; add it."
    if kind == "extra_forbidden":
        return "unknown field; check its spelling or remove it."
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    text = msg[0].lower() + msg[1:] if msg else "this value is not valid"
    value = entry.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text += f" (it says “{shown(str(value))}”)"
    return text + "."


def read_yaml_file(
    path: FsPath, source: str | None = None, *, max_bytes: int = MAX_FILE_BYTES
) -> YamlDocument:
    """Read and parse ``path``; a file too big, unreadable or not UTF-8 becomes one problem."""
    source = source or str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _refused(
                source,
                0,
                f"the file is {size:,} bytes and the limit is {max_bytes:,}; split it, or "
                "raise ALLIANCE_BOT_ALLIANCE_MAX_MB if it really is that big.",
            )
        chunks: list[bytes] = []
        total = 0
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
                if total > max_bytes:  # it grew while being read
                    return _refused(source, 0, f"the file is over {max_bytes:,} bytes; split it.")
                chunks.append(chunk)
    except OSError as exc:
        return _refused(source, 0, f"I cannot read this file ({exc.strerror or exc}); check it.")
    return load_yaml(b"".join(chunks), source)


def load_yaml(text: str | bytes, source: str) -> YamlDocument:
    """Parse ``text``; a syntax error becomes a problem with its line instead of an exception."""
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return _refused(
                source,
                raw.count(b"\n", 0, exc.start) + 1,
                f"this line is not UTF-8 text (byte 0x{raw[exc.start]:02X}); save the file "
                "as UTF-8, or check it is the YAML file you meant.",
            )
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        return _refused(
            source,
            text.count("\n", 0, bad.start()) + 1,
            f"this line holds a control character (U+{ord(bad.group()):04X}) that YAML does "
            "not allow; delete it, or check it is the YAML file you meant.",
        )
    with gc_paused():
        fast = _Loader(text)
        try:
            data = build(
                fast,
                max_int_digits=MAX_INT_DIGITS,
                floor=EXPANSION_FLOOR,
                ratio=EXPANSION_RATIO,
                length=len(text),
            )
            return YamlDocument(source, data, None, [], text)
        except Unusual:
            pass  # the node path decides, and names the line
        finally:
            fast.dispose()
        return _node_path(text, source)


def _compose(text: str) -> yaml.Node | None:
    """The node tree of a text the fast path already read."""
    loader = _Loader(text)
    try:
        with gc_paused():
            return loader.get_single_node()  # type: ignore[no-any-return]
    finally:
        loader.dispose()


_paused = 0
_pause_lock = threading.Lock()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a big file's values are built: they hold no
    cycles, and a full collection each few thousand objects made reading quadratic."""
    global _paused
    with _pause_lock:
        _paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _pause_lock:
            _paused -= 1
            if not _paused:
                gc.enable()


def _node_path(text: str, source: str) -> YamlDocument:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        checked = _check(node, source, len(text)) if node is not None else _Checked(None, [])
        if checked.refusal is not None:  # nothing is built from it
            return YamlDocument(source, None, None, [checked.refusal])
        data = loader.construct_document(node) if node is not None else None
    except _Unreadable as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return _refused(source, line, f"this value cannot be read ({exc.problem}); correct it.")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or "invalid YAML"
        return _refused(
            source,
            mark.line + 1 if mark else 1,
            f"this is not valid YAML ({reason}); check indentation "
            "and quoting on this line or the one before it.",
        )
    except yaml.YAMLError as exc:
        return _refused(source, 1, f"this is not valid YAML ({shown(str(exc), 200)}).")
    except RecursionError:
        return _refused(source, 1, "the file is nested too deeply to be an alliance file.")
    finally:
        loader.dispose()
    return YamlDocument(source, data, node, checked.duplicates)


def _refused(source: str, line: int, message: str) -> YamlDocument:
    return YamlDocument(source, None, None, [Problem(source, line, "", message)])


def _children(node: yaml.Node) -> Iterator[tuple[str | int | None, yaml.Node]]:
    """Each child with its place in the path (None for a mapping's key)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield None, key_node
            yield str(key_node.value), value_node
    elif isinstance(node, yaml.SequenceNode):
        yield from enumerate(node.value)


@dataclass
class _Checked:
    refusal: Problem | None
    duplicates: list[Problem]


def _check(root: yaml.Node, source: str, length: int) -> _Checked:
    """Visit each node of the graph once (an alias shares its anchor's node) and refuse what
    cannot be built safely: an alias inside the block it names, alias expansion past the
    bound, an integer too long to read. Keys given twice are reported with their field."""
    weight: dict[int, int] = {}  # id(collection) -> its size with every alias expanded
    duplicates: list[Problem] = []
    distinct = 0
    frames: list[tuple[yaml.Node, Path, Iterator[tuple[str | int | None, yaml.Node]]]] = []

    def enter(node: yaml.Node, path: Path) -> Problem | None:
        nonlocal distinct
        distinct += 1
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT_TAG and sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
                return Problem(source, node.start_mark.line + 1, "", _long_int(node.value))
            return None
        if isinstance(node, yaml.MappingNode):
            duplicates.extend(_duplicates(node, path, source))
        weight[id(node)] = -1  # entered, not yet measured
        frames.append((node, path, _children(node)))
        return None

    refusal = enter(root, ())
    while frames and refusal is None:
        node, path, children = frames[-1]
        step = next(children, None)
        if step is None:
            frames.pop()
            weight[id(node)] = 1 + sum(_weight(c, weight) for _, c in _children(node))
            continue
        part, child = step
        if weight.get(id(child), 0) > 0:
            continue  # an alias to a block already measured
        if weight.get(id(child)) == -1:
            refusal = Problem(source, child.start_mark.line + 1, "", _RECURSIVE)
        else:
            refusal = enter(child, path if part is None else (*path, part))
    if refusal is None and not isinstance(root, yaml.ScalarNode):
        bound = max(EXPANSION_FLOOR, EXPANSION_RATIO * (distinct + length))
        if weight[id(root)] > bound:
            refusal = Problem(source, _expansion_line(root, weight, bound), "", _expands(bound))
    return _Checked(refusal, duplicates)


def _weight(node: yaml.Node, weight: dict[int, int]) -> int:
    return 1 + len(node.value) if isinstance(node, yaml.ScalarNode) else weight[id(node)]


def _expansion_line(root: yaml.Node, weight: dict[int, int], bound: int) -> int:
    """The line of the innermost block that alone expands past the bound."""
    node = root
    while True:
        over = [c for _, c in _children(node) if _weight(c, weight) > bound]
        if not over:
            return int(node.start_mark.line) + 1
        node = over[0]


def _expands(bound: int) -> str:
    return (
        f"the aliases (*name) in this block expand to more than {bound:,} values and "
        f"characters, over {EXPANSION_RATIO} times what the file holds; an alliance file needs "
        "far fewer, so write those blocks out or repeat the aliases less."
    )


_RECURSIVE = "an alias (*name) here refers to the block that contains it; remove that alias."


def _long_int(value: str) -> str:
    digits = sum(c.isdigit() for c in value)
    return (
        f"this number has {digits:,} digits and the limit is {MAX_INT_DIGITS}; "
        "if it is meant as text, put it in quotes."
    )


def _duplicates(node: yaml.MappingNode, path: Path, source: str) -> list[Problem]:
    seen: set[str] = set()
    found: list[Problem] = []
    for key_node, _ in node.value:
        key = str(key_node.value)
        if key in seen:
            found.append(
                Problem(
                    source,
                    key_node.start_mark.line + 1,
                    field_name((*path, key)),
                    "this key appears twice in the same block; keep one.",
                )
            )
        seen.add(key)
    return found
