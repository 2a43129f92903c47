"""The shared-measurement chart: each measure over its last periods against its target.

A measure that adds up (``sum``) shows its figure per period as hatched bars, the running
total as a solid line with round markers and the target trajectory (the period's target,
accumulated) as a dashed line with square markers; an average or latest figure shows its
bars against a flat dashed target. A measure with no figure yet, or a chart with no measure,
says "No data yet" instead of showing empty axes. Colours come from the Okabe–Ito palette,
which colour-blind readers tell apart, and every series also differs by hatching, line style
or marker.

matplotlib is synchronous and slow to draw, so ``render_png`` runs in a worker thread; it uses
the non-interactive Agg canvas directly (no pyplot, no global figure state).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

from bot.digest.model import MeasureFigure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TARGET_LABEL = "Target"
BLUE, VERMILLION, SKY, GREY = "#0072B2", "#D55E00", "#56B4E9", "#6B6B6B"
"""Okabe–Ito colours (and a grey for notes)."""


@dataclass(frozen=True)
class MeasureWords:
    """The chart's words, already in the reader's language."""

    target: str = TARGET_LABEL
    trajectory: str = "Target trajectory"
    per_period: str = "Figure per period"
    cumulative: str = "Running total"
    no_data: str = "No data yet"
    aggregations: dict[str, str] = field(default_factory=dict)
    """How each aggregation (``sum``, ``mean``, ``latest``) is called on the axis."""


ENGLISH = MeasureWords()


def first_figure(ms: MeasureFigure) -> int:
    """The index of the first period with a figure: running totals start there (the periods
    before the alliance gave figures owe nothing)."""
    return next((i for i, (_, value) in enumerate(ms.history) if value is not None), 0)


def running_total(ms: MeasureFigure) -> list[float]:
    """The figure summed period by period, from the first period with a figure."""
    return list(accumulate(value or 0.0 for _, value in ms.history[first_figure(ms) :]))


def trajectory(ms: MeasureFigure) -> list[float] | None:
    """The target line over the chart's periods: for a sum, accumulated from the first period
    with a figure (as the running total is); otherwise flat, over all of them."""
    if ms.period_target is None or not ms.history:
        return None
    if ms.aggregation == "sum":
        periods = len(ms.history) - first_figure(ms)
        return list(accumulate([ms.period_target] * periods))
    return [ms.period_target] * len(ms.history)


def has_data(ms: MeasureFigure) -> bool:
    return any(value is not None for _, value in ms.history)


def no_data_panel(axes: Axes, words: str) -> None:
    """A panel that says there is nothing to show yet, instead of empty axes."""
    axes.set_axis_off()
    axes.text(
        0.5, 0.5, words, ha="center", va="center", fontsize=13, color=GREY, transform=axes.transAxes
    )


def build_figure(
    measures: tuple[MeasureFigure, ...], title: str, words: MeasureWords = ENGLISH
) -> Figure:
    """A small chart per measure (or one "No data yet" panel when there is no measure)."""
    from matplotlib.figure import Figure  # a second to import: only once a chart is drawn

    count = max(len(measures), 1)
    columns = 2 if count > 1 else 1
    rows = (count + columns - 1) // columns
    figure = Figure(figsize=(6 * columns, 3.4 * rows), dpi=100, layout="constrained")
    figure.suptitle(title)
    if not measures:
        no_data_panel(figure.add_subplot(1, 1, 1), words.no_data)
    for index, ms in enumerate(measures, start=1):
        axes = figure.add_subplot(rows, columns, index)
        axes.set_title(ms.name, fontsize=10)
        if not has_data(ms):
            no_data_panel(axes, words.no_data)
            continue
        _measure_panel(axes, ms, words)
    return figure


def _measure_panel(axes: Axes, ms: MeasureFigure, words: MeasureWords) -> None:
    labels = [key for key, _ in ms.history]
    values = [value or 0.0 for _, value in ms.history]
    positions = list(range(len(labels)))
    axes.bar(positions, values, color=SKY, edgecolor=BLUE, hatch="//", label=words.per_period)
    target = trajectory(ms)
    if ms.aggregation == "sum":
        since = positions[first_figure(ms) :]
        axes.plot(
            since,
            running_total(ms),
            color=BLUE,
            marker="o",
            linewidth=2,
            label=words.cumulative,
        )
        if target is not None:
            axes.plot(
                since,
                target,
                color=VERMILLION,
                marker="s",
                linestyle="--",
                linewidth=2,
                label=words.trajectory,
            )
    elif target is not None:
        axes.plot(
            positions,
            target,
            color=VERMILLION,
            marker="s",
            linestyle="--",
            linewidth=2,
            label=words.target,
        )
    axes.set_xticks(positions, labels)
    how = words.aggregations.get(ms.aggregation, ms.aggregation)
    axes.set_ylabel(f"{ms.unit} ({how})" if ms.unit else how)
    axes.set_ylim(bottom=0)
    axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes.legend(fontsize=7, loc="upper left")


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def measures_png(
    measures: tuple[MeasureFigure, ...], title: str, words: MeasureWords = ENGLISH
) -> bytes:
    return figure_png(build_figure(measures, title, words))


async def render_png(
    measures: tuple[MeasureFigure, ...], title: str, words: MeasureWords = ENGLISH
) -> bytes:
    """Draw off the event loop."""
    return await asyncio.to_thread(measures_png, measures, title, words)
