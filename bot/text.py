"""What people type, read safely: text the bot echoes back, text it stores, ids.

Echoed text (an answer in “Thank you! Recorded”, an unknown command in an error) goes through
:func:`neutral` or :func:`quote`: control characters cannot move a terminal's cursor and bidi
controls cannot reverse the bot's own sentence around them. Stored answers keep what was typed,
except what no database can hold (:func:`storable`). Mentions (``@channel``, ``@here``,
``@room``) are the adapters' part: Slack escapes ``<!…>`` and Matrix sends an empty
``m.mentions``, so echoed text pings nobody.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID = 2**31 - 1
"""The largest id the bot reads (a PostgreSQL ``integer``); larger ones name nothing."""
MAX_ID_DIGITS = 10

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"  # the Arabic letter mark, left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, overrides and their pop
    "\u2066\u2067\u2068\u2069"  # isolates and their pop
)
_INVISIBLE = frozenset(
    "\u200b\u2060\u2061\u2062\u2063\u2064\ufeff"  # zero-width space, joiners of maths, BOM
    "\u206a\u206b\u206c\u206d\u206e\u206f"  # deprecated shaping controls
    "\ufff9\ufffa\ufffb"  # interlinear annotations
)
REPLACEMENT = "\ufffd"

_TABLE: dict[int, str | None] = {c: REPLACEMENT for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_TABLE.update({ord("\n"): "\n", ord("\t"): "\t", ord("\r"): None})
_TABLE.update({ord(c): None for c in BIDI_CONTROLS | _INVISIBLE})
_TABLE.update({0x2028: "\n", 0x2029: "\n"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def neutral(text: str) -> str:
    """``text`` fit to echo inside the bot's own words: C0 and C1 controls (but newline and
    tab) become �, bidi and invisible format controls are dropped, lone surrogates become �."""
    return _SURROGATE.sub(REPLACEMENT, text.translate(_TABLE))


def quote(text: str, limit: int = 60) -> str:
    """``text`` as one short line to quote in a sentence: :func:`neutral`, whitespace runs
    made one space, cut to ``limit`` characters with “…”."""
    line = _SPACES.sub(" ", neutral(text)).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def storable(text: str) -> str:
    """What a database can keep of ``text``: NUL dropped (PostgreSQL text refuses it) and lone
    surrogates (no UTF-8 for them) replaced with �. Everything else is kept as typed."""
    return _SURROGATE.sub(REPLACEMENT, text.replace("\x00", ""))


def ascii_digits(text: str) -> str:
    """Decimal digits of any script (``٣``, ``３``) as ASCII digits; other numerals such as
    ``²`` or ``½`` stay as they are (they are not digits to count with)."""
    if text.isascii():
        return text
    return re.sub(r"\d", lambda m: str(unicodedata.decimal(m.group())), text)


def parse_id(text: str) -> int | None:
    """The id in ``12`` or ``#12`` (digits of any script), or None: not a whole number, or
    beyond :data:`MAX_ID` (``²``, ``1.5``, a 20-digit number all name nothing)."""
    digits = ascii_digits(text.strip().removeprefix("#"))
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_ID_DIGITS:
        return None
    value = int(digits)
    return value if 0 < value <= MAX_ID else None
