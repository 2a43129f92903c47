"""Pure translation of Slack payloads (Events API, interactivity, slash commands) into core events.

No network and no bolt: every function takes the decoded JSON (or form) body as a dict and
returns a frozen :mod:`bot.events` value, or None when the payload is not for the core.

Identifiers:
- a sender is ``TEAM:USER`` (the alliance file's Slack account);
- a message is ``CHANNEL:TS`` (``ts`` alone is unique only inside one channel);
- event ids are stored by the core as unique keys, so a replayed payload changes nothing:
  a member's message is ``CHANNEL:TS`` (Slack's retries and an edit's ``previous`` point at the
  same value), an edit is its Events API ``event_id``, a button is ``action:<trigger_id>``, a
  modal is ``view:<view id>``, a slash command ``command:<trigger_id>``, a reaction its Events
  API ``event_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.slack import ids
from adapters.slack.mrkdwn import mentioned, readable
from adapters.slack.mrkdwn import unescape as unescape  # the harness takes it from here
from bot.events import (
    STAR,
    ChoicePicked,
    CommandReceived,
    FormSubmitted,
    MessageReceived,
    Reacted,
)
from bot.ports import COMMAND_BUTTON
from bot.vocabulary import COMMAND_WORDS

PLATFORM = "slack"
ACTION_CHOICE = "alliance_choice"
"""Choice buttons are ``alliance_choice_<n>`` (action ids are unique within a block)."""
ACTION_SELECT = "alliance_choice_select"
ACTION_ANSWER = "alliance_answer"
ACTION_SKIP = "alliance_skip"
MODAL_CALLBACK = "alliance_answer_modal"
ANSWER_BLOCK = "answer"
ANSWER_INPUT = "value"
COMMANDS = tuple(
    ids.COMMAND_PREFIX + word for word in ("checkin", "digest", "campaign", "alliance-help")
)
COMMAND_ACTIONS = re.compile(rf"^{COMMAND_BUTTON}(_\d+)?$")
"""``alliance_command``, and ``alliance_command_<n>`` for the n-th of several in one block."""
BUTTON_COMMANDS = frozenset({"star", "unstar", "share", "unshare"})
"""What a button the core rendered itself (``COMMAND_BUTTON``) may run."""
STAR_REACTIONS = frozenset({"star", "star2", "glowing_star"})
"""Slack's names for ⭐ and 🌟 (skin-tone-free; ``star::skin-tone-2`` does not exist)."""
USER_SUBTYPES = (None, "thread_broadcast", "file_share")
"""Message subtypes that are a person typing (a file's caption too); joins, bot posts and the
like are not."""

Payload = Mapping[str, Any]


def account(team: str, user: str) -> str:
    return f"{team}:{user}"


def split_account(external_id: str) -> tuple[str, str]:
    """``TEAM:USER`` (the alliance file may also write ``TEAM/USER``) -> (team, user)."""
    team, sep, user = external_id.replace("/", ":").partition(":")
    if not sep or not team or not user:
        raise ValueError(f"{external_id!r} is not a Slack TEAM:USER account")
    return team, user


def message_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_ref(ref: str) -> tuple[str, str]:
    """``CHANNEL:TS`` -> (channel, ts)."""
    channel, sep, ts = ref.partition(":")
    if not sep or not channel or not ts:
        raise ValueError(f"{ref!r} is not a Slack message reference (CHANNEL:TS)")
    return channel, ts


def when(ts: object, fallback: datetime) -> datetime:
    """A Slack ``ts`` (``"1700000000.000100"``) or epoch seconds as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(float(str(ts)), UTC)
    except (TypeError, ValueError, OverflowError):
        return fallback


def team_of(body: Payload) -> str | None:
    """The sender's workspace, wherever that kind of payload keeps it (in a Slack Connect
    channel a sender's team is not the workspace the app is installed in)."""
    event = body.get("event")
    if isinstance(event, Mapping):
        team = event.get("user_team") or event.get("team") or body.get("team_id")
    else:
        team = _get(body, "user", "team_id") or body.get("team_id") or _get(body, "team", "id")
    return str(team) if team else None


def _get(body: Payload, *path: str) -> Any:
    node: Any = body
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def mentions(body: Payload) -> tuple[str, ...]:
    """The user ids a message (or an edit's new text) mentions, to look their names up."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return ()
    text = _get(event, "message", "text") if "message" in event else event.get("text")
    return mentioned(text) if isinstance(text, str) else ()


def shared_files(body: Payload) -> int:
    """How many files a member's message carries (a photo or document sent with its caption)."""
    files = _get(body, "event", "files")
    return len(files) if isinstance(files, list) else 0


