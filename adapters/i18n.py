"""The adapters' own sentences (App Home, poll hints, how to type a command on a platform):
marked with this ``_`` and ``ngettext``, kept in ``adapters/locales`` rather than the core's
catalogs, and translated with ``bot.i18n.translate`` like every other sentence (a sentence the
adapters' catalogs lack is looked up in the core's)."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Words

ROOT = Path(__file__).resolve().with_name("locales")
WORDS = Words(ROOT)
_ = WORDS._
ngettext = WORDS.ngettext
