"""Common themes across organisations' free-text answers (bot/insight/themes.py).

The main test scores the grouping against a labelled sample of 120 answers in English, French
and Spanish (tests/data/themes_sample.csv, written before the lexicon) with the adjusted Rand
index; the others check what a reader of the digest notices.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score, v_measure_score  # type: ignore[import-untyped]

from bot.insight.lexicon import DEFAULT_LEXICON, LOCALES, NO_LEXICON, Lexicon
from bot.insight.themes import Analyzer, Answer, Theme, common_themes

SAMPLE = Path(__file__).parent / "data" / "themes_sample.csv"

ARI_THRESHOLD = 0.75
"""Measured 0.87 with the default lexicon (V-measure 0.92); the baseline without it is 0.04."""


@dataclass(frozen=True)
class Labelled:
    answer: Answer
    language: str
    theme: str


def load_sample() -> list[Labelled]:
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return [
            Labelled(
                Answer(int(r["id"]), r["organisation"], r["text"], r["locale"]),
                r["language"],
                r["theme"],
            )
            for r in rows
        ]


def found_clusters(sample: list[Labelled], themes: list[Theme]) -> list[str]:
    """The theme key of each answer; an answer in no theme is its own singleton cluster."""
    where = {i: t.key for t in themes for i in t.answers}
    return [where.get(s.answer.id, f"alone:{s.answer.id}") for s in sample]


def score(sample: list[Labelled], lexicon: Lexicon) -> tuple[float, float]:
    themes = common_themes(
        [s.answer for s in sample], min_organisations=1, limit=100, lexicon=lexicon
    )
    expected = [s.theme for s in sample]
    found = found_clusters(sample, themes)
    return adjusted_rand_score(expected, found), v_measure_score(expected, found)


@pytest.fixture(scope="module")
def sample() -> list[Labelled]:
    return load_sample()


def answer(id: int, org: str, text: str, locale: str = "en") -> Answer:
    return Answer(id=id, organisation=org, text=text, locale=locale)


def test_the_sample_is_big_varied_and_labelled(sample: list[Labelled]) -> None:
    assert len(sample) >= 90
    languages = Counter(s.language for s in sample)
    assert all(languages[loc] >= 30 for loc in LOCALES), languages
    assert len({s.answer.id for s in sample}) == len(sample)
    assert 6 <= len({s.answer.organisation for s in sample}) <= 10
    themes = Counter(s.theme for s in sample)
    assert len(themes) >= 8 and min(themes.values()) >= 6, themes
    assert any(s.answer.locale != s.language for s in sample), "some locales should be wrong"


def test_grouping_matches_the_labelled_sample(sample: list[Labelled]) -> None:
    ari, v = score(sample, DEFAULT_LEXICON)
    base_ari, base_v = score(sample, NO_LEXICON)
    print(
        f"\nthemes on {len(sample)} answers: adjusted Rand {ari:.3f}, V-measure {v:.3f}"
        f" (baseline without lexicon: adjusted Rand {base_ari:.3f}, V-measure {base_v:.3f})"
    )
    assert ari >= ARI_THRESHOLD
    assert ari > base_ari + 0.3, "the lexicon must clearly beat plain TF-IDF"


def test_funding_in_three_languages_is_one_theme_named_in_each(sample: list[Labelled]) -> None:
    themes = common_themes([s.answer for s in sample], min_organisations=1, limit=100)
    by_text = {s.answer.text: s.answer.id for s in sample}
    funding = next(t for t in themes if t.key == "funding")
    for text in (
        "Funding. Our grant ends in March and nothing is lined up after that.",
        "Le financement, encore et toujours.",
        "Falta de financiación",
        "No tenemos presupuesto para cubrir los gastos de las actividades conjuntas",
    ):
        assert by_text[text] in funding.answers, text
    assert funding.label == {"en": "funding", "fr": "financement", "es": "financiación"}
    volunteers = next(t for t in themes if t.key == "volunteers")
    assert volunteers.label["fr"] == "bénévoles"
    assert volunteers.label["es"] == "voluntariado"


def test_every_theme_is_consistent_and_sorted(sample: list[Labelled]) -> None:
    answers = [s.answer for s in sample]
    themes = common_themes(answers, min_organisations=1, limit=100)
    orgs = {a.id: a.organisation for a in answers}
    seen: set[int] = set()
    for theme in themes:
        assert theme.representative in theme.answers
        assert theme.organisations == tuple(sorted({orgs[i] for i in theme.answers}))
        assert list(theme.answers) == sorted(theme.answers)
        assert set(theme.label) == set(LOCALES) and all(theme.label.values())
        assert not seen & set(theme.answers), "an answer belongs to one theme"
        seen |= set(theme.answers)
    order = [(-len(t.organisations), -len(t.answers)) for t in themes]
    assert order == sorted(order)
    assert len({t.key for t in themes}) == len(themes)
    assert themes == common_themes(answers, min_organisations=1, limit=100), "deterministic"

    default = common_themes(answers)
    assert len(default) == 8
    assert default == themes[:8]
    assert all(len(t.organisations) >= 2 for t in default)


def test_min_organisations_drops_a_theme_only_one_organisation_mentions() -> None:
    answers = [
        answer(1, "library", "Our grant was cut, no money left for joint work"),
        answer(2, "youth", "Le financement manque cruellement", "fr"),
        answer(3, "acoge", "Falta de financiación para las actividades", "es"),
        answer(4, "library", "We need more volunteers on Saturdays"),
        answer(5, "library", "Recruiting volunteers is hard"),
    ]
    everything = common_themes(answers, min_organisations=1)
    assert [t.key for t in everything] == ["funding", "volunteers"]
    assert everything[0].organisations == ("acoge", "library", "youth")
    assert everything[1].answers == (4, 5)
    assert [t.key for t in common_themes(answers)] == ["funding"]
    assert common_themes(answers, min_organisations=4) == []
    assert [t.key for t in common_themes(answers, min_organisations=1, limit=1)] == ["funding"]
    assert common_themes(answers, limit=0) == []


def test_a_wrong_locale_still_finds_the_theme() -> None:
    answers = [
        answer(1, "a", "Nobody has the time: our staff are overstretched", locale="es"),
        answer(2, "b", "Le personnel est débordé, pas le temps", locale="en"),
        answer(3, "c", "No tenemos tiempo, el personal está saturado", locale="fr-FR"),
    ]
    (theme,) = common_themes(answers)
    assert theme.key == "capacity"
    assert theme.answers == (1, 2, 3)


def test_answers_the_lexicon_does_not_know_still_group_and_are_named_by_their_words() -> None:
    answers = [
        answer(1, "library", "The photocopier is broken again"),
        answer(2, "youth", "our photocopier broke down"),
        answer(3, "acoge", "Photocopier broken, printing impossible"),
        answer(4, "food", "Funding cuts everywhere"),
        answer(5, "north", "no funding left"),
    ]
    themes = common_themes(answers)
    unnamed = next(t for t in themes if t.key.startswith("terms:"))
    assert unnamed.answers == (1, 2, 3)
    assert "photocopier" in unnamed.label["en"]
    assert unnamed.label["fr"] == unnamed.label["en"]


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["🙂🙏"],
        ["🎉", "🔥🔥", "   ", "", "123 456", "!!!"],
        ["funding"],
        ["a"],
    ],
)
def test_odd_input_gives_no_theme(texts: list[str]) -> None:
    answers = [answer(i, f"org-{i}", text) for i, text in enumerate(texts)]
    assert common_themes(answers) == []


def test_odd_input_does_not_crash() -> None:
    (one,) = common_themes([answer(1, "a", "Funding")], min_organisations=1)
    assert one.key == "funding" and one.representative == 1

    same = [answer(i, f"org-{i % 3}", "Not enough volunteers") for i in range(6)]
    (theme,) = common_themes(same)
    assert theme.key == "volunteers" and theme.answers == tuple(range(6))

    word = [answer(1, "a", "photocopier"), answer(2, "b", "Photocopier")]
    (theme,) = common_themes(word)
    assert theme.key == "terms:photocopi" and theme.label["en"] == "photocopier"

    long = "Our budget keeps shrinking and " * 2000 + "🙂" * 500
    themes = common_themes(
        [answer(1, "a", long, "de"), answer(2, "b", "Falta de dinero", ""), answer(3, "c", "🙂")]
    )
    assert [(t.key, t.answers) for t in themes] == [("funding", (1, 2))]


def test_five_hundred_answers_are_grouped(sample: list[Labelled]) -> None:
    """Many answers at once still give themes (bench/insight.py times it)."""
    answers = [
        Answer(n, s.answer.organisation, f"{s.answer.text} {extra}", s.answer.locale)
        for n, (s, extra) in enumerate(
            (s, extra) for extra in ("", "vraiment", "really", "de verdad", "!") for s in sample
        )
    ][:500]
    assert len(answers) == 500
    themes = common_themes(answers)
    assert "funding" in {t.key for t in themes}


def test_no_seed_word_is_claimed_by_two_themes() -> None:
    """A stem shared by two seeds would silently go to the first: the lexicon must avoid it."""
    analyzer = Analyzer(DEFAULT_LEXICON)
    for seed in DEFAULT_LEXICON.seeds:
        for loc in LOCALES:
            for word in seed.words.get(loc).lower().split():
                assert analyzer.seed(word.removeprefix("="), loc) == seed.key, (loc, word)
