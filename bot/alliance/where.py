"""Where an alliance-file item came from, to point a problem at its line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.yamlsource import Problem, YamlDocument

STAFF_ONLY = (
    "a staff digest shows everyone's answers, so it goes only to staff channels or to "
    "backbone/admin, not to “{target}”. Use `kind: highlights` for a members' channel."
)


@dataclass(slots=True)
class Where:
    """Where an item came from, to point a cross-reference problem at it."""

    doc: YamlDocument | None
    path: tuple[str | int, ...]
    csv_source: str = ""
    csv_line: int = 0

    def problem(self, sub: Sequence[str | int], message: str) -> Problem:
        if self.doc is not None:
            return self.doc.problem((*self.path, *sub), message)
        return Problem(self.csv_source, self.csv_line, ".".join(str(s) for s in sub), message)
