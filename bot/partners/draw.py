"""The partnership map as a picture: members coloured by how connected they are, external
partners on an outer ring, line style by state.

matplotlib's :class:`~matplotlib.figure.Figure` with the Agg canvas (no pyplot, no global
state), so it can be drawn in a worker thread.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import networkx as nx  # type: ignore[import-untyped]

from bot.i18n import translate
from bot.partners.graph import SEED, EdgeState, name_of
from bot.partners.words import LINKED_TO, NO_CONNECTIONS_YET, legend, pair_states

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


CROWD = 15
LABELLED = 40
"""The most linked organisations labelled on the map (the files name them all)."""
RING = 1.45
"""The radius of the external partners' ring (members fit in the unit circle)."""


def layout(graph: nx.MultiGraph) -> dict[str, tuple[float, float]]:
    """Where each node goes: linked members by a seeded spring layout within the unit circle,
    external partners on a ring around them, each near the members it works with, and
    members with no connection in columns on the left, by name."""
    linked = nx.Graph()
    linked.add_nodes_from(sorted(n for n in graph if graph.degree(n)))
    linked.add_edges_from(sorted((a, b) if a <= b else (b, a) for a, b in graph.edges()))
    spring: dict[str, Any] = {n: (0.0, 0.0) for n in linked}
    if len(linked) > 1:
        spring = nx.spring_layout(linked, seed=SEED, k=2.5 / math.sqrt(len(linked)))
    members = [n for n in linked if not graph.nodes[n]["external"]] or list(linked)
    cx = sum(float(spring[n][0]) for n in members) / max(len(members), 1)
    cy = sum(float(spring[n][1]) for n in members) / max(len(members), 1)
    offsets = {n: (float(x) - cx, float(y) - cy) for n, (x, y) in spring.items()}
    positions = _disc({n: offsets[n] for n in members if not graph.nodes[n]["external"]})
    outside = [n for n in linked if graph.nodes[n]["external"]]
    angles = _spread([math.atan2(offsets[n][1], offsets[n][0]) for n in outside])
    for key, angle in zip(outside, angles, strict=True):
        positions[key] = (RING * math.cos(angle), RING * math.sin(angle))
    alone = [n for n in graph if not graph.degree(n) and not graph.nodes[n]["external"]]
    per_column = max(10, math.ceil(len(alone) / 4))
    for i, key in enumerate(sorted(alone, key=lambda n: name_of(graph, n).casefold())):
        column, row = divmod(i, per_column)
        positions[key] = (-RING - 1.0 - 0.8 * column, 1.3 - row * 2.6 / per_column)
    return positions


