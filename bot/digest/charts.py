"""The digest's pictures as files for one reader: drawn in their language (and kept once per
language and figures), named after what they show, with the same content in words.

File names say the period and the filter, so a chart of one organisation never replaces the
alliance's: ``measures-2026-W49.png``, ``measures-2026-W49-berlin-lib.png``,
``response-heatmap-2026-W49.png``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.chart import (
    MeasureWords,
    first_figure,
    measures_png,
    running_total,
    trajectory,
)
from bot.digest.chartcache import ChartCache
from bot.digest.heatmap import HeatData, HeatWords, cell_text, heatmap_png, weekly_response
from bot.digest.model import Digest, MeasureFigure
from bot.digest.render import AGGREGATIONS, aggregation, label
from bot.domain.periods import Period
from bot.i18n import Text, _, ngettext, number, percent, translate
from bot.ports import Attachment

PNG = "image/png"


def file_name(kind: str, period: Period, slug: str | None) -> str:
    return f"{kind}-{period.key}-{slug}.png" if slug else f"{kind}-{period.key}.png"


def measure_words(locale: str) -> MeasureWords:
    return MeasureWords(
        target=translate(_("Target"), locale),
        trajectory=translate(_("Target trajectory"), locale),
        per_period=translate(_("Figure per period"), locale),
        cumulative=translate(_("Running total"), locale),
        no_data=translate(_("No data yet"), locale),
        aggregations={key: translate(word, locale) for key, word in AGGREGATIONS.items()},
    )


async def measures_chart(
    value: Digest, slug: str | None, locale: str, charts: ChartCache | None = None
) -> Attachment:
    """Each measure against its target over its last periods (of one organisation when the
    digest is filtered to it)."""
    if value.organisation_filter:
        title: Text = _(
            "{alliance}, {organisation}: measures to {period}",
            alliance=value.alliance,
            organisation=value.organisation_filter,
            period=value.period.key,
        )
    else:
        title = _(
            "{alliance}: measures to {period}", alliance=value.alliance, period=value.period.key
        )
    heading = translate(title, locale)
    shown = tuple(replace(ms, name=label(ms.name, value.names, locale)) for ms in value.measures)
    words = measure_words(locale)
    kept = [heading, asdict(words), [_drawn(ms) for ms in shown]]
    png = await _png(charts, "measures", kept, lambda: measures_png(shown, heading, words))
    alt = " ".join([f"{heading}.", *(_measure_alt(ms, locale) for ms in shown)])
    return Attachment(file_name("measures", value.period, slug), png, PNG, heading, alt)


def _drawn(ms: MeasureFigure) -> list[object]:
    """What the chart shows of a measure (its key holds nothing else)."""
    return [ms.name, ms.unit, ms.aggregation, ms.period_target, [list(h) for h in ms.history]]


def _measure_alt(ms: MeasureFigure, locale: str) -> str:
    if not any(v is not None for _, v in ms.history):
        return translate(_("{measure}: no data yet.", measure=ms.name), locale)
    figures = ", ".join("–" if v is None else number(v, locale) for _, v in ms.history)
    said = _(
        "{measure} ({unit}, {aggregation}), {first} to {last}: {figures}.",
        measure=ms.name,
        unit=ms.unit,
        aggregation=aggregation(ms.aggregation, locale),
        first=ms.history[0][0],
        last=ms.history[-1][0],
        figures=figures,
    )
    parts = [translate(said, locale)]
    target = trajectory(ms)
    if target is not None and ms.aggregation == "sum":
        total, goal = running_total(ms)[-1], target[-1]
        parts.append(
            translate(
                _(
                    "Running total since {first}: {total}, against a target trajectory of "
                    "{target} ({share}).",
                    first=ms.history[first_figure(ms)][0],
                    total=number(total, locale),
                    target=number(goal, locale),
                    share=percent(total / goal if goal else None, locale),
                ),
                locale,
            )
        )
    elif ms.period_target is not None:
        each = number(ms.period_target, locale)
        parts.append(translate(_("Target per period: {target}.", target=each), locale))
    return " ".join(parts)


async def heatmap_chart(
    s: AsyncSession,
    value: Digest,
    slug: str | None,
    locale: str,
    charts: ChartCache | None = None,
) -> tuple[Attachment, HeatData]:
    """Response rate by organisation (rows) and week (columns), up to the digest's period."""
    data = await weekly_response(s, value.period, slug)
    if value.organisation_filter:
        title: Text = _(
            "{organisation}: response rate by week, to {period}",
            organisation=value.organisation_filter,
            period=value.period.key,
        )
    else:
        title = _(
            "{alliance}: response rate by organisation and week, to {period}",
            alliance=value.alliance,
            period=value.period.key,
        )
    note = ""
    if data.hidden:
        note = translate(
            ngettext(
                "{n} more organisation, answering more, is left out (digest export has all).",
                "{n} more organisations, answering more, are left out (digest export has all).",
                data.hidden,
            ),
            locale,
        )
    words = HeatWords(
        title=translate(title, locale),
        rate=translate(_("Response rate"), locale),
        week=translate(_("Week"), locale),
        no_data=translate(_("No data yet"), locale),
        note=note,
        locale=locale,
    )
    png = await _png(
        charts, "heatmap", [asdict(words), asdict(data)], lambda: heatmap_png(data, words)
    )
    file = Attachment(
        file_name("response-heatmap", value.period, slug),
        png,
        PNG,
        words.title,
        heatmap_alt(data, words),
    )
    return file, data


def heatmap_alt(data: HeatData, words: HeatWords) -> str:
    """The heat map in words: each organisation's rates, week by week."""
    if data.empty:
        return f"{words.title}. {words.no_data}."
    weeks = _(
        "Weeks {first} to {last}; “–” means no prompts that week.",
        first=data.weeks[0],
        last=data.weeks[-1],
    )
    rows = "; ".join(
        f"{name}: {', '.join(cell_text(r, words.locale) for r in rates)}"
        for name, rates in zip(data.organisations, data.rates, strict=True)
    )
    return " ".join(
        part
        for part in (f"{words.title}.", translate(weeks, words.locale), f"{rows}.", words.note)
        if part
    )


async def _png(
    charts: ChartCache | None, kind: str, shown: object, draw: Callable[[], bytes]
) -> bytes:
    if charts is not None:
        return await charts.png(kind, shown, draw)
    return await asyncio.to_thread(draw)
