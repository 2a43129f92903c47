"""The words the insight sections are shown with, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.digest.model import Connection, Digest
from bot.i18n import _, ngettext, pick, translate

CURVE_QUESTIONS = {
    "curve-story": _("The story behind the curve"),
    "curve-partners": _("Partners who could help"),
    "curve-what-works": _("What could work"),
    "curve-next-action": _("Next action"),
}
STATES = {
    "proposed": _("named"),
    "confirmed": _("confirmed"),
    "happened": _("happened"),
    "planned": _("planned"),
    "stalled": _("stalled"),
    "declined": _("declined"),
}


def curve_question(key: str, locale: str = "en") -> str:
    return translate(CURVE_QUESTIONS[key], locale) if key in CURVE_QUESTIONS else key


def state_word(key: str, locale: str = "en") -> str:
    return translate(STATES[key], locale) if key in STATES else key


def theme_label(label: Mapping[str, str], locale: str = "en") -> str:
    return pick(dict(label), locale) if label else ""


@dataclass(frozen=True)
class Section:
    """An insight section as lines of plain text: adapters escape them for their markup."""

    title: str
    lines: tuple[str, ...]


def _target(c: Connection, locale: str) -> str:
    if c.external:
        return translate(_("{name} (not in the alliance)", name=c.target), locale)
    return c.target


def insight_sections(d: Digest, locale: str = "en") -> list[Section]:
    """Turn-the-curve answers, common themes and partnerships, in the reader's language."""
    found = []
    curves = []
    for c in d.curves:
        curves.append(translate(_("{measure}, {organisation}:", measure=c.measure,
                                  organisation=c.organisation), locale))  # fmt: skip
        curves += [
            "  "
            + translate(
                _("{label}: {value}", label=curve_question(q, locale), value=a[:160]), locale
            )  # fmt: skip
            for q, a in c.answers
        ]
    if curves:
        found.append(Section(translate(_("Turn the curve"), locale), tuple(curves)))
    if d.themes:
        lines = tuple(
            translate(
                ngettext(
                    "{theme} ({n} organisation)",
                    "{theme} ({n} organisations)",
                    t.organisations,
                    theme=theme_label(t.label, locale),
                ),
                locale,
            )  # fmt: skip
            + f": #{t.example_id} "
            + translate(
                _("{label}: {value}", label=t.example_organisation, value=t.example[:140]), locale
            )  # fmt: skip
            for t in d.themes
        )
        found.append(Section(translate(_("Common themes in barriers and needs"), locale), lines))
    p = d.partnerships
    if not p.empty:
        lines_: list[str] = []
        if p.new:
            lines_.append(translate(_("New connections:"), locale))
            lines_ += [f"  {c.source} ↔ {_target(c, locale)} ({state_word(c.state, locale)})"
                       for c in p.new]  # fmt: skip
            if p.more_new:
                more = ngettext("…and {n} more new connection (partners export lists them all).",
                                "…and {n} more new connections (partners export lists them all).",
                                p.more_new)  # fmt: skip
                lines_.append("  " + translate(more, locale))
        if p.stalled:
            lines_.append(translate(_("Stalled or waiting too long:"), locale))
            lines_ += [f"  {c.source} ↔ {_target(c, locale)} ({state_word(c.state, locale)}, "
                       f"{c.on})" for c in p.stalled]  # fmt: skip
        if p.unconnected:
            lines_.append(translate(_("No connection yet: {names}",
                                      names=", ".join(p.unconnected)), locale))  # fmt: skip
        found.append(Section(translate(_("Partnerships"), locale), tuple(lines_)))
    return found
