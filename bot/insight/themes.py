"""Common themes across organisations' free-text answers to "barrier" and "need" exercises.

The digest wants "funding (5 organisations), staff time (3)" with one representative answer
each, from answers written in English, French and Spanish. The pipeline, and why:

1. Tokens are lowercased letters only; the answer's language is the member's locale unless the
   answer's own stop words and seed words say otherwise (members write in another language
   often enough, and counting known words is a guess cheap enough to need no model).
2. Each token is stemmed with that language's Snowball stemmer, so "volunteers" and
   "volunteering", "subvention" and "subventions" count as one word. Matching is also tried
   without accents, because people type "evaluacion" as often as "evaluación".
3. A token that belongs to the seed :mod:`~bot.insight.lexicon` becomes its theme's shared
   token (``theme:funding``), which is what lets "funding" meet "financement". Other tokens are
   kept as stems unless they are stop words or barrier filler ("lack", "besoin").
4. scikit-learn's TF-IDF weighs the tokens (theme tokens count more) and agglomerative
   clustering with cosine distance groups the answers; no number of themes is fixed ahead.
5. A cluster is named by the theme most of its answers mention, and clusters with the same
   name are merged; others are named by their top words, so themes the lexicon does not know
   still show up. The representative answer is the one closest to its theme's centre.

Everything is deterministic (no random initialisation), and nothing is downloaded at run time:
the stop-word lists and stemmers ship inside their packages.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import snowballstemmer  # type: ignore[import-untyped]
from sklearn.cluster import AgglomerativeClustering  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.preprocessing import normalize  # type: ignore[import-untyped]
from stop_words import get_stop_words  # type: ignore[import-untyped]

from bot.insight.lexicon import DEFAULT_LEXICON, LOCALES, Lexicon

THEME_PREFIX = "theme:"
"""Prefix of the shared token a seed word becomes; no stem contains a colon."""

THEME_WEIGHT = 2.0
"""How much more a theme token counts than an ordinary word: it is the cross-language link."""

DISTANCE_THRESHOLD = 0.75
"""Cosine distance under which clusters merge (average linkage). Lower splits themes apart."""

MAX_CHARS = 2000
"""Only the start of a very long answer is read: enough for its themes, and bounded in time."""

TOP_TERMS = 3
"""How many words name a cluster the lexicon cannot name."""

_STEMMER_NAMES = {"en": "english", "fr": "french", "es": "spanish"}
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Answer:
    """One free-text answer: ``id`` is the check-in's id, ``locale`` the member's language."""

    id: int
    organisation: str
    text: str
    locale: str


@dataclass(frozen=True)
class Theme:
    """A theme several organisations mention, with a representative answer to quote."""

    key: str
    label: dict[str, str]
    organisations: tuple[str, ...]
    answers: tuple[int, ...]
    representative: int


def fold(word: str) -> str:
    """``word`` without accents, so that typed-without-accents answers still match."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def base_locale(locale: str) -> str:
    """The language part of a locale ("fr-CA" and "FR_fr" give "fr"), lowercased."""
    return re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]


