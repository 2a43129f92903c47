"""What in a direct chat is not an answer: small talk, and a command with a typo.

Pure functions: the service asks them before it takes plain text as the answer to the
question waiting for the member (``bot/service.py``).
"""

from __future__ import annotations

import re
import unicodedata

from bot.events import CommandReceived, MessageReceived
from bot.vocabulary import COMMAND_WORDS, TAKES_NOTHING

SMALL_TALK = frozenset(
    {
        # en
        "thanks", "thank you", "thank you very much", "thanks a lot", "many thanks", "thx",
        "ty", "ok", "okay", "k", "cool", "great", "nice", "perfect", "got it", "noted",
        "cheers", "bye", "hi", "hello", "hey", "good morning", "yay", "lol", "sure",
        # fr
        "merci", "merci beaucoup", "merci bien", "d'accord", "daccord", "super", "parfait",
        "bonjour", "salut", "au revoir", "bonne journée", "top", "génial",
        # es
        "gracias", "muchas gracias", "vale", "genial", "perfecto", "hola", "adiós", "buenos días",
        # de
        "danke", "danke schön", "vielen dank", "alles klar", "prima", "hallo", "tschüss",
        # pt
        "obrigado", "obrigada", "valeu", "beleza", "olá",
    }
)  # fmt: skip
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def small_talk(text: str) -> bool:
    """“thanks!”, “Merci !”, “ok 👍”, “🙏”: a courtesy or an emoji, never an answer."""
    words = text.strip()
    if not words:
        return False
    if all(_symbol(ch) for ch in words):  # only emoji, punctuation and spaces
        return True
    core = " ".join(_EDGES.sub("", w) for w in words.casefold().split())
    core = " ".join(w for w in core.split() if w)
    return core in SMALL_TALK


def _symbol(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in ("S", "P") or ch in "\u200d\ufe0f"


def mistyped_command(text: str) -> str | None:
    """The command word ``text`` begins with a typo of (``chekin`` → ``checkin``), or None.

    One letter dropped, added, changed, or two swapped, inside a word of four letters or more,
    keeping its first letter. A word that only extends a command (“shared”, “started”,
    “helped”) or cuts it short is an ordinary word, not a typo. A four-letter command is one
    letter from many ordinary words (“bank”, “ship”, “held”), so its typo counts only alone:
    “bakc” is ``back``, “Bank holidays slowed us” an answer.
    """
    words = text.split()
    head = words[0].casefold().lstrip("/!") if words else ""
    if len(head) < 4 or head in COMMAND_WORDS or not head.isalpha():
        return None
    for word in sorted(COMMAND_WORDS):
        if len(word) < 4 or word[0] != head[0] or (len(word) == 4 and len(words) > 1):
            continue
        if head.startswith(word) or word.startswith(head):
            continue
        if _one_edit(head, word):
            return word
    return None


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance exactly 1 (a swap of neighbours counts as one)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]


def talk_after_all(event: CommandReceived) -> MessageReceived | None:
    """A bare word that takes nothing, followed by more words, in a direct message: the
    member is talking (“Skip the small talk: …”), not giving that command."""
    if not (event.typed and event.args and event.name in TAKES_NOTHING):
        return None
    return MessageReceived(
        platform=event.platform,
        event_id=event.event_id,
        sender=event.sender,
        at=event.at,
        channel=event.channel,
        is_direct=True,
        text=event.typed,
    )
