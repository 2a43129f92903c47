"""Who is keeping up: the response rate of each organisation (rows) in each of the last weeks
(columns), as a heat map with the figure written in every cell.

The rates are the digest's own (``compute.response_rates``, week by week), so a cell reads
what ``digest <week>`` says for that organisation. Colours run along cividis, which reads the
same to colour-blind readers and in greyscale; a week without prompts is a hatched grey cell
marked "–", not a colour. Drawing is synchronous: callers run it in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.chart import GREY, no_data_panel
from bot.digest.compute import response_rates
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.i18n import percent
from bot.storage import models as m

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WEEKS = 8
"""Weeks the heat map shows, up to the last week of the digest's period."""
MAX_ROWS = 40
"""Organisations shown at most: beyond, those with the lowest rates (the export has them all)."""
NONE = "–"
"""A cell of a week without prompts."""

Matrix = list[list[float | None]]


@dataclass(frozen=True)
class HeatData:
    weeks: tuple[str, ...]
    """Week keys, oldest first (the columns)."""
    organisations: tuple[str, ...]
    """Organisation names, by name (the rows)."""
    rates: tuple[tuple[float | None, ...], ...]
    """[row][column]: answered / prompts sent; None for a week without prompts."""
    hidden: int = 0
    """Organisations left out beyond ``MAX_ROWS``."""

    @property
    def empty(self) -> bool:
        return not self.organisations


@dataclass(frozen=True)
class HeatWords:
    """The heat map's words, already in the reader's language."""

    title: str
    rate: str = "Response rate"
    week: str = "Week"
    no_data: str = "No data yet"
    note: str = ""
    """Under the chart (organisations left out), when there is something to say."""
    locale: str = "en"
    """How the percentages in the cells are written."""


def weeks_to(period: Period, count: int = WEEKS) -> list[Period]:
    """The ``count`` weeks up to the one holding the period's last day, oldest first."""
    weeks = [Period.containing(period.end - timedelta(days=1), PeriodKind.WEEK)]
    while len(weeks) < count:
        weeks.insert(0, weeks[0].previous())
    return weeks


async def weekly_response(
    s: AsyncSession, period: Period, organisation: str | None = None, count: int = WEEKS
) -> HeatData:
    """The response rate of each organisation in each of the weeks up to ``period``'s end."""
    meta = await s.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    weeks = weeks_to(period, count)
    by_week = [await response_rates(s, week, zone, organisation) for week in weeks]
    names = {slug: row[0] for rates in by_week for slug, row in rates.items()}
    table = {
        slug: tuple(
            answered / delivered if delivered else None
            for _, delivered, answered in (rates.get(slug, ("", 0, 0)) for rates in by_week)
        )
        for slug in names
    }
    start = _first_week(list(table.values()), len(weeks))
    table = {slug: rates[start:] for slug, rates in table.items()}
    shown = sorted(names, key=lambda slug: _mean(table[slug]))[:MAX_ROWS]
    shown.sort(key=lambda slug: (names[slug].casefold(), slug))
    return HeatData(
        tuple(w.key for w in weeks[start:]),
        tuple(names[slug] for slug in shown),
        tuple(table[slug] for slug in shown),
        hidden=len(names) - len(shown),
    )


def _first_week(rows: list[tuple[float | None, ...]], weeks: int) -> int:
    """The first week anyone had prompts (a young alliance's earlier weeks are left out)."""
    had = [column for column in range(weeks) if any(row[column] is not None for row in rows)]
    return had[0] if had else 0


def _mean(rates: tuple[float | None, ...]) -> float:
    known = [r for r in rates if r is not None]
    return sum(known) / len(known) if known else 2.0  # no prompts at all: shown last


def cell_text(rate: float | None, locale: str) -> str:
    return NONE if rate is None else percent(rate, locale)


def heatmap_figure(data: HeatData, words: HeatWords) -> tuple[Figure, Matrix]:
    """The heat map, and the matrix of rates it draws ([row][column]; None: no prompts)."""
    from matplotlib.figure import Figure  # a second to import: only once a chart is drawn

    if data.empty:
        figure = Figure(figsize=(6, 3), dpi=100, layout="constrained")
        figure.suptitle(words.title)
        no_data_panel(figure.add_subplot(1, 1, 1), words.no_data)
        return figure, []
    longest = max(len(name) for name in data.organisations)
    width = 3.0 + 0.95 * len(data.weeks) + min(longest, 40) * 0.08
    height = 2.2 + 0.42 * len(data.organisations)
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    figure.suptitle(words.title)
    axes = figure.add_subplot(1, 1, 1)
    matrix = _draw(axes, figure, data, words)
    if words.note:
        figure.supxlabel(words.note, fontsize=8, color=GREY)
    return figure, matrix


def _draw(axes: Axes, figure: Figure, data: HeatData, words: HeatWords) -> Matrix:
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import PercentFormatter

    values = np.ma.masked_invalid(
        np.array([[np.nan if r is None else r for r in row] for row in data.rates], dtype=float)
    )
    palette = colormaps["cividis"].with_extremes(bad=(0, 0, 0, 0))
    image = axes.imshow(values, cmap=palette, vmin=0.0, vmax=1.0, aspect="auto")
    for row, rates in enumerate(data.rates):
        for column, rate in enumerate(rates):
            if rate is None:  # no prompts that week: hatched, never a colour of the scale
                axes.add_patch(
                    Rectangle(
                        (column - 0.5, row - 0.5),
                        1,
                        1,
                        facecolor="#EEEEEE",
                        edgecolor="#BBBBBB",
                        hatch="///",
                        linewidth=0,
                    )
                )
            ink = "black" if rate is None or rate >= 0.55 else "white"
            axes.text(
                column,
                row,
                cell_text(rate, words.locale),
                ha="center",
                va="center",
                fontsize=9,
                color=ink,
            )
    axes.set_xticks(range(len(data.weeks)), data.weeks)
    axes.set_yticks(range(len(data.organisations)), data.organisations)
    axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes.tick_params(axis="y", labelsize=9)
    axes.set_xlabel(words.week)
    bar = figure.colorbar(image, ax=axes, format=PercentFormatter(1.0), fraction=0.05)
    bar.set_label(words.rate)
    hidden = np.ma.getmaskarray(values)
    return [
        [None if hidden[r, c] else float(values[r, c]) for c in range(len(data.weeks))]
        for r in range(len(data.organisations))
    ]


def heatmap_png(data: HeatData, words: HeatWords) -> bytes:
    figure, _ = heatmap_figure(data, words)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
