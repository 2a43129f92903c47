"""The message catalogs: extract the bot's sentences, refresh each language's catalog, and say
how much of them is translated.

    python -m bot.catalogs update    # after changing the code's sentences
    python -m bot.catalogs check     # en 100.0 % (214/214), fr 100.0 % (214/214), …

(``python -m bot.catalogs`` does the core's catalogs; ``alliance-bot catalogs update|check``
does the adapters' too). A :class:`Domain` is a set of sources and the catalogs they fill: the
core's sentences (``bot/``) live in ``bot/locales``, the adapters' own (``adapters/``: App Home,
poll hints, how to type a command on a platform) in ``adapters/locales``. The sentences are
what ``babel.cfg`` maps (Python and Jinja2 templates) called with :data:`KEYWORDS`. English is
the source language: its catalog is written with each msgstr equal to its msgid, so it counts
as complete as soon as it is refreshed. See ``docs/translating.md``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent.parent
"""The checkout: ``babel.cfg`` sits there, beside ``bot/`` and ``adapters/``."""
MAPPING = ROOT / "babel.cfg"
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "ngettext": (1, 2)}
SOURCE_LANGUAGE = "en"
PROJECT = "alliance-bot"


@dataclass(frozen=True)
class Domain:
    name: str
    sources: tuple[str, ...]
    """Folders of the checkout whose sentences it holds."""
    locales: Path


CORE = Domain("core", ("bot",), LOCALES_DIR)


def po_path(language: str, domain: Domain = CORE) -> Path:
    return domain.locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(domain: Domain = CORE) -> Catalog:
    """Every sentence of ``domain``, as the code (and templates) spell it."""
    with MAPPING.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    template = Catalog(project=PROJECT, fuzzy=False)
    for source in domain.sources:
        found = extract_from_dir(
            ROOT / source,
            method_map,
            options_map,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            where = (f"{source}/{filename}", lineno)
            template.add(message, None, [where], auto_comments=comments, context=context)
    return template


def read(language: str, domain: Domain = CORE) -> Catalog | None:
    path = po_path(language, domain)
    if not path.is_file():
        return None
    with path.open("rb") as po:
        return read_po(po, locale=language)


def _write(catalog: Catalog, language: str, domain: Domain) -> None:
    path = po_path(language, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, sort_output=False, omit_header=False)


def languages_of(domain: Domain) -> list[str]:
    return sorted({p.parent.parent.name for p in domain.locales.glob("*/LC_*/*.po")})


def update(languages: list[str] | None = None, domain: Domain = CORE) -> list[str]:
    """Refresh the catalogs of ``languages`` (default: every one there is, and English) from
    the code: new sentences added untranslated, gone ones dropped, changed ones marked fuzzy
    with the old translation as a starting point. Returns the languages written."""
    template = extract(domain)
    wanted = languages or languages_of(domain) or languages_of(CORE)
    wanted = sorted(set(wanted) | {SOURCE_LANGUAGE})
    for language in wanted:
        catalog = read(language, domain) or Catalog(locale=language, project=PROJECT, fuzzy=False)
        fresh = copy.deepcopy(template)  # Catalog.update shares the template's messages
        catalog.update(fresh, update_header_comment=False, update_creation_date=False)
        catalog.obsolete.clear()  # gone from the code: kept in git history, not in the file
        catalog.revision_date = datetime.now(UTC)
        catalog.fuzzy = False
        if language == SOURCE_LANGUAGE:
            _as_source(catalog)
        _write(catalog, language, domain)
    return wanted


def _as_source(catalog: Catalog) -> None:
    """English: each sentence is its own translation."""
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            singular, plural = message.id[0], message.id[1]
            message.string = (singular,) + (plural,) * (catalog.num_plurals - 1)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")


@dataclass(frozen=True)
class Coverage:
    language: str
    translated: int
    total: int

    @property
    def share(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    def __str__(self) -> str:
        return f"{self.language} {self.share:.1f} % ({self.translated}/{self.total})"


def done(message: Message | None) -> bool:
    """Translated: present, not fuzzy, and every form written."""
    if message is None or message.fuzzy:
        return False
    forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(forms) and all(form and form.strip() for form in forms)


def coverage(template: Catalog | None = None, domain: Domain = CORE) -> list[Coverage]:
    """The share of ``domain``'s sentences each language's catalog translates."""
    template = template or extract(domain)
    ids = [message.id for message in template if message.id]
    found: list[Coverage] = []
    for language in languages_of(domain):
        catalog = read(language, domain)
        assert catalog is not None
        translated = sum(done(catalog.get(key)) for key in ids)
        found.append(Coverage(language, translated, len(ids)))
    return found


def main(argv: list[str], domains: Sequence[Domain] = (CORE,)) -> int:
    """``update [language …]`` then ``check``, or ``check``, for each of ``domains``."""
    action = argv[0] if argv else ""
    if action not in ("update", "check"):
        print("usage: python -m bot.catalogs update [language …] | check", file=sys.stderr)
        return 2
    complete = True
    for domain in domains:
        if action == "update":
            written = update(argv[1:] or None, domain)
            paths = ", ".join(str(po_path(lang, domain).relative_to(ROOT)) for lang in written)
            print(f"updated {paths}")
        shares = coverage(domain=domain)
        print(f"{domain.name}: " + ", ".join(str(share) for share in shares))
        complete = complete and all(share.share == 100.0 for share in shares)
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
