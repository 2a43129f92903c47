"""YAML with line numbers, and problems that point at a file, a line and a field.

Mistakes are reported all at once, each as ``file:line: field: what is wrong and how to fix it``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

Path = tuple[str | int, ...]


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
    """Parsed YAML plus the line of every value, addressed by its path of keys and indices."""

    source: str
    data: Any
    lines: dict[Path, int]
    problems: list[Problem]

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest ancestor that exists in the file."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        return Problem(self.source, self.line_of(path), field_name(path), message)

    def pydantic_problems(self, err: ValidationError, base: Sequence[str | int]) -> list[Problem]:
        return [
            self.problem((*base, *entry["loc"]), explain_pydantic(entry))
            for entry in err.errors(include_url=False)
        ]


def field_name(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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
        text += f" (it says “{value}”)"
    return text + "."


def load_yaml(text: str, source: str) -> YamlDocument:
    """Parse ``text``; a syntax error becomes a problem with its line instead of an exception."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or "invalid YAML"
        return YamlDocument(
            source,
            None,
            {},
            [
                Problem(
                    source,
                    line,
                    "",
                    f"this is not valid YAML ({reason}); check indentation "
                    "and quoting on this line or the one before it.",
                )
            ],
        )
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, problems, source)
    return YamlDocument(source, data, lines, problems)


def _walk(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem], source: str
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(
                        source,
                        key_node.start_mark.line + 1,
                        field_name((*path, key)),
                        "this key appears twice in the same block; keep one.",
                    )
                )
            seen.add(key)
            _walk(value_node, (*path, key), lines, problems, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, problems, source)
