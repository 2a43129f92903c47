"""The shared-measurement chart: each measure over its last periods against the target line.

matplotlib is synchronous and slow to draw, so ``render_png`` runs in a worker thread; it uses
the non-interactive Agg canvas directly (no pyplot, no global figure state).
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

from bot.digest.model import MeasureFigure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TARGET_LABEL = "Target"


def build_figure(measures: tuple[MeasureFigure, ...], title: str) -> Figure:
    """A small chart per measure: bars for the alliance figure, a dashed line for the target."""
    from matplotlib.figure import Figure  # a second to import: only once a chart is drawn

    shown = [ms for ms in measures if ms.history] or list(measures)
    count = max(len(shown), 1)
    columns = 2 if count > 1 else 1
    rows = (count + columns - 1) // columns
    figure = Figure(figsize=(6 * columns, 3.2 * rows), dpi=100, layout="constrained")
    figure.suptitle(title)
    for index, ms in enumerate(shown, start=1):
        axes = figure.add_subplot(rows, columns, index)
        labels = [key for key, _ in ms.history]
        values = [value or 0.0 for _, value in ms.history]
        positions = list(range(len(labels)))
        axes.bar(positions, values, color="#4C78A8", label=f"{ms.name} ({ms.aggregation})")
        axes.set_xticks(positions, labels)
        if ms.period_target is not None:
            axes.axhline(
                ms.period_target, color="#E45756", linestyle="--", linewidth=2, label=TARGET_LABEL
            )
        axes.set_title(ms.name, fontsize=10)
        axes.set_ylabel(ms.unit)
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)
        axes.legend(fontsize=7, loc="upper left")
    return figure


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def render_png(measures: tuple[MeasureFigure, ...], title: str) -> bytes:
    """Draw off the event loop."""
    return await asyncio.to_thread(lambda: figure_png(build_figure(measures, title)))
