"""The one command vocabulary: the words that start a command, whatever the platform.

Adapters read it to tell a command from an answer (the console and a Slack DM take the bare
word; Matrix and Slack's slash commands take it after their prefix). ``bot.commands`` runs
exactly these words: a test holds the two together.
"""

from __future__ import annotations

COMMAND_WORDS = frozenset(
    {
        "help",
        "alliance-help",
        "start",
        "checkin",
        "skip",
        "away",
        "back",
        "mydata",
        "digest",
        "highlights",
        "share",
        "unshare",
        "star",
        "unstar",
        "campaign",
        "audit",
        "installs",
        "link",
        "partners",
        "agenda",
        "decision",
    }
)

TAKES_NOTHING = frozenset({"help", "alliance-help", "start", "back", "skip"})
"""Words that take nothing after them: typed bare at the start of a longer direct message
(“Back to basics was our barrier”), they begin an answer, not a command."""