def _disc(points: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """``points`` scaled into the unit circle; past :data:`CROWD` points, their distances
    from the middle evened out too (a spring layout packs the middle)."""
    radius = max([math.hypot(x, y) for x, y in points.values()] + [1e-9])
    scaled = {n: (x / radius, y / radius) for n, (x, y) in points.items()}
    if len(scaled) <= CROWD:
        return scaled
    by_distance = sorted(scaled, key=lambda n: (math.hypot(*scaled[n]), n))
    for rank, n in enumerate(by_distance):
        x, y = scaled[n]
        factor = math.sqrt((rank + 0.5) / len(scaled)) / max(math.hypot(x, y), 1e-9)
        scaled[n] = (x * factor, y * factor)
    return scaled


def _spread(angles: list[float]) -> list[float]:
    """``angles`` nudged apart (keeping their order round the circle) so that labels on the
    ring do not overlap; evenly spaced when they cannot all fit."""
    if not angles:
        return []
    gap = min(2 * math.pi / len(angles), 0.4)
    order = sorted(range(len(angles)), key=lambda i: angles[i])
    placed = [angles[order[0]]]
    for i in order[1:]:
        placed.append(max(angles[i], placed[-1] + gap))
    if placed[-1] - placed[0] > 2 * math.pi - gap:
        placed = [placed[0] + k * 2 * math.pi / len(angles) for k in range(len(angles))]
    result = [0.0] * len(angles)
    for i, angle in zip(order, placed, strict=True):
        result[i] = angle
    return result


def label(name: str, width: int = 18) -> str:
    """A name on at most two short lines, shortened with "…"."""
    return "\n".join(textwrap.wrap(name, width, max_lines=2, placeholder="…")) or name[:width]


LINES: Mapping[str, tuple[str, Any, float]] = MappingProxyType(
    {
        "happened": ("#333333", "solid", 2.2),
        "waiting": ("#0072B2", (0, (5, 3)), 1.6),
        "stalled": ("#D55E00", (0, (1, 2)), 2.4),
    }
)
"""Colour, dash and width of each kind of line (Okabe–Ito colours, told apart by dash too)."""
EXTERNAL_FILL, EXTERNAL_EDGE = "#BDBDBD", "#555555"


def _line(state: EdgeState) -> str:
    return {EdgeState.HAPPENED: "happened", EdgeState.STALLED: "stalled"}.get(state, "waiting")


def figure(graph: nx.MultiGraph, *, title: str, locale: str = "en") -> Figure:
    """The map as a matplotlib figure, or a "No connections yet" panel without edges."""
    from matplotlib import colormaps  # a second to import: only once a map is drawn
    from matplotlib.figure import Figure

    empty = graph.number_of_edges() == 0
    fig = Figure(figsize=(8, 4) if empty else (12, 9), dpi=100, layout="constrained")
    fig.suptitle(title, fontsize=14)
    axes = fig.add_subplot(1, 1, 1)
    axes.set_axis_off()
    if empty:
        words = translate(NO_CONNECTIONS_YET, locale)
        axes.text(0.5, 0.5, words, ha="center", va="center", fontsize=16,
                  color="#6B6B6B", transform=axes.transAxes)  # fmt: skip
        return fig
    positions = layout(graph)
    _lines(axes, graph, positions)
    linked = {n: len(graph[n]) for n in graph}
    members = sorted(n for n in positions if not graph.nodes[n]["external"])
    externals = sorted(n for n in positions if graph.nodes[n]["external"])
    small = len(positions) > LABELLED
    palette = colormaps["viridis"]
    top = max([linked[n] for n in members] + [1])
    dot: dict[str, Any] = {"s": 120 if small else 240, "edgecolors": "black", "zorder": 3}
    if members:
        xs, ys = zip(*(positions[n] for n in members), strict=True)
        colours = [linked[n] for n in members]
        dots = axes.scatter(xs, ys, c=colours, cmap=palette, vmin=0, vmax=top, **dot)
        bar = fig.colorbar(dots, ax=axes, shrink=0.5, pad=0.01)
        bar.set_label(translate(LINKED_TO, locale))
        bar.set_ticks(sorted({0, top // 2, top}))
    if externals:
        xs, ys = zip(*(positions[n] for n in externals), strict=True)
        axes.scatter(xs, ys, marker="s", c=EXTERNAL_FILL, **(dot | {"edgecolors": EXTERNAL_EDGE}))
    box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
    text: dict[str, Any] = {"fontsize": 6 if small else 8, "zorder": 2, "bbox": box}
    busiest = sorted((n for n in positions if linked[n]), key=lambda n: (-linked[n], n))
    for key in busiest[:LABELLED]:
        x, y = positions[key]
        axes.text(x, y - 0.07, label(name_of(graph, key)), ha="center", va="top", **text)
    for key in (n for n in positions if not linked[n]):  # the columns on the left
        x, y = positions[key]
        axes.text(x + 0.08, y, label(name_of(graph, key)), ha="left", va="center", **text)
    xs, ys = zip(*positions.values(), strict=True)
    axes.set_xlim(min(xs) - 0.15, max(max(xs), 1.0) + 0.3)
    axes.set_ylim(min(min(ys), -1.0) - 0.25, max(max(ys), 1.0) + 0.15)
    axes.set_aspect("equal")
    _legend(fig, locale, palette(0.6), bool(externals))
    return fig


def _lines(axes: Axes, graph: nx.MultiGraph, positions: Mapping[str, tuple[float, float]]) -> None:
    from matplotlib.collections import LineCollection

    groups: dict[str, list[list[tuple[float, float]]]] = {}
    for (a, b), state in sorted(pair_states(graph).items()):
        groups.setdefault(_line(state), []).append([positions[a], positions[b]])
    for kind, segments in groups.items():
        colour, dash, width = LINES[kind]
        axes.add_collection(
            LineCollection(segments, colors=colour, linestyles=dash, linewidths=width, zorder=1)
        )


def _legend(fig: Figure, locale: str, member_colour: Any, externals: bool) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, linestyle=d, linewidth=lw) for c, d, lw in LINES.values()]
    marker: dict[str, Any] = {"linestyle": "", "markersize": 10, "markeredgecolor": "black"}
    handles.append(Line2D([], [], marker="o", markerfacecolor=member_colour, **marker))
    if externals:
        grey = {"markerfacecolor": EXTERNAL_FILL, "markeredgecolor": EXTERNAL_EDGE}
        handles.append(Line2D([], [], marker="s", **(marker | grey)))
    labels = legend(locale)[: len(handles)]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), fontsize=9)


def draw_png(graph: nx.MultiGraph, *, title: str, locale: str = "en") -> bytes:
    """The map as PNG bytes (see :func:`figure`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(graph, title=title, locale=locale)
    FigureCanvasAgg(fig)  # the figure's canvas from now on: no backend chosen globally
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
