"""One command vocabulary: every word the core runs is a command on every platform, and a word
it does not run is an answer (issue 14: ``installs`` was a command on Slack only)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.console.translate import parse_line
from adapters.slack.translate import message_event as slack_message
from bot.commands import _COMMANDS
from bot.events import CommandReceived, MessageReceived
from bot.vocabulary import COMMAND_WORDS
from tests.harnesses.slack import message_event

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_the_core_runs_exactly_the_vocabulary() -> None:
    assert set(_COMMANDS) == COMMAND_WORDS


@pytest.mark.parametrize("word", sorted(COMMAND_WORDS))
def test_each_word_is_a_command_on_the_console_and_in_a_slack_dm(word: str) -> None:
    typed = parse_line(f"{word} 12", "ena", NOW)
    assert isinstance(typed, CommandReceived) and (typed.name, typed.args) == (word, "12")
    body = {"team_id": "T0TEST", "event": message_event("U0ENA", "D0ENA", f"{word} 12")["event"]}
    event = slack_message(body, NOW)
    assert isinstance(event, CommandReceived) and (event.name, event.args) == (word, "12")


@pytest.mark.parametrize("text", ["chekin Our barrier is funding", "installed 3 sessions"])
def test_other_words_are_answers(text: str) -> None:
    assert isinstance(parse_line(text, "ena", NOW), MessageReceived)
    body = {"team_id": "T0TEST", "event": message_event("U0ENA", "D0ENA", text)["event"]}
    assert isinstance(slack_message(body, NOW), MessageReceived)
