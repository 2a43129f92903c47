"""Digests in Block Kit: the core's neutral digest value, rendered here for Slack.

Member text (organisation and member names, answers, prompts, units) is escaped for mrkdwn, so
``<!channel>`` or ``<@U…>`` in an answer never pings. Each highlight has a ☆ Star button and
each group of answers a menu; a press runs ``star <id>`` (``COMMAND_BUTTON``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

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
from bot.digest.render import FIGURES, FILTERS, change, num, pct, unreachable_line
from bot.ports import COMMAND_BUTTON

Block = dict[str, Any]


def _response(r: OrgResponse) -> str:
    quiet = " *quiet*" if r.quiet else ""
    return (
        f"{escape(r.name)}: {r.answered}/{r.delivered} {pct(r.rate)} {change(r.change)}{quiet}"
    ).rstrip()


def _measure(ms: MeasureFigure) -> str:
    target = "" if ms.target is None else f" of {num(ms.target)}"
    return f"{escape(ms.name)}: {num(ms.total)} {escape(ms.unit)}{target}"


def _answer(a: Answer) -> str:
    return f"#{a.checkin_id} {escape(a.organisation)}: {escape(a.text[:200])}"


def _reporting(r: OrgReporting) -> str:
    return f"{escape(r.name)}: {r.on_time}/{r.due} {pct(r.rate)}"


def _pending(p: Pending) -> str:
    return f"{escape(p.organisation)}: " + ", ".join(f"{escape(n)} ({w})" for n, w in p.people)


def _summary(s: PendingSummary) -> str:
    return "\n".join([s.line(), *(f"{escape(org)}: {n}" for org, n in s.most_behind)])


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def _cut(lines: list[str], limit: int = 2900) -> str:
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _highlight(a: Answer) -> Block:
    """One highlight with its ☆ Star (or ★ Unstar) button: a press runs ``star <id>``."""
    verb, label = ("unstar", "★ Unstar") if a.starred else ("star", "☆ Star")
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _answer(a)},
        "accessory": {
            "type": "button",
            "action_id": COMMAND_BUTTON,
            "text": _plain(label),
            "value": f"{verb} {a.checkin_id}",
        },
    }


def _group(g: ExerciseGroup) -> Block:
    """Answers to one exercise side by side, with a menu to star any of them."""
    lines = [f"*{escape(g.prompt[:150])}*"]
    lines += [
        f"{'★ ' if a.starred else ''}#{a.checkin_id} {escape(a.organisation)}: "
        f"{escape(a.text[:160])}"
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
            "placeholder": _plain("☆ Star an answer"),
            "options": options,
        }
    return block


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adapters.slack", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(FIGURES)
    env.filters.update(FILTERS)
    env.filters.update(
        slack_response=_response,
        slack_measure=_measure,
        slack_answer=_answer,
        slack_highlight=_highlight,
        slack_group=_group,
        slack_reporting=_reporting,
        slack_pending=_pending,
        slack_summary=_summary,
        slack_unreachable=lambda u: escape(unreachable_line(u)),
    )
    return env


def digest_blocks(value: Digest | SharedPost) -> list[Block] | None:
    """The staff digest as blocks; None for the alliance-wide post (it goes out as text)."""
    if not isinstance(value, Digest):
        return None
    rendered = _environment().get_template("digest.blocks.json.j2").render(d=value)
    blocks: list[Block] = json.loads(rendered)
    return blocks
