"""Which organisations an answer names, for the partnership map.

Answers to "Make a connection" or "Think of a partner" name organisations the way people
write: the full name, an alias, a misspelling, or an organisation outside the alliance. This
module finds them, with no database and no chat, so that it can be tested on its own and run
over a thousand answers in a fraction of a second (build a :class:`Catalogue` once for that).

Member organisations (:class:`Known`) are found, in this order of preference:

1. **By name or alias**: the same words, ignoring case, accents, punctuation between words and
   a leading article ("the", "la", "los"…); whole words only, so the alias "BML" does not
   match inside "BMLX". A name or alias of three letters or fewer must be the same word
   ignoring case only (accents count), and if it is also a common word ("ON", "ET") its case
   must match as well.
2. **By misspelling** (``how="fuzzy"``): a run of words whose similarity to a name or a long
   alias (8 characters or more) is at least :data:`FUZZY_SCORE` (rapidfuzz's ``ratio``), with
   the same first letter; a one-word match must reach :data:`FUZZY_SCORE_ONE_WORD` and be
   written with a capital inside a sentence, so that ordinary words ("solidarity",
   "Solidarity is…") do not become "Solidarité". The first words of a long name ("Secours
   Populaire" for "Secours populaire français") count too when written with a capital, if
   they hold at least half the name's words that matter and fit no other organisation.

Everything else that looks like a name becomes an **external partner**, by a rule kept small
so that people can predict it:

- a run of two or more words written with a capital ("Red Cross", "Fondation de France":
  the small words de, du, des, la, le, les, of, the, for, pour, del, el, los, las may join
  them, and so may any word within a hyphenated one: "Mairie de Vaulx-en-Velin"), or
- one or more such words right after a cue: with, and, between, avec, et, entre, con, y
  (an article may come between: "avec la Croix-Rouge"), or standing alone between
  punctuation marks or line breaks (an answer that is just "Oxfam", a list "Oxfam, Caritas").

A name spans at most :data:`~bot.partners.outsiders.MAX_PHRASE` words and never crosses
punctuation (:mod:`bot.partners.outsiders` holds that rule). Common words (pronouns, articles,
greetings, "Yesterday", "Nous", "The"…) never start one, nor does an adverb opening a sentence
("Luckily", "Finalmente"); weekdays and months are never part of one; a sentence mostly in
capitals ("WE MET THE TEAM") yields names only after a cue. Links, e-mail addresses, Slack and
Matrix mentions are blanked out first. Places and people that fit the rule become external
partners too: members confirm or decline every match, so the rule errs towards finding rather
than missing.

Answer text is private: nothing here logs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

from rapidfuzz import fuzz, process

from bot.partners.names import (
    ARTICLES,
    COMMON,
    WORD,
    fold,
    normalise,
)
from bot.partners.outsiders import Token, externals, masked, proper
from bot.partners.outsiders import tokens as tokens_of

MAX_CHARS = 20_000
"""Only this much of an answer is read (a long answer names its partners early)."""
FUZZY_MIN_CHARS = 8
FUZZY_SCORE = 87.0
FUZZY_SCORE_ONE_WORD = 90.0
PREFIX_SCORE = 90.0
"""The confidence of a match on the first words of a long name."""


@dataclass(frozen=True)
class Known:
    """A member organisation of the alliance."""

    slug: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """An organisation an answer names."""

    text: str
    """The words as written in the answer."""
    slug: str | None
    """The member organisation, or None for an external partner."""
    name: str
    """The member organisation's name, or the external partner's name as written (tidied)."""
    how: str
    """``name``, ``alias``, ``fuzzy`` or ``external``."""
    score: float
    """How sure the match is, from 0 to 100."""


class _Form(NamedTuple):
    """One way of writing a member organisation."""

    org: int
    how: str
    rank: int
    score: float = 100.0
    capital: bool = False
    """The first word must be written with a capital (the first words of a long name)."""
    short: tuple[str, ...] | None = None
    """For a form of three letters or fewer: its words as written in the catalogue."""
    cased: bool = False
    """A short form that is also a common word ("ON"): its case must match too."""


class Catalogue(Sequence[Known]):
    """The member organisations, with every way of writing them worked out once.

    :func:`find_mentions` accepts any sequence of :class:`Known` and builds one of these each
    time: build it yourself to match many answers against the same organisations.
    """

    def __init__(self, known: Sequence[Known]) -> None:
        self._known = tuple(known)
        table: dict[tuple[str, ...], tuple[int, _Form | None]] = {}
        for index, org in enumerate(self._known):
            for form, key in _forms(index, org):
                rank, held = table.get(key, (99, None))
                if form.rank < rank:
                    table[key] = (form.rank, form)
                elif form.rank == rank and held is not None and held.org != index:
                    table[key] = (rank, None)  # two organisations written alike: neither
        self._exact = {key: form for key, (_, form) in table.items() if form is not None}
        self._lengths = sorted({len(key) for key in self._exact}, reverse=True)
        self._firsts = frozenset(key[0] for key in self._exact)
        buckets: dict[str, tuple[list[str], list[_Form]]] = {}
        counts: set[int] = set()
        for key, form in self._exact.items():
            joined = " ".join(key)
            if form.short is None and len(joined) >= FUZZY_MIN_CHARS:
                strings, forms = buckets.setdefault(joined[0], ([], []))
                strings.append(joined)
                forms.append(form)
                counts.update((len(key) - 1, len(key), len(key) + 1))
        self._buckets = buckets
        self._fuzzy_lengths = frozenset(c for c in counts if c > 0)
        self._fuzzy_longest = max(counts, default=0)

    @overload
    def __getitem__(self, index: int) -> Known: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Known]: ...
    def __getitem__(self, index: int | slice) -> Known | Sequence[Known]:
        return self._known[index]

    def __len__(self) -> int:
        return len(self._known)


def _forms(index: int, org: Known) -> Iterator[tuple[_Form, tuple[str, ...]]]:
    """Every way of writing ``org``: its name and aliases, without a leading article too,
    and the first words of a long name."""
    for rank, how, text in [(0, "name", org.name), *((1, "alias", a) for a in org.aliases)]:
        raws = [m.group() for m in WORD.finditer(text)]
        key = tuple(fold(r) for r in raws)
        if not key:
            continue
        if sum(len(k) for k in key) <= 3:
            yield _Form(index, how, rank, short=tuple(raws), cased=" ".join(key) in COMMON), key
            continue
        form = _Form(index, how, rank)
        yield form, key
        bare = key
        while len(bare) > 1 and bare[0] in ARTICLES:
            bare = bare[1:]
        if bare != key:
            yield form, bare
        content = [w for w in bare if w not in COMMON]
        for size in range(2, len(bare)):
            head = bare[:size]
            kept = [w for w in head if w not in COMMON]
            if head[-1] not in COMMON and len(kept) >= 2 and 2 * len(kept) >= len(content):
                yield _Form(index, "fuzzy", rank + 2, PREFIX_SCORE, capital=True), head


def _exact(cat: Catalogue, tokens: list[Token], taken: list[bool]) -> list[_Found]:
    found: list[_Found] = []
    folds = [t.fold for t in tokens]
    i = 0
    while i < len(tokens):
        if folds[i] not in cat._firsts:
            i += 1
            continue
        for size in cat._lengths:
            last = i + size - 1
            if last >= len(tokens) or tokens[last].clause != tokens[i].clause:
                continue
            form = cat._exact.get(tuple(folds[i : last + 1]))
            if form is not None and _fits(form, tokens[i : last + 1]):
                found.append(_Found(i, last + 1, form, form.score, form.how))
                taken[i : last + 1] = [True] * size
                i = last
                break
        i += 1
    return found


def _fits(form: _Form, words: list[Token]) -> bool:
    if form.capital and not words[0].capital:
        return False
    if form.short is None:
        return True
    if form.cased:
        return tuple(t.raw for t in words) == form.short
    return [t.raw.casefold() for t in words] == [w.casefold() for w in form.short]


class _Found(NamedTuple):
    first: int
    stop: int
    form: _Form
    score: float
    how: str


def _fuzzy(cat: Catalogue, tokens: list[Token], taken: list[bool]) -> list[_Found]:
    """Runs of words not yet matched, compared with the names that start with the same
    letter (a misspelling seldom changes the first letter, and it keeps this fast)."""
    spans: dict[str, list[tuple[int, int, str]]] = {}
    limits = [0] * len(tokens)  # where the run of free words from each word in its clause ends
    limit = len(tokens)
    for i in reversed(range(len(tokens))):
        if taken[i]:
            limit = i
        elif i + 1 < len(tokens) and tokens[i + 1].clause != tokens[i].clause:
            limit = i + 1
        limits[i] = limit
    sizes = cat._fuzzy_lengths
    for i, token in enumerate(tokens):
        letter = token.fold[0]
        if taken[i] or letter not in cat._buckets or token.fold in COMMON:
            continue
        joined = ""
        for last in range(i, min(limits[i], i + cat._fuzzy_longest)):
            joined = f"{joined} {tokens[last].fold}" if joined else token.fold
            if last - i + 1 in sizes and tokens[last].fold not in COMMON:
                spans.setdefault(letter, []).append((i, last + 1, joined))
    found: list[_Found] = []
    for letter, candidates in spans.items():
        strings, forms = cat._buckets[letter]
        scores = process.cdist(
            [c[2] for c in candidates], strings, scorer=fuzz.ratio, score_cutoff=FUZZY_SCORE
        )
        for hit in scores.max(axis=1).nonzero()[0].tolist():
            first, stop, _ = candidates[hit]
            row = scores[hit].tolist()
            best = max(row)
            orgs = {forms[j].org for j, score in enumerate(row) if score == best}
            form = forms[row.index(best)]
            one_word = stop - first == 1 or " " not in strings[row.index(best)]
            if len(orgs) > 1 or (form.capital and not tokens[first].capital):
                continue
            if one_word and (best < FUZZY_SCORE_ONE_WORD or not proper(tokens, first)):
                continue
            found.append(_Found(first, stop, form, best * form.score / 100, "fuzzy"))
    found.sort(key=lambda f: (-f.score, f.first - f.stop, f.first))
    kept: list[_Found] = []
    for f in found:
        if not any(taken[f.first : f.stop]):
            taken[f.first : f.stop] = [True] * (f.stop - f.first)
            kept.append(f)
    return kept


def find_mentions(text: str, known: Sequence[Known], *, own: str | None = None) -> list[Mention]:
    """The organisations ``text`` names, in the order it names them, each once.

    ``own`` is the answering member's organisation: it is recognised (so that its name does
    not become an external partner) but never reported.
    """
    cat = known if isinstance(known, Catalogue) else Catalogue(known)
    text = text[:MAX_CHARS]
    tokens = tokens_of(masked(text))
    taken = [False] * len(tokens)
    found = _exact(cat, tokens, taken)
    found += _fuzzy(cat, tokens, taken)
    spans: list[tuple[int, Mention]] = []
    for f in found:
        org = cat[f.form.org]
        start, end = tokens[f.first].start, tokens[f.stop - 1].end
        spans.append((start, Mention(text[start:end], org.slug, org.name, f.how, f.score)))
    for first, stop, score in externals(tokens, taken):
        start, end = tokens[first].start, tokens[stop - 1].end
        words = text[start:end]
        spans.append((start, Mention(words, None, " ".join(words.split()), "external", score)))
    mentions: list[Mention] = []
    seen: set[str] = set()
    for _, mention in sorted(spans, key=lambda s: s[0]):
        key = mention.slug if mention.slug is not None else "ext:" + normalise(mention.name)
        if key not in seen and (mention.slug is None or mention.slug != own):
            mentions.append(mention)
        seen.add(key)
    return mentions
