"""Digest rendering through Jinja2 templates per platform; the numbers come from one value.

``text`` for the console (and as every platform's plain fallback), ``html`` for Matrix
(member text escaped), ``blocks`` for Slack (Block Kit JSON, member text escaped for mrkdwn).
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.digest.compute import QUIET_PERIODS
from bot.digest.model import (
    Answer,
    Digest,
    ExerciseGroup,
    MeasureFigure,
    OrgReporting,
    OrgResponse,
    SharedPost,
)
from bot.ports import COMMAND_BUTTON


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _change(value: float | None) -> str:
    if value is None:
        return ""
    points = round(value * 100)
    return "±0 pts" if points == 0 else f"{points:+d} pts"


def _num(value: float | None) -> str:
    if value is None:
        return "no figure"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def slack_escape(text: str) -> str:
    """Member text in mrkdwn: & < > escaped, so <!channel> and <@U…> never ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_response(r: OrgResponse) -> str:
    quiet = " *quiet*" if r.quiet else ""
    return (
        f"{slack_escape(r.name)}: {r.answered}/{r.delivered} {_pct(r.rate)} "
        f"{_change(r.change)}{quiet}"
    ).rstrip()


def _slack_measure(ms: MeasureFigure) -> str:
    target = "" if ms.target is None else f" of {_num(ms.target)}"
    return f"{slack_escape(ms.name)}: {_num(ms.total)} {slack_escape(ms.unit)}{target}"


def _slack_answer(a: Answer) -> str:
    return f"#{a.checkin_id} {slack_escape(a.organisation)}: {slack_escape(a.text[:200])}"


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def _slack_highlight(a: Answer) -> dict[str, Any]:
    """One highlight with its ☆ Star (or ★ Unstar) button: a press runs ``star <id>``."""
    verb, label = ("unstar", "★ Unstar") if a.starred else ("star", "☆ Star")
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _slack_answer(a)},
        "accessory": {
            "type": "button",
            "action_id": COMMAND_BUTTON,
            "text": _plain(label),
            "value": f"{verb} {a.checkin_id}",
        },
    }


def _slack_group(g: ExerciseGroup) -> dict[str, Any]:
    """Answers to one exercise side by side, with a menu to star any of them."""
    lines = [f"*{slack_escape(g.prompt[:150])}*"]
    lines += [
        f"{'★ ' if a.starred else ''}#{a.checkin_id} {slack_escape(a.organisation)}: "
        f"{slack_escape(a.text[:160])}"
        for a in g.answers
    ]
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(lines)}}
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


def _cut(lines: list[str], limit: int = 2900) -> str:
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_reporting(r: OrgReporting) -> str:
    return f"{slack_escape(r.name)}: {r.on_time}/{r.due} {_pct(r.rate)}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.digest", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(pct=_pct, num=_num, change=_change, quiet_periods=QUIET_PERIODS)
    env.filters.update(
        join_person=lambda person: f"{person[0]} ({person[1]})",
        slack_response=_slack_response,
        slack_measure=_slack_measure,
        slack_answer=_slack_answer,
        slack_highlight=_slack_highlight,
        slack_group=_slack_group,
        slack_reporting=_slack_reporting,
        slack_pending=lambda p: (
            f"{slack_escape(p.organisation)}: "
            + ", ".join(f"{slack_escape(n)} ({w})" for n, w in p.people)
        ),
    )
    return env


class DigestRenderer:
    """Holds the template environment (built once, passed where needed; no module state)."""

    def __init__(self) -> None:
        self.env = _environment()

    def text(self, digest: Digest) -> str:
        return self.env.get_template("digest.txt.j2").render(d=digest).strip() + "\n"

    def html(self, digest: Digest) -> str:
        return self.env.get_template("digest.html.j2").render(d=digest).strip()

    def blocks(self, digest: Digest) -> list[dict[str, Any]]:
        rendered = self.env.get_template("digest.blocks.json.j2").render(d=digest)
        blocks: list[dict[str, Any]] = json.loads(rendered)
        return blocks

    def formats(self, digest: Digest) -> dict[str, str]:
        return {"html": self.html(digest), "slack_blocks": json.dumps(self.blocks(digest))}

    def shared_text(self, post: SharedPost) -> str:
        return self.env.get_template("shared.txt.j2").render(p=post).strip() + "\n"

    def shared_html(self, post: SharedPost) -> str:
        return self.env.get_template("shared.html.j2").render(p=post).strip()


def render_text(digest: Digest) -> str:
    return DigestRenderer().text(digest)
