"""The partnership map's words in the reader's language, and its description for screen
readers (:func:`alt_text`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import networkx as nx  # type: ignore[import-untyped]

from bot.partners.graph import PROGRESS, EdgeState, name_of


@dataclass(frozen=True)
class MapWords:
    """The map's words in one language, kept here until they move to gettext."""

    legend: tuple[str, str, str, str, str]
    """Happened, proposed or planned, stalled, member organisation, external partner."""
    no_connections_yet: str
    connected_to: str
    """The colour bar: how many organisations each member is linked to."""
    organisation: tuple[str, str]
    """Singular and plural, as all the pairs below."""
    partner: tuple[str, str]
    connection: tuple[str, str]
    states: tuple[tuple[str, str], ...]
    """Counted connections in each state, in the order of :data:`PROGRESS`."""
    most: str
    none: str
    more: str
    colon: str = ": "
    semicolon: str = "; "


# fmt: off
WORDS: Mapping[str, MapWords] = MappingProxyType({
    "en": MapWords(
        ("Happened", "Proposed or planned", "Stalled", "Member organisation",
         "External partner"),
        "No connections yet", "Organisations linked to",
        ("organisation", "organisations"), ("external partner", "external partners"),
        ("connection", "connections"), tuple((s.value, s.value) for s in PROGRESS),
        "most connected", "no connections", "and {n} more",
    ),
    "fr": MapWords(
        ("Réalisé", "Proposé ou prévu", "Au point mort", "Organisation membre",
         "Partenaire extérieur"),
        "Pas encore de lien", "Organisations reliées",
        ("organisation", "organisations"), ("partenaire extérieur", "partenaires extérieurs"),
        ("lien", "liens"),
        (("réalisé", "réalisés"), ("prévu", "prévus"), ("confirmé", "confirmés"),
         ("proposé", "proposés"), ("au point mort", "au point mort")),
        "le plus de liens", "sans lien", "et {n} autres", colon="\u00a0: ", semicolon="\u202f; ",
    ),
    "es": MapWords(
        ("Realizada", "Propuesta o prevista", "Estancada", "Organización miembro",
         "Socio externo"),
        "Todavía no hay conexiones", "Organizaciones conectadas",
        ("organización", "organizaciones"), ("socio externo", "socios externos"),
        ("conexión", "conexiones"),
        (("realizada", "realizadas"), ("prevista", "previstas"), ("confirmada", "confirmadas"),
         ("propuesta", "propuestas"), ("estancada", "estancadas")),
        "más conexiones", "sin conexiones", "y {n} más",
    ),
})
# fmt: on


def words_for(locale: str) -> MapWords:
    """The words for ``locale`` (``fr``, ``fr_FR``, ``es-419``…), English when unknown."""
    return WORDS.get(locale.replace("-", "_").split("_")[0].lower(), WORDS["en"])


def _count(n: int, forms: tuple[str, str]) -> str:
    return f"{n} {forms[0] if n == 1 else forms[1]}"


def _names(graph: nx.MultiGraph, keys: Sequence[str]) -> list[str]:
    return sorted((name_of(graph, k) for k in keys), key=str.casefold)


def _pair_states(graph: nx.MultiGraph) -> dict[tuple[str, str], EdgeState]:
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
    w = words_for(locale)
    externals = sum(1 for _, external in graph.nodes(data="external") if external)
    head = _count(len(graph), w.organisation)
    if externals:
        head += f" ({_count(externals, w.partner)})"
    head += ", " + _count(graph.number_of_edges(), w.connection)
    states = Counter(EdgeState(s) for _, _, s in graph.edges(data="state"))
    pairs = zip(PROGRESS, w.states, strict=True)
    if counts := [_count(states[s], forms) for s, forms in pairs if states[s]]:
        head += f" ({', '.join(counts)})"
    parts = [head]
    linked = {n: len(graph[n]) for n in graph}
    top = max(linked.values(), default=0)
    if top:
        best = _listed(_names(graph, [n for n, c in linked.items() if c == top]), 3, w)
        parts.append(f"{w.most}{w.colon}{best} ({top})")
    if alone := _names(graph, [n for n, c in linked.items() if c == 0]):
        parts.append(f"{w.none}{w.colon}{_listed(alone, 10, w)}")
    return w.semicolon.join(parts) + "."


def _listed(names: list[str], most: int, w: MapWords) -> str:
    shown = ", ".join(names[:most])
    return shown + " " + w.more.format(n=len(names) - most) if len(names) > most else shown
