"""``digest [period] [organisation]``: which words are the period and which the organisation.

The organisation is written as its slug, its name, or an unambiguous part of either
(“leipzig” for “Stadtbibliothek Leipzig”), at the end; what comes before is the period. Pure:
the command passes the organisations and the period reader in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.domain.errors import UserError
from bot.i18n import Text, _
from bot.text import quote

P = TypeVar("P")
MAX_NAMED = 8
"""Candidates listed when a part of a name fits several organisations."""


@dataclass(frozen=True)
class Org:
    slug: str
    name: str


def matching(orgs: Sequence[Org], text: str) -> list[Org]:
    """The organisations ``text`` names: exactly (slug or name, any case), else by the start
    of their slug, their name or a word of their name."""
    wanted = text.strip().casefold()
    if not wanted:
        return []
    exact = [o for o in orgs if wanted in (o.slug.casefold(), o.name.casefold())]
    if exact:
        return exact
    return [
        o
        for o in orgs
        if o.slug.casefold().startswith(wanted)
        or o.name.casefold().startswith(wanted)
        or any(word.startswith(wanted) for word in o.name.casefold().split())
        or any(part.startswith(wanted) for part in o.slug.casefold().split("-"))
    ]


def split_filter(
    words: Sequence[str], orgs: Sequence[Org], period: Callable[[str], P]
) -> tuple[P, Org | None]:
    """(period, organisation) from the command's words. All of them when they read as a
    period; else the longest tail of words that names organisations while the words before it
    read as a period; several organisations for it is a question back, listing them. Nothing
    fits: the period's own error (what can be written), unless the words before the last one
    read as a period: then the last word was meant as an organisation, and the error says so."""
    try:  # “digest last week”: all the words are the period (an organisation named “Week…”
        return period(" ".join(words)), None  # needs more of its name, or its slug)
    except UserError as error:
        unread, unread_whole = error, True
    for cut in range(len(words)):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        found = matching(orgs, tail)
        if not found:
            continue
        try:
            read = period(head)
        except UserError as error:  # an organisation after a period that cannot be read
            unread = error if unread_whole else unread
            unread_whole = False
            continue
        if len(found) > 1:
            listed = "; ".join(f"{o.name} ({o.slug})" for o in found[:MAX_NAMED])
            names: Text | str = listed
            if len(found) > MAX_NAMED:
                names = _("{names}; and {count} more", names=listed, count=len(found) - MAX_NAMED)
            raise UserError(
                _(
                    "“{text}” fits several organisations: {names}. Write more of the name, or "
                    "its slug.",
                    text=quote(tail),
                    names=names,
                )
            )
        return read, found[0]
    if not unread_whole:
        raise unread from None
    try:
        period(" ".join(words[:-1]))
    except UserError:
        raise unread from None
    if len(words) == 1:
        raise UserError(
            _(
                "No organisation is called “{text}”, either. {unread}",
                text=quote(words[0]),
                unread=unread.message,
            )
        )
    raise UserError(
        _(
            "No organisation is called “{text}”. Write its slug, its name or a part of it "
            "(alliance-bot alliance show lists them), after the period.",
            text=quote(words[-1]),
        )
    ) from None
