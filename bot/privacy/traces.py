"""Finding a member's words where the bot copied them: reply payloads, files it made.

A member's written answers reach other people's replies (a staff digest's highlights, the
shared highlights) and files (exports), escaped for HTML, JSON, CSV or zipped in an XLSX, and
often cut short. So each answer is looked for by its head (its first :data:`HEAD` characters),
in each of those spellings. Figures and picked choices are not looked for: “12” or “Yes” would
be found everywhere, and they are not a person's words.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.text import neutral

HEAD = 24
"""How much of an answer is looked for: digests cut answers at 160 characters or more."""
MIN_CHARS = 4
"""Shorter answers (“ok”, “no”) are not looked for in other people's replies and files."""
MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files (not the bot's) are left alone."""
MAX_UNZIPPED = 256 * 1024 * 1024


def _spellings(head: str) -> set[str]:
    """``head`` as the renderers write it: plain, HTML or XML escaped, inside a JSON string
    (plain, and Jinja's ``tojson``, which escapes ``<>&'``), and inside a CSV cell."""
    found = {head, html.escape(head, quote=False), html.escape(head)}
    for text in list(found):
        plain = json.dumps(text)[1:-1]
        found |= {plain, json.dumps(text, ensure_ascii=False)[1:-1]}
        found.add(
            plain.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("'", "\\u0027")
        )
    return found | {text.replace('"', '""') for text in found}


class Traces:
    """The spellings of a member's written answers; ``in_text`` and ``in_bytes`` look."""

    def __init__(self, answers: Iterable[str]) -> None:
        heads: set[str] = set()
        for answer in answers:
            for text in (neutral(answer).strip(), " ".join(neutral(answer).split())):
                head = text[:HEAD]
                if len(head.strip()) >= MIN_CHARS:
                    heads.add(head)
        spellings = sorted({s for head in heads for s in _spellings(head)}, key=len, reverse=True)
        self.count = len(heads)
        self._text = re.compile("|".join(map(re.escape, spellings))) if spellings else None
        self._bytes = (
            re.compile(b"|".join(re.escape(s.encode()) for s in spellings)) if spellings else None
        )

    def __bool__(self) -> bool:
        return self._text is not None

    def in_text(self, value: Any) -> bool:
        """Whether any string inside ``value`` (a payload: dicts, lists) holds an answer."""
        if self._text is None:
            return False
        if isinstance(value, str):
            return self._text.search(value) is not None
        if isinstance(value, dict):
            return any(self.in_text(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(self.in_text(v) for v in value)
        return False

    def in_bytes(self, content: bytes) -> bool:
        """Whether a file holds an answer: as written, or inside a zip (XLSX is one)."""
        if self._bytes is None:
            return False
        if self._bytes.search(content):
            return True
        if not content.startswith(b"PK"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                budget = MAX_UNZIPPED
                for info in archive.infolist():
                    budget -= info.file_size
                    if budget < 0:
                        return False
                    if self._bytes.search(archive.read(info)):
                        return True
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return False


def erase_files(folders: Iterable[Path], names: set[str], traces: Traces) -> int:
    """Delete the files in ``folders`` named in ``names`` or holding one of ``traces``;
    returns how many. Blocking: run it in a thread."""
    erased = 0
    for path in _files(folders):
        try:
            if path.name in names or (
                path.stat().st_size <= MAX_FILE_BYTES and traces.in_bytes(path.read_bytes())
            ):
                path.unlink()
                erased += 1
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return erased


def expire_files(folders: Iterable[Path], before: float) -> int:
    """Delete the files in ``folders`` last written before ``before`` (a POSIX time); returns
    how many. Blocking: run it in a thread."""
    expired = 0
    for path in _files(folders):
        try:
            if path.stat().st_mtime < before:
                path.unlink()
                expired += 1
        except OSError:
            continue
    return expired


def _files(folders: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return found