def message_event(
    body: Payload, now: datetime, names: Mapping[str, str] | None = None
) -> MessageReceived | CommandReceived | None:
    """An Events API ``message`` callback -> a MessageReceived (a command when a DM starts with
    a command word, as on the console), or None when it is not a member writing to the bot:
    the bot's own posts, joins and other subtypes, and channel messages outside a thread.
    The text is read as plain text (:func:`readable`): ``names`` maps mentioned user ids to
    names. A file's caption is its text; the file itself is not passed on, only how many
    there were (the core says it keeps the words only)."""
    event = body.get("event")
    team = team_of(body)
    if not isinstance(event, Mapping) or event.get("type") != "message" or not team:
        return None
    if event.get("subtype") == "message_changed":
        return _edit_event(body, event, team, now, names)
    if event.get("subtype") not in USER_SUBTYPES or event.get("bot_id"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    is_direct = (event.get("channel_type") or ("im" if channel.startswith("D") else "")) == "im"
    thread_ts = event.get("thread_ts")
    thread = message_ref(channel, thread_ts) if thread_ts and thread_ts != ts else None
    if not is_direct and thread is None:
        return None
    text = readable(str(event.get("text") or ""), names)
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "event_id": message_ref(channel, ts),
        "sender": account(team, user),
        "at": when(ts, now),
        "channel": channel,
        "is_direct": is_direct,
    }
    word, _, rest = text.strip().partition(" ")
    # a command word at the top of the DM (in a thread it is an answer)
    if is_direct and thread is None and word.lower().lstrip("/!") in COMMAND_WORDS:
        bare = None if word.startswith(("/", "!")) else text.strip()
        return CommandReceived(
            **base, name=word.lower().lstrip("/!"), args=rest.strip(), typed=bare
        )
    return MessageReceived(**base, text=text, thread=thread, files=shared_files(body))


