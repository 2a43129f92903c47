"""Tokens of an answer, and the rule that finds external partners in them: capitalised
multi-word names, names after a cue ("with", "avec", "con"), and a name standing alone.

After links, e-mail addresses and Slack/Matrix mentions are blanked out, a name is any of:

1. two or more capitalised words in a row, with small joining words ("de", "of", "la");
2. capitalised words right after a cue (with/and/between, avec/et/entre, con/y);
3. a capitalised name standing alone between punctuation or line breaks (an answer that is
   just "Oxfam", or a list "Oxfam, Caritas").

A name is at most :data:`MAX_PHRASE` words and never crosses punctuation; common words
(pronouns, greetings, "Nothing"), weekdays and months never start one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.partners.names import ARTICLES, CALENDAR, COMMON, CONNECTORS, CUES, WORD, fold

EXTERNAL_SCORE = 60.0
EXTERNAL_CUE_SCORE = 50.0
"""The confidence of a one-word external partner (after a cue, or standing alone)."""
MAX_PHRASE = 6
"""The most words an external partner's name spans."""


_SENTENCE = frozenset(".!?…\n:¿¡")
_MASK = "\x00"
"""What links, e-mail addresses and mentions are blanked out with."""
_CLAUSE = frozenset(',;()[]{}"“”«»„|/–—<>' + _MASK)
_ANGLE = re.compile(r"<[@#!][^<>\n]{0,200}>|<(?:https?|mailto):[^<>\n]{0,2000}>")
_CHUNK = re.compile(r"\S+")


class Token(NamedTuple):
    start: int
    end: int
    raw: str
    fold: str
    clause: int
    sentence: int
    capital: bool
    gap: str
    """What stands between the word before and this one."""


def masked(text: str) -> str:
    """``text`` with links, e-mail addresses and mentions blanked out (same length, so that
    positions still point into the answer)."""

    def blank(match: re.Match[str]) -> str:
        chunk = match.group()
        hide = chunk.startswith("<") or "@" in chunk or "://" in chunk
        return _MASK * len(chunk) if hide or chunk.lower().startswith("www.") else chunk

    if "<" in text:
        text = _ANGLE.sub(blank, text)
    if "@" in text or "://" in text or "www." in text.lower():
        text = _CHUNK.sub(blank, text)
    return text


def tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    clause = sentence = 0
    previous = ""
    end = 0
    for match in WORD.finditer(text):
        gap = text[end : match.start()]
        if tokens and gap != " ":
            if gap.startswith(".") and len(previous) <= 2 and previous.istitle():
                gap = gap[1:]  # "St. Vincent", "J. Smith": an abbreviation, not a full stop
            if any(c in _SENTENCE for c in gap):
                sentence += 1
                clause += 1
            elif any(c in _CLAUSE for c in gap) or " -" in gap or "- " in gap:
                clause += 1
        word = match.group()
        start, end = match.span()
        capital = word[0].isupper()
        tokens.append(Token(start, end, word, fold(word), clause, sentence, capital, gap))
        previous = word
    return tokens


def proper(tokens: list[Token], i: int) -> bool:
    """Whether word ``i`` is written with a capital that is not just the sentence's."""
    return tokens[i].capital and i > 0 and tokens[i - 1].sentence == tokens[i].sentence


def _opens(token: Token, first: bool = False) -> bool:
    """Whether ``token`` can start a name; ``first`` is for the first word of a sentence,
    where an adverb ("Luckily", "Finalmente") is written with a capital too."""
    if not token.capital or token.fold in COMMON or token.fold in CALENDAR:
        return False
    return not (first and len(token.fold) >= 6 and token.fold.endswith(("ly", "mente")))


def _ends(gap: str) -> bool:
    """Whether ``gap`` ends a name standing alone: punctuation, but not a colon (the words
    before one are a label: "Partners: …") nor a link or mention blanked out."""
    return any(c in _SENTENCE or c in _CLAUSE for c in gap) and ":" not in gap and _MASK not in gap


def _after_cue(tokens: list[Token], i: int) -> bool:
    k = i - 1
    while k >= 0 and tokens[k].clause == tokens[i].clause and tokens[k].fold in ARTICLES:
        k -= 1
    return k >= 0 and tokens[k].clause == tokens[i].clause and tokens[k].fold in CUES


def externals(tokens: list[Token], taken: list[bool]) -> list[tuple[int, int, float]]:
    """(first, stop, score) of each external partner, by the rule in the module's docstring."""
    upper: dict[int, list[bool]] = {}
    for t in tokens:
        if len(t.raw) > 1 and t.raw.isalpha():
            upper.setdefault(t.sentence, []).append(t.raw.isupper())
    shouting = {s for s, caps in upper.items() if sum(caps) >= 4 and sum(caps) >= 0.75 * len(caps)}
    found: list[tuple[int, int, float]] = []
    i = 0
    while i < len(tokens):
        first = i == 0 or tokens[i - 1].sentence != tokens[i].sentence
        if taken[i] or not _opens(tokens[i], first):
            i += 1
            continue
        stop = j = i + 1
        while j < len(tokens) and j - i < MAX_PHRASE and not taken[j]:
            t = tokens[j]
            if t.clause != tokens[i].clause or t.fold in CALENDAR or t.fold in CUES:
                break
            if _opens(t):
                stop = j + 1
            elif t.fold not in CONNECTORS and t.gap != "-":  # "Vaulx-en-Velin"
                break
            j += 1
        words = sum(1 for t in tokens[i:stop] if _opens(t))
        clause = tokens[i].clause
        alone = (
            (i == 0 or tokens[i - 1].clause != clause)
            and _MASK not in tokens[i].gap
            and (stop == len(tokens) or _ends(tokens[stop].gap))
            and (words > 1 or len(tokens[i].raw) > 1)  # not "N/A"
        )
        if _after_cue(tokens, i) or alone:
            found.append((i, stop, EXTERNAL_SCORE if words > 1 else EXTERNAL_CUE_SCORE))
        elif words > 1 and tokens[i].sentence not in shouting:
            found.append((i, stop, EXTERNAL_SCORE))
        i = stop
    return found