class Analyzer:
    """Turns an answer into tokens: theme tokens and stems, stop words and filler removed.

    Built once per :func:`common_themes` call, never shared globally; it memoises stems because
    the pure-Python Snowball stemmers are the slowest step and answers repeat their words.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self._stemmers = {loc: snowballstemmer.stemmer(_STEMMER_NAMES[loc]) for loc in LOCALES}
        self._memo: dict[tuple[str, str], tuple[str, str]] = {}
        self._stops: dict[str, frozenset[str]] = {}
        self._exact: dict[str, dict[str, str]] = {}
        self._seeds: dict[str, dict[str, str]] = {}
        for loc in LOCALES:
            filler = lexicon.filler.get(loc).split()
            words = [str(w) for w in get_stop_words(loc)]
            self._stops[loc] = frozenset(fold(w.lower()) for w in [*words, *filler])
            exact: dict[str, str] = {}
            index: dict[str, str] = {}
            for seed in lexicon.seeds:
                for word in seed.words.get(loc).lower().split():
                    exact.setdefault(fold(word.removeprefix("=")), seed.key)
                    if not word.startswith("="):
                        for key in self.keys(word, loc):
                            index.setdefault(key, seed.key)
            self._exact[loc] = exact
            self._seeds[loc] = index
        self.surface: dict[str, Counter[str]] = defaultdict(Counter)
        """For each stem, the words it came from: unnamed clusters are labelled with words."""

    def keys(self, word: str, locale: str) -> tuple[str, str]:
        """The stem of ``word`` without accents, and the stem of ``word`` typed without them.

        Both are needed: the stemmers know accented suffixes ("-ación") that a hurried
        "evaluacion" lacks, and the first key is the one used as a feature.
        """
        found = self._memo.get((word, locale))
        if found is None:
            stem = self._stemmers[locale].stemWord
            folded = fold(word)
            first = fold(str(stem(word)))
            found = (first, first if folded == word else str(stem(folded)))
            self._memo[word, locale] = found
        return found

    def seed(self, word: str, locale: str) -> str | None:
        """The seed theme ``word`` belongs to in ``locale``, if any."""
        theme = self._exact[locale].get(fold(word))
        if theme is not None:
            return theme
        if fold(word) in self._stops[locale]:
            return None
        first, second = self.keys(word, locale)
        return self._seeds[locale].get(first) or self._seeds[locale].get(second)

    def guess_locale(self, words: Sequence[str], given: str) -> str:
        """The member's locale unless another language's stop and seed words are more frequent.

        Short answers ("Falta de personal") often have one stop word or none, so seed words
        count too; a tie keeps the member's locale, or the first of the tied locales.
        """
        given = base_locale(given)
        folded = [fold(w) for w in words]
        hits = {
            loc: sum(w in self._stops[loc] or w in self._exact[loc] for w in folded)
            for loc in LOCALES
        }
        best = max(LOCALES, key=lambda loc: (hits[loc], loc == given))
        return given if given in LOCALES and hits[best] <= hits[given] else best

    def tokens(self, text: str, locale: str) -> list[str]:
        """The tokens of one answer, in order; empty for an answer with no usable word."""
        words = [w for w in _WORD.findall(text[:MAX_CHARS].casefold()) if len(w) > 1]
        loc = self.guess_locale(words, locale)
        out: list[str] = []
        for word in words:
            theme = self.seed(word, loc)
            if theme is not None:
                out.append(THEME_PREFIX + theme)
            elif fold(word) not in self._stops[loc]:
                stem = self.keys(word, loc)[0]
                out.append(stem)
                self.surface[stem][word] += 1
        return out


def _identity(tokens: list[str]) -> list[str]:
    """The vectorizer's analyzer: answers reach it already analysed by :class:`Analyzer`."""
    return tokens


Sparse = Any
"""A scipy sparse CSR matrix (scipy and scikit-learn ship no type information)."""


def _vectors(docs: list[list[str]]) -> tuple[Sparse, list[str]]:
    """Unit-length TF-IDF rows with theme tokens weighted up, and the feature names.

    Kept sparse: answers are short, and a dense matrix over every stem grows with the number
    of distinct words rather than with the number of answers.
    """
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm=None)
    matrix = vectorizer.fit_transform(docs)
    features = [str(f) for f in vectorizer.get_feature_names_out()]
    weights = np.array([THEME_WEIGHT if f.startswith(THEME_PREFIX) else 1.0 for f in features])
    return normalize(matrix.multiply(weights).tocsr(), norm="l2"), features


def _clusters(matrix: Sparse) -> list[int]:
    """A cluster number per row, from average-linkage clustering on cosine distance.

    Rows have unit length, so cosine distance is one minus the dot product: computed from the
    sparse matrix directly, which is much faster than a dense pairwise distance.
    """
    count = int(matrix.shape[0])
    if count < 2:
        return [0] * count
    distance = 1.0 - np.asarray((matrix @ matrix.T).toarray(), dtype=np.float64)
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=DISTANCE_THRESHOLD,
    )
    return [int(c) for c in model.fit_predict(distance)]