def _edit_event(
    body: Payload,
    event: Mapping[str, Any],
    team: str,
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> MessageReceived | None:
    """A member edited a message: the core revises the check-in it produced, if any (the
    edited message's ts, or the previous message's when Slack leaves it out of the new one)."""
    new, old = event.get("message"), event.get("previous_message")
    channel = event.get("channel")
    if not isinstance(new, Mapping) or not isinstance(channel, str):
        return None
    before = old if isinstance(old, Mapping) else {}
    user = new.get("user") or before.get("user")
    ts = new.get("ts") or before.get("ts")
    if new.get("bot_id") or not isinstance(user, str) or not isinstance(ts, str):
        return None
    if isinstance(old, Mapping) and old.get("text") == new.get("text"):
        return None  # an unfurl or a reaction count changed, not the words
    thread_ts = new.get("thread_ts") or before.get("thread_ts")
    edited = _get(new, "edited", "ts") or event.get("event_ts") or ""
    return MessageReceived(
        platform=PLATFORM,
        event_id=str(body.get("event_id") or f"edit:{channel}:{ts}:{edited}"),
        sender=account(team, user),
        at=when(edited, now),
        channel=channel,
        is_direct=channel.startswith("D"),
        text=readable(str(new.get("text") or ""), names),
        thread=message_ref(channel, thread_ts) if thread_ts and thread_ts != ts else None,
        edits=message_ref(channel, ts),
    )


def clicked_message(body: Payload) -> tuple[str, str] | None:
    """(channel, ts) of the message whose button was pressed."""
    channel = _get(body, "container", "channel_id") or _get(body, "channel", "id")
    ts = _get(body, "container", "message_ts") or _get(body, "message", "ts")
    return (str(channel), str(ts)) if channel and ts else None


def thread_root(body: Payload) -> str | None:
    """The ts of the thread the pressed message sits in (a reminder is a reply in its prompt's
    thread), or None for a message at the top: answers go to the root, as Slack asks."""
    root = _get(body, "message", "thread_ts") or _get(body, "container", "thread_ts")
    return str(root) if root else None


def _interaction_base(body: Payload, now: datetime, prefix: str, key: object) -> dict[str, Any]:
    team, user = team_of(body), _get(body, "user", "id")
    if not team or not user or not key:
        raise ValueError("an interaction payload without team, user or id")
    return {
        "platform": PLATFORM,
        "event_id": f"{prefix}:{key}",
        "sender": account(team, str(user)),
        "at": now,
    }


def _first_action(body: Payload) -> Mapping[str, Any] | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return None
    return actions[0]


def _action_base(body: Payload, action: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The event fields of a button press, keyed by its trigger (Slack's retries repeat it)."""
    key = body.get("trigger_id") or action.get("action_ts")
    return _interaction_base(body, when(action.get("action_ts"), now), "action", key)


def choice_event(body: Payload, now: datetime) -> ChoicePicked | None:
    """A choice button (or the select menu of a long list) on a prompt message."""
    action, where = _first_action(body), clicked_message(body)
    if action is None or where is None:
        return None
    action_id = str(action.get("action_id", ""))
    if action_id == ACTION_SELECT:
        choice = _get(action, "selected_option", "value")
    elif action_id.startswith(ACTION_CHOICE + "_"):
        choice = action.get("value")
    else:
        return None
    if not isinstance(choice, str):
        return None
    channel, ts = where
    return ChoicePicked(
        **_action_base(body, action, now),
        channel=channel,
        is_direct=channel.startswith("D"),
        message_ref=message_ref(channel, ts),
        choice=choice,
    )


def skip_event(body: Payload, now: datetime) -> CommandReceived | None:
    """“Skip this time”: the core's ``skip`` command, with the prompt it was pressed on."""
    action, where = _first_action(body), clicked_message(body)
    if action is None or where is None:
        return None
    channel, ts = where
    return CommandReceived(
        **_action_base(body, action, now),
        channel=channel,
        is_direct=channel.startswith("D"),
        name="skip",
        thread=message_ref(channel, ts),
    )


def modal_metadata(ref: str, root: str | None) -> str:
    """The answer modal's private_metadata: the prompt's ``CHANNEL:TS`` and its thread root."""
    return f"{ref} {root}" if root else ref


def submitted_answer(body: Payload) -> tuple[str, str, str | None] | None:
    """(message_ref, text, thread root) of an answer modal's submission."""
    view = body.get("view")
    if not isinstance(view, Mapping) or not str(view.get("callback_id")).startswith(MODAL_CALLBACK):
        return None
    meta = view.get("private_metadata")
    value = _get(view, "state", "values", ANSWER_BLOCK, ANSWER_INPUT, "value")
    if not isinstance(meta, str) or ":" not in meta:
        return None
    ref, _, root = meta.partition(" ")
    return ref, value if isinstance(value, str) else "", root or None


def form_event(body: Payload, now: datetime) -> FormSubmitted | None:
    """The answer modal was submitted."""
    found = submitted_answer(body)
    if found is None:
        return None
    ref, text, _ = found
    channel, _ = split_ref(ref)
    base = _interaction_base(body, now, "view", _get(body, "view", "id"))
    return FormSubmitted(
        **base,
        channel=channel,
        is_direct=channel.startswith("D"),
        message_ref=ref,
        values={ANSWER_BLOCK: text},
    )


def command_event(body: Payload, now: datetime) -> CommandReceived | None:
    """A slash command's form body (``/digest last week``) -> ``digest`` with ``last week``."""
    command, user, team = body.get("command"), body.get("user_id"), team_of(body)
    trigger = body.get("trigger_id")
    if not isinstance(command, str) or not user or not team or not trigger:
        return None
    channel = str(body.get("channel_id") or "")
    return CommandReceived(
        platform=PLATFORM,
        event_id=f"command:{trigger}",
        sender=account(team, str(user)),
        at=now,
        channel=channel,
        is_direct=channel.startswith("D"),
        name=command.lstrip("/"),
        args=unescape(str(body.get("text") or "")).strip(),
    )


def home_opened(body: Payload) -> str | None:
    """The account whose App Home tab was opened (the Messages tab is ignored)."""
    event = body.get("event")
    team = team_of(body)
    if not isinstance(event, Mapping) or event.get("type") != "app_home_opened" or not team:
        return None
    if event.get("tab", "home") != "home" or not isinstance(event.get("user"), str):
        return None
    return account(team, event["user"])


def command_button(body: Payload, now: datetime) -> CommandReceived | None:
    """A button or menu the core rendered (a digest's ☆ Star): its value is the command."""
    action = _first_action(body)
    if action is None or not COMMAND_ACTIONS.match(str(action.get("action_id", ""))):
        return None
    value = _get(action, "selected_option", "value") or action.get("value")
    name, _, args = str(value or "").strip().partition(" ")
    if name not in BUTTON_COMMANDS:
        return None
    channel = str(_get(body, "container", "channel_id") or _get(body, "channel", "id") or "")
    return CommandReceived(
        **_action_base(body, action, now),
        channel=channel,
        is_direct=channel.startswith("D"),
        name=name,
        args=args.strip(),
    )


def reaction_event(body: Payload, now: datetime) -> Reacted | None:
    """``reaction_added``/``reaction_removed`` with a star on a message -> Reacted (the
    message is ``CHANNEL:TS``, as the check-in of an answer posted there remembers it)."""
    event, team = body.get("event"), team_of(body)
    if not isinstance(event, Mapping) or not team:
        return None
    kind, item, user = event.get("type"), event.get("item"), event.get("user")
    if kind not in ("reaction_added", "reaction_removed") or not isinstance(user, str):
        return None
    name = str(event.get("reaction") or "").split("::")[0]
    if name not in STAR_REACTIONS or not isinstance(item, Mapping):
        return None
    channel, ts = item.get("channel"), item.get("ts")
    if item.get("type") != "message" or not isinstance(channel, str) or not isinstance(ts, str):
        return None
    stamp = event.get("event_ts")
    return Reacted(
        platform=PLATFORM,
        event_id=str(body.get("event_id") or f"{kind}:{channel}:{ts}:{user}:{name}:{stamp}"),
        sender=account(team, user),
        at=when(stamp, now),
        channel=channel,
        is_direct=channel.startswith("D"),
        message_ref=message_ref(channel, ts),
        key=STAR,
        removed=kind == "reaction_removed",
    )
