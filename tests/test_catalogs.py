"""Every sentence the bot can say is in every catalog, translated, with its placeholders and
(in French) its typography right: the core's (``bot/locales``) and the adapters' own
(``adapters/locales``). ``alliance-bot catalogs update`` refreshes them after the code's
sentences change; docs/translating.md says how to translate them."""

from __future__ import annotations

import re
import string
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message

from adapters.commands_catalogs import domains
from adapters.i18n import _ as adapter_sentence
from bot.catalogs import coverage, done, extract, read
from bot.i18n import _, languages, ngettext, translate

LANGUAGES = ("en", "fr", "es")
NNBSP, NBSP = "\u202f", "\u00a0"


DOMAINS = {d.name: d for d in domains()}
BOTH = pytest.mark.parametrize("domain", sorted(DOMAINS))


@cache
def _template(domain: str = "core") -> Catalog:
    return extract(DOMAINS[domain])


def _ids(domain: str = "core") -> list[str | tuple[str, ...]]:
    return [m.id if isinstance(m.id, str) else tuple(m.id) for m in _template(domain) if m.id]


def _catalog(language: str, domain: str = "core") -> Catalog:
    found = read(language, DOMAINS[domain])
    assert found is not None, f"{DOMAINS[domain].locales}/{language}/… is missing"
    return found


def _forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_bot_says_something() -> None:
    assert len(_ids()) > 150  # the extractor found the sentences (babel.cfg, keywords)
    assert len(_ids("adapters")) > 40
    assert set(LANGUAGES) <= set(languages())


def test_the_core_catalogs_hold_no_platform_sentence() -> None:
    """What a platform says of itself (Slack's App Home, Matrix's polls) is the adapters'."""
    for key in _ids():
        words = " ".join((key,) if isinstance(key, str) else key).lower()
        assert "slack" not in words and "matrix" not in words, key


def test_an_adapter_sentence_is_translated_from_its_own_catalog() -> None:
    hint = "Reply in this thread with the number or the name of your choice."
    assert hint in _ids("adapters") and hint not in _ids()
    assert translate(adapter_sentence(hint), "fr") != hint


@BOTH
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sentence_is_translated(language: str, domain: str) -> None:
    catalog = _catalog(language, domain)
    missing = [key for key in _ids(domain) if catalog.get(key) is None]
    assert not missing, f"{language}: not in the catalog (run alliance-bot catalogs update)"
    untranslated = [key for key in _ids(domain) if not done(catalog.get(key))]
    assert not untranslated, f"{language}: empty or fuzzy: {untranslated[:5]}"


@BOTH
@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_kept(language: str, domain: str) -> None:
    catalog = _catalog(language, domain)
    wrong = []
    for key in _ids(domain):
        message = catalog.get(key)
        assert message is not None
        sources = (key,) if isinstance(key, str) else key
        wanted = set().union(*(_fields(s) for s in sources))
        for form in _forms(message):
            fields = _fields(form)
            # a singular may leave {n} out (“its one member”); nothing may be added or renamed
            if not fields <= wanted or not (wanted - {"n"}) <= fields:
                wrong.append((key, form))
    assert not wrong, f"{language}: placeholders dropped or renamed: {wrong[:3]}"


@BOTH
@pytest.mark.parametrize("language", ["fr", "es"])
def test_plural_forms_header_comes_from_the_locale(language: str, domain: str) -> None:
    catalog = _catalog(language, domain)
    assert catalog.plural_forms == Catalog(locale=language).plural_forms
    for key in _ids(domain):
        if isinstance(key, tuple):
            message = catalog.get(key)
            assert message is not None and len(_forms(message)) == catalog.num_plurals


def _french_typography(text: str) -> list[str]:
    """What is wrong with ``text`` as French: the space before ; ! ? is a narrow no-break
    space, before : a no-break space, inside « » a no-break space. Punctuation glued to a
    word on its right (``!star``, ``08:01``, ``https:``) is not punctuation of the sentence."""
    faults = []
    text = re.sub(r":[a-z_]+:", "", text)  # Slack's emoji codes (:star:)
    for match in re.finditer(r"(?<=.)[;!?:](?=\s|$|[)»\"”])", text):  # not the console's “! ”
        sign, before = match.group(), text[max(0, match.start() - 1) : match.start()]
        wanted = NBSP if sign == ":" else NNBSP
        if before != wanted:
            faults.append(f"{before!r} before {sign!r} in {text!r}")
    for match in re.finditer("«(.)", text):
        if match.group(1) != NBSP:
            faults.append(f"no no-break space after « in {text!r}")
    for match in re.finditer("(.)»", text):
        if match.group(1) != NBSP:
            faults.append(f"no no-break space before » in {text!r}")
    if "“" in text or "”" in text:
        faults.append(f"English quotes in {text!r}")
    return faults


@BOTH
def test_french_typography(domain: str) -> None:
    catalog = _catalog("fr", domain)
    faults = [f for m in catalog if m.id for form in _forms(m) for f in _french_typography(form)]
    assert not faults, "\n".join(faults[:10])


def test_the_typography_check_finds_faults() -> None:
    assert _french_typography("Réponse reçue: oui")
    assert _french_typography("Merci !")  # a plain space
    assert _french_typography("Vraiment?")
    assert _french_typography("« oui »")
    assert not _french_typography(f"Merci{NNBSP}! Tapez !star 12 à 08:01{NBSP}: «{NBSP}oui{NBSP}»")


@BOTH
def test_spanish_opens_its_questions_and_exclamations(domain: str) -> None:
    catalog = _catalog("es", domain)
    for message in catalog:
        for form in _forms(message) if message.id else ():
            for sentence in re.findall(r"[^.;:!?¿¡]*\w[!?]", form):  # “!checkin” is no sentence
                if sentence.strip():
                    opener = "¡" if sentence.endswith("!") else "¿"
                    assert opener in form, f"{form!r} needs {opener}"


@BOTH
def test_coverage_is_complete(domain: str) -> None:
    shares = {c.language: c for c in coverage(_template(domain), DOMAINS[domain])}
    for language in LANGUAGES:
        assert shares[language].share == 100.0, str(shares[language])
        assert str(shares[language]).startswith(f"{language} 100.0 % (")


def test_translation_fills_values_in_the_readers_language() -> None:
    assert translate(_("Thank you! Recorded for {period}:", period="x"), "fr") == (
        f"Merci{NNBSP}! Enregistré pour x{NBSP}:"
    )
    assert translate(ngettext("{n} check-in", "{n} check-ins", 2), "fr") == "2 réponses"
    assert translate(ngettext("{n} check-in", "{n} check-ins", 1), "es") == "1 respuesta"
    assert translate(ngettext("{n} check-in", "{n} check-ins", 1250), "fr") == (
        f"1{NNBSP}250 réponses"
    )
    assert translate(_("Thank you! Recorded for {period}:", period="x"), "de") == (
        "Thank you! Recorded for x:"
    )
