"""A digest ready to post: its text, the neutral document platforms render, and its chart,
for the command and the schedule alike."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.chart import render_png
from bot.digest.chartcache import ChartCache
from bot.digest.compute import compute_digest, window
from bot.digest.highlights import shared_post
from bot.digest.render import DigestRenderer
from bot.domain.periods import Period
from bot.ports import Attachment
from bot.storage import models as m


@dataclass(frozen=True)
class DigestContent:
    title: str
    text: str
    formats: dict[str, str]
    attachments: tuple[Attachment, ...]


async def staff_digest(
    s: AsyncSession,
    period: Period,
    organisation: str | None = None,
    *,
    charts: ChartCache | None = None,
) -> DigestContent:
    """The staff digest with its chart (drawn off the event loop, once per period and measure
    set when ``charts`` keeps them)."""
    value = await compute_digest(s, period, organisation)
    renderer = DigestRenderer()
    files: tuple[Attachment, ...] = ()
    if value.measures:
        title = f"{value.alliance}: measures to {period.key}"
        png = await (charts.png if charts else render_png)(value.measures, title)
        files = (
            Attachment(
                f"measures-{period.key}.png",
                png,
                "image/png",
                f"Shared measurement to {period.key}",
            ),
        )
    return DigestContent(
        f"Digest {period.key}", renderer.text(value), renderer.formats(value), files
    )


async def shared_highlights(s: AsyncSession, period: Period) -> DigestContent:
    """The alliance-wide post: shareable answers only."""
    meta = await s.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    post = await shared_post(s, period, *window(period, zone))
    renderer = DigestRenderer()
    return DigestContent(
        f"Shared highlights {period.key}",
        renderer.shared_text(post),
        renderer.formats(post),
        (),
    )
