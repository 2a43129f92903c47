"""The App Home tab, in the member's language: the questions waiting for them (with Answer and
Skip buttons when the question was asked here, on Slack), their own recent answers, and what
comes next. Pure rendering of the core's ``HomeView``, and reading back its buttons.

A button's value carries the prompt's ``CHANNEL:TS`` (the message that asked it): an answer
given here is the same as one given on that message, and its thank-you goes in its thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from babel.dates import format_date, format_skeleton, format_time

from adapters.i18n import _
from adapters.slack import translate as tr
from adapters.slack.mrkdwn import escape
from adapters.slack.translate import MODAL_CALLBACK, PLATFORM
from bot.events import CommandReceived
from bot.home import Answered, HomeView, Waiting
from bot.i18n import Reader, babel_locale

HOME_ANSWER = "alliance_home_answer"
HOME_SKIP = "alliance_home_skip"
HOME_MODAL = MODAL_CALLBACK + "_home"
"""The answer form opened from the App Home: answered like any, then the Home is redrawn."""
MAX_BLOCKS = 100  # a Home tab takes up to 100 blocks
Block = dict[str, Any]


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit) or " ", "emoji": True}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 2900)}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, 2900)}]}


def _heading(text: str) -> Block:
    return {"type": "header", "text": _plain(text, 150)}


def home_view(home: HomeView | None) -> dict[str, Any]:
    """The App Home tab for ``home``; a polite explanation for an account nobody knows."""
    if home is None:
        return {"type": "home", "blocks": [_section(escape(str(UNKNOWN)))]}
    say = Reader(home.locale)
    who = f"{home.name} · {home.organisation}" if home.organisation else home.name
    blocks: list[Block] = [
        _context(f"*{escape(who)}*"),
        _heading(say(_("Questions waiting for you"))),
    ]
    if home.waiting:
        for n, waiting in enumerate(home.waiting):
            blocks += _waiting(n, waiting, say, home.locale)
    else:
        blocks.append(_section(escape(say(_("Nothing is waiting for you. You are up to date!")))))
    blocks += [{"type": "divider"}, _heading(say(_("Your recent answers")))]
    if home.recent:
        blocks += [_answered(a, say, home.locale) for a in home.recent]
    else:
        blocks.append(_section(escape(say(_("No answers yet: they will show here.")))))
    blocks += [{"type": "divider"}, _heading(say(_("Coming next")))]
    lines = [
        say(_("{campaign}: {when}", campaign=name, when=_when(at, home.locale, say)))
        for name, at in home.upcoming
    ]
    blocks.append(_section(escape("\n".join(lines) or say(_("Nothing is scheduled for you.")))))
    blocks.append(_context(escape(say(TIP))))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


UNKNOWN = _(
    "alliance-bot does not know your Slack account yet, so there is nothing to show here. "
    "Ask your alliance's backbone team to add it to the alliance file: your questions and "
    "answers will then show here."
)
TIP = _(
    "Type {checkin} in any channel to answer the question waiting for you, or {help} to see "
    "every command.",
    checkin=tr.COMMANDS[0],
    help=tr.COMMANDS[-1],
)


def _waiting(n: int, waiting: Waiting, say: Reader, locale: str) -> list[Block]:
    text = waiting.question
    if waiting.choices:
        text += "\n" + say(_("Options: {options}", options=" · ".join(waiting.choices)))
    blocks = [_section(escape(text), f"home_q_{n}")]
    if waiting.asked_at is None:
        note = say(_("Comes next, once you have answered or skipped the question before it."))
    else:
        day = format_date(waiting.asked_at.date(), "medium", locale=babel_locale(locale))
        note = say(_("Asked on {day}", day=day))
    if waiting.campaign:
        note = f"{waiting.campaign} · {note}"
    blocks.append(_context(escape(note)))
    if waiting.platform == PLATFORM and waiting.message_ref:
        blocks.append(_buttons(n, waiting, say, locale))
    elif waiting.asked_at is not None:
        blocks.append(_context(escape(say(_("Answer it where it was asked.")))))
    return blocks


def _buttons(n: int, waiting: Waiting, say: Reader, locale: str) -> Block:
    ref = waiting.message_ref or ""
    return {
        "type": "actions",
        "block_id": f"home_a_{n}",
        "elements": [
            {
                "type": "button",
                "action_id": HOME_ANSWER,
                "style": "primary",
                "text": _plain(say(_("Answer"))),
                "value": f"{waiting.answer_kind or 'text'} {locale} {ref}"[:2000],
            },
            {
                "type": "button",
                "action_id": HOME_SKIP,
                "text": _plain(say(_("Skip this time"))),
                "value": ref[:2000],
            },
        ],
    }


def _answered(answer: Answered, say: Reader, locale: str) -> Block:
    day = format_date(answer.answered_on, "medium", locale=babel_locale(locale))
    quoted = "\n".join(f"> {escape(line)}" for line in answer.answer.splitlines() or [""])
    when = say(_("{day}, for {period}", day=day, period=answer.period))
    return _section(f"*{escape(answer.question)}*\n{quoted}\n_{escape(when)}_")


def _when(at: datetime, locale: str, say: Reader) -> str:
    where = babel_locale(locale)
    day = format_skeleton("MMMEd", at, locale=where, fuzzy=True)
    time = format_time(at, "short", locale=where)
    return say(_("{day} at {time} ({zone})", day=day, time=time, zone=at.tzname() or "UTC"))


# --- the buttons, pressed -------------------------------------------------------------------


def _action(body: Mapping[str, Any], action_id: str) -> Mapping[str, Any] | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return None
    return actions[0] if actions[0].get("action_id") == action_id else None


def pressed_answer(body: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """(prompt ref, answer kind, locale, question as shown) of an App Home Answer button."""
    action = _action(body, HOME_ANSWER)
    if action is None:
        return None
    kind, locale, ref = (str(action.get("value") or "").split(" ", 2) + ["", ""])[:3]
    if ":" not in ref:
        return None
    wanted = str(action.get("block_id") or "").replace("home_a_", "home_q_")
    view = body.get("view")
    blocks = view.get("blocks") if isinstance(view, Mapping) else None
    question = ""
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, Mapping) and block.get("block_id") == wanted:
            text = block.get("text")
            question = str(text.get("text") or "") if isinstance(text, Mapping) else ""
    return ref, kind or "text", locale or "en", question


def pressed_skip(body: Mapping[str, Any], now: datetime) -> CommandReceived | None:
    """An App Home Skip button: ``skip`` on the prompt it names (only if it is the presser's
    own and still open: the core checks)."""
    action, user, team = _action(body, HOME_SKIP), body.get("user"), tr.team_of(body)
    ref = str(action.get("value") or "") if action else ""
    if action is None or ":" not in ref or not isinstance(user, Mapping) or not team:
        return None
    key = body.get("trigger_id") or action.get("action_ts")
    if not user.get("id") or not key:
        return None
    channel = ref.partition(":")[0]
    return CommandReceived(
        platform=PLATFORM,
        event_id=f"action:{key}",
        sender=tr.account(team, str(user["id"])),
        at=tr.when(action.get("action_ts"), now),
        channel=channel,
        is_direct=channel.startswith("D"),
        name="skip",
        thread=ref,
    )