def _dominant(members: Iterable[list[str]]) -> str | None:
    """The theme at least half of the members mention, or None.

    Ties go to the theme mentioned earliest on average: people tend to lead with their main
    point ("competition for the same grants" is about competition, not about grants).
    """
    counts: Counter[str] = Counter()
    first: dict[str, list[int]] = defaultdict(list)
    size = 0
    for tokens in members:
        size += 1
        seen: set[str] = set()
        for position, token in enumerate(tokens):
            if token.startswith(THEME_PREFIX) and token not in seen:
                seen.add(token)
                counts[token] += 1
                first[token].append(position)
    if not counts:
        return None
    best = min(counts, key=lambda t: (-counts[t], sum(first[t]) / len(first[t]), t))
    if counts[best] * 2 < size:
        return None
    return best.removeprefix(THEME_PREFIX)


def _term_label(
    centre: np.ndarray, features: list[str], analyzer: Analyzer, lexicon: Lexicon
) -> tuple[str, dict[str, str]]:
    """Key and per-locale label of a cluster the lexicon cannot name, from its top terms.

    Stems are shown as the word they most often came from ("volunt" reads as "volunteers"),
    and theme tokens as the theme's name in each locale.
    """
    present = [int(i) for i in np.flatnonzero(centre > 0)]
    order = sorted(present, key=lambda i: (-centre[i], features[i]))
    top = [features[i] for i in order[:TOP_TERMS]]
    names = {seed.key: seed.label for seed in lexicon.seeds}
    label: dict[str, str] = {}
    for loc in LOCALES:
        words: list[str] = []
        for feature in top:
            if feature.startswith(THEME_PREFIX):
                words.append(names[feature.removeprefix(THEME_PREFIX)].get(loc))
            else:
                surface = analyzer.surface[feature]
                words.append(min(surface, key=lambda w: (-surface[w], w)) if surface else feature)
        label[loc] = ", ".join(words)
    return "terms:" + "+".join(f.removeprefix(THEME_PREFIX) for f in top), label


def _numbered(key: str, n: int) -> str:
    """``key`` made unique: two unnamed clusters can share their top terms."""
    return key if n == 0 else f"{key}~{n + 1}"


def common_themes(
    answers: Sequence[Answer],
    *,
    min_organisations: int = 2,
    limit: int = 8,
    lexicon: Lexicon = DEFAULT_LEXICON,
) -> list[Theme]:
    """Themes shared by at least ``min_organisations`` organisations, most widespread first.

    Sorted by number of organisations, then of answers (both descending), then key. Answers
    with no usable word (emoji, numbers) belong to no theme. ``lexicon=NO_LEXICON`` gives the
    plain TF-IDF baseline.
    """
    if limit <= 0 or not answers:
        return []
    analyzer = Analyzer(lexicon)
    kept: list[Answer] = []
    docs: list[list[str]] = []
    for answer in answers:
        tokens = analyzer.tokens(answer.text, answer.locale)
        if tokens:
            kept.append(answer)
            docs.append(tokens)
    if not kept:
        return []
    matrix, features = _vectors(docs)
    groups: dict[int, list[int]] = defaultdict(list)
    for row, cluster in enumerate(_clusters(matrix)):
        groups[cluster].append(row)

    named: dict[str, list[int]] = defaultdict(list)
    for cluster in sorted(groups):
        rows = groups[cluster]
        key = _dominant(docs[r] for r in rows)
        named[key if key is not None else f"#{cluster}"].extend(rows)

    labels = {seed.key: seed.label for seed in lexicon.seeds}
    themes: list[Theme] = []
    used: set[str] = set()
    for key, rows in named.items():
        rows.sort()
        members = matrix[rows]
        centre = np.asarray(members.mean(axis=0), dtype=np.float64).ravel()
        closest = rows[int(np.argmax(members @ centre))]
        if key in labels:
            label = {loc: labels[key].get(loc) for loc in LOCALES}
        else:
            key, label = _term_label(centre, features, analyzer, lexicon)
            key = next(k for n in range(len(used) + 1) if (k := _numbered(key, n)) not in used)
        used.add(key)
        organisations = tuple(sorted({kept[r].organisation for r in rows}))
        if len(organisations) < min_organisations:
            continue
        themes.append(
            Theme(
                key=key,
                label=label,
                organisations=organisations,
                answers=tuple(sorted({kept[r].id for r in rows})),
                representative=kept[closest].id,
            )
        )
    themes.sort(key=lambda t: (-len(t.organisations), -len(t.answers), t.key))
    return themes[:limit]
