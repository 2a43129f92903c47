"""Finding the organisations an answer names (the partnership map's matching): members by
name, alias or misspelling, everything else that looks like a name as an external partner,
never the answering member's own organisation, and nothing in ordinary sentences."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.partners.match import Catalogue, Known, Mention, find_mentions

KNOWN = Catalogue(
    [
        Known("bml", "Médiathèque de Lyon", ("BML", "la médiathèque")),
        Known("spf", "Secours populaire français"),
        Known("emmaus", "Emmaüs Connect"),
        Known("cimade", "La Cimade"),
        Known("banque", "Banque alimentaire du Rhône", ("BA69",)),
        Known("mdj", "Maison des jeunes de Vaulx-en-Velin", ("MJC Vaulx",)),
        Known("solidarite", "Solidarité"),
        Known("on", "Organisation Nouvelle", ("ON",)),
        Known("habitat", "Habitat et Humanisme"),
    ]
)


def slugs(text: str, own: str | None = None) -> list[str | None]:
    return [m.slug for m in find_mentions(text, KNOWN, own=own)]


def externals(text: str) -> list[str]:
    return [m.name for m in find_mentions(text, KNOWN) if m.slug is None]


@pytest.mark.parametrize(
    ("answer", "expected", "how"),
    [
        ("The Médiathèque de Lyon could host them.", ["bml"], "name"),
        ("mediatheque de lyon and EMMAÜS CONNECT", ["bml", "emmaus"], "name"),
        ("We met la Cimade on the 3rd.", ["cimade"], "name"),
        ("Ask BML about it", ["bml"], "alias"),
        ("bml could lend the room", ["bml"], "alias"),
        ("Nous pourrions inviter la médiathèque.", ["bml"], "alias"),
        ("The MJC Vaulx youth workers", ["mdj"], "alias"),
        ("Mediateque de Lyon could work with us", ["bml"], "fuzzy"),
        ("the Secours Populaire runs a food desk", ["spf"], "fuzzy"),
        ("Emaus Conect has laptops", ["emmaus"], "fuzzy"),
        ("Banque alimentair du Rhone", ["banque"], "fuzzy"),
    ],
)
def test_members_are_found_by_name_alias_and_misspelling(
    answer: str, expected: list[str], how: str
) -> None:
    mentions = find_mentions(answer, KNOWN)
    assert [m.slug for m in mentions] == expected
    assert mentions[0].how == how
    assert mentions[0].name == KNOWN[[k.slug for k in KNOWN].index(expected[0])].name
    assert 0 < mentions[0].score <= 100


def test_a_mention_says_the_words_as_written() -> None:
    [mention] = find_mentions("Honestly, the Secours Populaire could help.", KNOWN)
    assert mention == Mention(
        "Secours Populaire", "spf", "Secours populaire français", "fuzzy", 90.0
    )


def test_aliases_match_whole_words_only() -> None:
    assert slugs("BMLX is a different thing, and so is XBML or BML2") == []
    assert slugs("BML's room, (BML), BML-led") == ["bml"]


def test_short_aliases_that_are_common_words_need_their_case() -> None:
    assert slugs("we can meet on Tuesday, on site") == []
    assert slugs("ON could join") == ["on"]


def test_ordinary_words_do_not_match_by_misspelling() -> None:
    assert slugs("We believe in solidarity and the secours we give is popular.") == []
    assert slugs("Solidarity matters. Solidarity is what we do.") == []
    assert slugs("We called Solidarite and Solidarit") == ["solidarite"]
    assert slugs("A house of young people in Vaulx") == []


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "We met on Monday and talked about the plan.",
        "Nous avons parlé du projet mardi. Rien de neuf en janvier.",
        "The families came back. They want more workshops in March.",
        "Hemos trabajado mucho esta semana. El lunes viene más gente.",
        "Yes. No. Maybe next week!",
        "I think so. We could. Thanks!",
        "Merci ! Bonne journée.",
        "WE WILL MEET THE TEAM NEXT WEEK",
    ],
)
def test_ordinary_sentences_name_nobody(answer: str) -> None:
    assert find_mentions(answer, KNOWN) == []


def test_unknown_names_become_external_partners() -> None:
    answer = "The Red Cross and Fondation de France could meet. Also with Oxfam, avec Cáritas."
    assert externals(answer) == ["Red Cross", "Fondation de France", "Oxfam", "Cáritas"]
    [oxfam] = [m for m in find_mentions(answer, KNOWN) if m.name == "Oxfam"]
    assert oxfam.how == "external"
    assert oxfam.text == "Oxfam"


def test_a_name_standing_alone_is_an_external_partner() -> None:
    assert externals("Oxfam") == ["Oxfam"]
    assert externals("- Oxfam\n- Caritas\n- BML") == ["Oxfam", "Caritas"]
    assert externals("Partners: Oxfam, Caritas.") == ["Oxfam", "Caritas"]
    for answer in ["Nothing.", "Great!", "Rien.", "Nada", "OK", "Not sure", "Monday", "Thanks!"]:
        assert externals(answer) == [], answer


def test_external_names_after_cues_in_three_languages() -> None:
    assert externals("We could work with Oxfam.") == ["Oxfam"]
    assert externals("between Amnesty and Greenpeace") == ["Amnesty", "Greenpeace"]
    assert externals("Nous travaillons avec la Croix-Rouge et Unicef.") == ["Croix-Rouge", "Unicef"]
    assert externals("entre Cáritas y Cruz Roja") == ["Cáritas", "Cruz Roja"]
    assert externals("On a vu la Mairie de Vaulx-en-Velin.") == ["Mairie de Vaulx-en-Velin"]
    assert externals("Podríamos colaborar con Acción contra el Hambre") == [
        "Acción",
    ]  # "contra" is no connector: the rule stays small


def test_sentence_starts_weekdays_and_months_are_not_partners() -> None:
    assert externals("Nous irons voir Emmaüs Connect. Lundi Oxfam vient.") == []
    assert externals("Yesterday Oxfam called. Luckily Amnesty International answered.") == [
        "Amnesty International"
    ]
    assert slugs("Luckily Habitat Humanisme answered.") == ["habitat"]  # a misspelt member
    assert externals("We meet on Monday March 3 with Oxfam") == ["Oxfam"]


def test_the_answering_members_own_organisation_is_left_out() -> None:
    answer = "We at Emmaüs Connect could work with BML and Oxfam."
    assert slugs(answer, own="emmaus") == ["bml", None]
    assert slugs(answer) == ["emmaus", "bml", None]
    assert externals(answer) == ["Oxfam"]  # the own name is not an external partner either


def test_mentions_come_in_order_and_once_each() -> None:
    answer = "Oxfam, then BML, then the Médiathèque de Lyon again, then with Oxfam and la Cimade."
    assert [m.slug or m.name for m in find_mentions(answer, KNOWN)] == ["Oxfam", "bml", "cimade"]


def test_french_and_spanish_answers() -> None:
    french = (
        "Le Secours populaire français et la BML pourraient coopérer avec Habitat et Humanisme."
    )
    assert slugs(french) == ["spf", "bml", "habitat"]
    spanish = "La Mediateca? No: la Médiathèque de Lyon y la Banque Alimentaire, con Cruz Roja."
    assert slugs(spanish) == ["bml", "banque", None]
    assert externals(spanish) == ["Cruz Roja"]


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "🙂🙂🙂",
        "   \n\t ",
        "**BML** and _Oxfam_ — see [site](https://oxfam.org) #partners",
        "<@U0123ABC|Jane Doe> and @bob:matrix.org asked BML; mail x@y.org or www.bml.fr",
        "https://example.org/Red-Cross/Fondation-De-France",
        "\x00\x01\u202e BML \ud800 Oxfam",
        "BML " * 1250,
        "a" * 6000,
        "<@" * 3000,
        "Ab Cd " * 1000,
        "Médiathèque de Lyon. " * 300,
    ],
)
def test_odd_answers_do_not_crash(answer: str) -> None:
    mentions = find_mentions(answer, KNOWN, own="spf")
    assert all(m.text in answer for m in mentions)


def test_links_and_chat_mentions_are_not_partners() -> None:
    answer = "See https://www.Red-Cross.org and <@U0123|Jane Doe> or @Jane.Doe:matrix.org"
    assert find_mentions(answer, KNOWN) == []
    assert slugs("**BML** and _Oxfam_ are in") == ["bml", None]


def test_a_thousand_answers_against_two_hundred_organisations_are_quick() -> None:
    rng = random.Random(7)
    kinds = ["Association", "Centre social", "Maison des jeunes", "Collectif", "Médiathèque"]
    places = [f"Ville{chr(65 + i)}{chr(97 + j)}" for i in range(10) for j in range(4)]
    known = Catalogue(
        [Known(f"o{i}", f"{kinds[i % 5]} {places[i // 5]}", (f"O{i:03d}",)) for i in range(200)]
    )
    words = "we could meet next week to talk about the workshops and families who need help"
    answers = []
    for _ in range(1000):
        sentence = rng.sample(words.split(), 12)
        sentence.insert(rng.randrange(12), known[rng.randrange(200)].name)
        sentence.insert(rng.randrange(12), "with Oxfam")
        sentence.insert(rng.randrange(12), "Mediateque " + rng.choice(places))
        answers.append(" ".join(sentence).capitalize() + ".")
    found = [find_mentions(answer, known) for answer in answers]  # bench/insight.py times it
    assert all(any(m.slug for m in mentions) for mentions in found)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400)
    | st.lists(
        st.sampled_from(
            [
                "BML",
                "Oxfam",
                "with",
                "avec",
                "y",
                "de",
                "Lyon",
                "Médiathèque",
                "Emaus",
                "🙂",
                "@x:y",
                "https://a.b",
                ".",
                ",",
                "\n",
                "Secours",
                "Populaire",
                "ON",
                "on",
                "The",
            ]
        ),  # fmt: skip
        max_size=40,
    ).map(" ".join),
    own=st.sampled_from([None, "bml", "emmaus", "spf", "on"]),
)
def test_find_mentions_never_raises_nor_returns_own(text: str, own: str | None) -> None:
    mentions = find_mentions(text, KNOWN, own=own)
    assert own is None or all(m.slug != own for m in mentions)
    assert all(m.text and m.text in text and 0 <= m.score <= 100 for m in mentions)
    keys = [m.slug or m.name.casefold() for m in mentions]
    assert len(keys) == len(set(keys))
