"""Digests in Block Kit: the core's neutral digest value, rendered here for Slack.

Member text (organisation and member names, answers, prompts, units) is escaped for mrkdwn, so
``<!channel>`` or ``<@U…>`` in an answer never pings. Each highlight has a ☆ Star button and
each group of answers a menu; a press runs ``star <id>`` (``COMMAND_BUTTON``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, partial
from typing import Any

from jinja2 import Environment, PackageLoader

from adapters.i18n import WORDS, _
from adapters.slack.mrkdwn import escape
from bot.digest.model import (
    Answer,
    Digest,
    ExerciseGroup,
    MeasureFigure,
    OrgReporting,
    OrgResponse,
    Pending,
    PendingSummary,
    SharedPost,
)
from bot.digest.render import (
    change,
    digest_environment,
    join_person,
    label,
    num,
    pct,
    unreachable_line,
)
from bot.i18n import translate
from bot.ports import COMMAND_BUTTON

Block = dict[str, Any]


Names = Mapping[str, Mapping[str, str]]


def _line(label_: str, value: str, locale: str) -> str:
    """``label: value`` with the reader's punctuation (``label : value`` in French)."""
    return translate(_("{label}: {value}", label=label_, value=value), locale)


def _response(r: OrgResponse, locale: str = "en") -> str:
    quiet = " *" + translate(_("quiet"), locale) + "*" if r.quiet else ""
    figures = f"{r.answered}/{r.delivered} {pct(r.rate, locale)} {change(r.change, locale)}"
    return (_line(escape(r.name), figures, locale) + quiet).rstrip()


def _measure(ms: MeasureFigure, names: Names | None = None, locale: str = "en") -> str:
    figure = f"{num(ms.total, locale)} {escape(ms.unit)}"
    if ms.target is not None:
        figure = translate(
            _("{figure} of {target}", figure=figure, target=num(ms.target, locale)), locale
        )
    return _line(escape(label(ms.name, names or {}, locale)), figure, locale)


def _answer(a: Answer, locale: str = "en") -> str:
    return f"#{a.checkin_id} " + _line(escape(a.organisation), escape(a.text[:200]), locale)


def _reporting(r: OrgReporting, locale: str = "en") -> str:
    return _line(escape(r.name), f"{r.on_time}/{r.due} {pct(r.rate, locale)}", locale)


def _pending(p: Pending, names: Names | None = None, locale: str = "en") -> str:
    people = ", ".join(escape(join_person(person, names, locale)) for person in p.people)
    return _line(escape(p.organisation), people, locale)


def _summary(s: PendingSummary, locale: str = "en") -> str:
    counts = (_line(escape(org), num(n, locale), locale) for org, n in s.most_behind)
    return "\n".join([translate(s.line(), locale), *counts])


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def _cut(lines: list[str], limit: int = 2900) -> str:
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _highlight(a: Answer, locale: str = "en") -> Block:
    """One highlight with its ☆ Star (or ★ Unstar) button: a press runs ``star <id>``."""
    verb, button = ("unstar", _("★ Unstar")) if a.starred else ("star", _("☆ Star"))
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _answer(a, locale)},
        "accessory": {
            "type": "button",
            "action_id": COMMAND_BUTTON,
            "text": _plain(translate(button, locale)),
            "value": f"{verb} {a.checkin_id}",
        },
    }


def _group(g: ExerciseGroup, locale: str = "en") -> Block:
    """Answers to one exercise side by side, with a menu to star any of them."""
    lines = [f"*{escape(g.prompt[:150])}*"]
    lines += [
        f"{'★ ' if a.starred else ''}#{a.checkin_id} "
        + _line(escape(a.organisation), escape(a.text[:160]), locale)
        for a in g.answers
    ]
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(lines)}}
    options = [
        {
            "text": _plain(f"#{a.checkin_id} {a.organisation}: {a.text}"),
            "value": f"star {a.checkin_id}",
        }
        for a in g.answers
        if not a.starred
    ][:100]
    if options:
        block["accessory"] = {
            "type": "static_select",
            "action_id": COMMAND_BUTTON,
            "placeholder": _plain(translate(_("☆ Star an answer"), locale)),
            "options": options,
        }
    return block


@cache
def _environment(locale: str) -> Environment:
    """The Block Kit templates for a reader of ``locale`` (``bot.digest.render``)."""
    loader = PackageLoader("adapters.slack", "templates")
    env = digest_environment(loader, locale, autoescape=False, words=WORDS)
    env.filters.update(
        slack_response=partial(_response, locale=locale),
        slack_measure=partial(_measure, locale=locale),
        slack_answer=partial(_answer, locale=locale),
        slack_highlight=partial(_highlight, locale=locale),
        slack_group=partial(_group, locale=locale),
        slack_reporting=partial(_reporting, locale=locale),
        slack_pending=partial(_pending, locale=locale),
        slack_summary=partial(_summary, locale=locale),
        slack_unreachable=lambda u: escape(unreachable_line(u, locale)),
        slack_text=escape,
    )
    return env


def digest_blocks(value: Digest | SharedPost, locale: str = "en") -> list[Block] | None:
    """The staff digest as blocks, in ``locale``'s language; None for the alliance-wide post
    (it goes out as text)."""
    if not isinstance(value, Digest):
        return None
    rendered = _environment(locale).get_template("digest.blocks.json.j2").render(d=value)
    blocks: list[Block] = json.loads(rendered)
    return blocks
