"""The partnership map: who works with whom, as a graph, a picture, a description and files.

Backbone staff see which member organisations already cooperate, with whom outside the
alliance, which connections stalled and which members have none yet. Everything here is pure:
the caller loads the nodes and edges and sends the files.

The graph is a :class:`networkx.MultiGraph`, undirected (a connection binds both
organisations) and with one edge per record, because the same two organisations can be
linked twice (a connection proposed in March, a partnership in June) and the GraphML export
should keep both. Counts of connections count records; "how connected" an organisation is
counts the distinct organisations it is linked to; the picture draws one line per pair, in
the most advanced state any of its records reached.

The picture is :mod:`bot.partners.draw`'s, its words :mod:`bot.partners.words`'.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import networkx as nx  # type: ignore[import-untyped]

from bot.partners.names import normalise

if TYPE_CHECKING:
    pass


class EdgeState(StrEnum):
    PROPOSED = "proposed"
    """Found in an answer, not yet confirmed by the member."""
    CONFIRMED = "confirmed"
    """The member confirmed the match."""
    HAPPENED = "happened"
    PLANNED = "planned"
    STALLED = "stalled"
    DECLINED = "declined"
    """The match was wrong: left out of the map."""


WAITING = frozenset({EdgeState.PROPOSED, EdgeState.CONFIRMED, EdgeState.PLANNED})
PROGRESS = (
    EdgeState.HAPPENED,
    EdgeState.PLANNED,
    EdgeState.CONFIRMED,
    EdgeState.PROPOSED,
    EdgeState.STALLED,
)
"""The states, most advanced first: the order of counts, and which state a pair is drawn in."""
CSV_COLUMNS = ("from", "from_name", "to", "to_name", "kind", "state", "date", "checkin")
EXTERNAL_PREFIX = "ext:"
SEED = 20240611
"""The layout's seed: the same map always looks the same."""
QUIET = timedelta(days=42)
"""How long a proposed, confirmed or planned connection may wait before it counts as stalled."""


@dataclass(frozen=True)
class Node:
    key: str
    """The organisation's slug, or ``ext:<normalised name>`` for an external partner."""
    name: str
    external: bool


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str
    """``connection`` (two organisations could cooperate) or ``partner``."""
    state: EdgeState
    on: date
    checkin: int | None
    """The check-in whose answer named it, if any."""


def external_key(name: str) -> str:
    """The node key of an external partner: names written alike share a node."""
    return EXTERNAL_PREFIX + normalise(name)


def build(nodes: Sequence[Node], edges: Sequence[Edge]) -> nx.MultiGraph:
    """The map: every member (unconnected ones too), every edge but declined ones and loops,
    and the external partners those edges reach.

    Nodes carry ``name`` and ``external``; edges carry ``from``, ``to``, ``kind``, ``state``
    (a plain string), ``date`` (ISO) and ``checkin`` when known. An edge to a key missing from
    ``nodes`` adds a node named after its key.
    """
    graph = nx.MultiGraph()
    for node in nodes:
        graph.add_node(node.key, name=node.name, external=node.external)
    for edge in edges:
        if edge.state == EdgeState.DECLINED or edge.source == edge.target:
            continue
        for key in (edge.source, edge.target):
            if key not in graph:
                external = key.startswith(EXTERNAL_PREFIX)
                graph.add_node(key, name=key.removeprefix(EXTERNAL_PREFIX), external=external)
        data: dict[str, Any] = {
            "from": edge.source,
            "to": edge.target,
            "kind": edge.kind,
            "state": str(edge.state),
            "date": edge.on.isoformat(),
        }
        if edge.checkin is not None:
            data["checkin"] = edge.checkin
        graph.add_edge(edge.source, edge.target, **data)
    graph.remove_nodes_from([n for n, ext in graph.nodes(data="external") if ext and not graph[n]])
    return graph


def name_of(graph: nx.MultiGraph, key: str) -> str:
    return str(graph.nodes[key]["name"])


def unconnected(graph: nx.MultiGraph, members: Sequence[str]) -> list[str]:
    """The member organisations, in the order given, with no edge on the map."""
    return [key for key in dict.fromkeys(members) if key not in graph or graph.degree(key) == 0]


def stalled(
    edges: Sequence[Edge], *, today: date | None = None, quiet: timedelta = QUIET
) -> list[Edge]:
    """The connections to nudge, oldest first: each pair's latest record (by date, then
    check-in) when it is stalled or, given ``today``, still proposed, confirmed or planned
    ``quiet`` after its date. A pair whose latest record was declined is not a connection."""
    latest: dict[tuple[str, str, str], Edge] = {}
    for edge in edges:
        a, b = sorted((edge.source, edge.target))
        pair = (a, b, edge.kind)
        held = latest.get(pair)
        if held is None or (edge.on, edge.checkin or 0) >= (held.on, held.checkin or 0):
            latest[pair] = edge
    late = None if today is None else today - quiet
    found = [
        e
        for e in latest.values()
        if e.state == EdgeState.STALLED
        or (late is not None and e.state in WAITING and e.on <= late)
    ]
    return sorted(found, key=lambda e: (e.on, e.source, e.target))


def to_csv(edges: Sequence[Edge], nodes: Sequence[Node], *, declined: bool = False) -> str:
    """The edges as CSV text with :data:`CSV_COLUMNS`, by date then names; declined edges
    only when asked. Encode it as ``utf-8-sig`` for Excel, as the digest exports do."""
    names = {node.key: node.name for node in nodes}
    rows = [
        (e.source, names.get(e.source, e.source), e.target, names.get(e.target, e.target), e)
        for e in edges
        if declined or e.state != EdgeState.DECLINED
    ]
    rows.sort(key=lambda r: (r[4].on, r[1].casefold(), r[3].casefold()))
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for source, source_name, target, target_name, e in rows:
        checkin = "" if e.checkin is None else e.checkin
        writer.writerow(
            [source, source_name, target, target_name, e.kind, str(e.state), e.on, checkin]
        )
    return out.getvalue()


def to_graphml(graph: nx.MultiGraph) -> bytes:
    """The map as GraphML (UTF-8) for Gephi, yEd or Cytoscape; ``networkx.read_graphml``
    reads it back with the same attributes."""
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue()
