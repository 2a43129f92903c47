"""The partnership map's words, through the catalogs like every other sentence, and its
description for screen readers (:func:`alt_text`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import networkx as nx  # type: ignore[import-untyped]

from bot.i18n import Text, _, ngettext, translate
from bot.partners.graph import PROGRESS, EdgeState, name_of

LEGEND = (
    _("Happened"),
    _("Proposed or planned"),
    _("Stalled"),
    _("Member organisation"),
    _("External partner"),
)
NO_CONNECTIONS_YET = _("No connections yet")
LINKED_TO = _("Organisations linked to")
"""The colour bar: how many organisations each member is linked to."""


def legend(locale: str) -> list[str]:
    return [translate(word, locale) for word in LEGEND]


def _in_state(state: EdgeState, n: int) -> Text:
    if state is EdgeState.HAPPENED:
        return ngettext("{n} happened", "{n} happened", n)
    if state is EdgeState.PLANNED:
        return ngettext("{n} planned", "{n} planned", n)
    if state is EdgeState.CONFIRMED:
        return ngettext("{n} confirmed", "{n} confirmed", n)
    if state is EdgeState.STALLED:
        return ngettext("{n} stalled", "{n} stalled", n)
    return ngettext("{n} proposed", "{n} proposed", n)


def _names(graph: nx.MultiGraph, keys: Sequence[str]) -> list[str]:
    return sorted((name_of(graph, k) for k in keys), key=str.casefold)


def pair_states(graph: nx.MultiGraph) -> dict[tuple[str, str], EdgeState]:
    """Each linked pair's most advanced state."""
    pairs: dict[tuple[str, str], EdgeState] = {}
    for a, b, state in graph.edges(data="state"):
        pair = (a, b) if a <= b else (b, a)
        held = pairs.get(pair)
        if held is None or PROGRESS.index(EdgeState(state)) < PROGRESS.index(held):
            pairs[pair] = EdgeState(state)
    return pairs


def alt_text(graph: nx.MultiGraph, locale: str = "en") -> str:
    """One paragraph for screen readers: how many organisations and connections, which is
    the most connected and which members have none."""

    def said(text: Text) -> str:
        return translate(text, locale)

    externals = sum(1 for _n, external in graph.nodes(data="external") if external)
    head = said(ngettext("{n} organisation", "{n} organisations", len(graph)))
    if externals:
        partners = ngettext("{n} external partner", "{n} external partners", externals)
        head += f" ({said(partners)})"
    edges = graph.number_of_edges()
    head += ", " + said(ngettext("{n} connection", "{n} connections", edges))
    states = Counter(EdgeState(s) for _a, _b, s in graph.edges(data="state"))
    if counts := [said(_in_state(s, states[s])) for s in PROGRESS if states[s]]:
        head += f" ({', '.join(counts)})"
    text = head
    linked = {n: len(graph[n]) for n in graph}
    top = max(linked.values(), default=0)
    if top:
        best = _listed(_names(graph, [n for n, c in linked.items() if c == top]), 3, locale)
        most = said(_("most connected: {names} ({count})", names=best, count=top))
        text = said(_("{first}; {then}", first=text, then=most))
    if alone := _names(graph, [n for n, c in linked.items() if c == 0]):
        none = said(_("no connections: {names}", names=_listed(alone, 10, locale)))
        text = said(_("{first}; {then}", first=text, then=none))
    return text + "."


def _listed(names: list[str], most: int, locale: str) -> str:
    shown = ", ".join(names[:most])
    if len(names) <= most:
        return shown
    more = ngettext("and {n} more", "and {n} more", len(names) - most)
    return f"{shown} {translate(more, locale)}"
