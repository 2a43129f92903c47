"""A digest ready to post: its text, the neutral document platforms render, and its chart,
for the command and the schedule alike."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.chartcache import ChartCache
from bot.digest.charts import heatmap_chart, measures_chart
from bot.digest.compute import compute_digest, window
from bot.digest.highlights import shared_post
from bot.digest.model import Digest, SharedPost
from bot.digest.render import DigestRenderer
from bot.domain.periods import Period
from bot.i18n import _, translate
from bot.ports import Attachment
from bot.storage import models as m


@dataclass(frozen=True)
class DigestContent:
    title: str
    text: str
    formats: dict[str, str]
    attachments: tuple[Attachment, ...]
    value: Digest | SharedPost | None = None
    """The digest itself, so that :meth:`in_` words it for another reader."""
    locale: str = "en"

    def in_(self, locale: str) -> DigestContent:
        """The same digest in ``locale``'s language (computed once, worded per reader)."""
        if self.value is None or locale == self.locale:
            return self
        return _worded(self.value, self.attachments, locale)


def _worded(
    value: Digest | SharedPost, files: tuple[Attachment, ...], locale: str
) -> DigestContent:
    renderer = DigestRenderer()
    if isinstance(value, Digest):
        title = _("Digest {period}", period=value.period.key)
        text = renderer.text(value, locale)
        files = tuple(
            replace(
                f,
                title=translate(
                    _("Shared measurement to {period}", period=value.period.key), locale
                ),
            )
            for f in files
        )
    else:
        title = _("Shared highlights {period}", period=value.period.key)
        text = renderer.shared_text(value, locale)
    formats = renderer.formats(value, locale)
    return DigestContent(translate(title, locale), text, formats, files, value, locale)


async def staff_digest(
    s: AsyncSession,
    period: Period,
    organisation: str | None = None,
    *,
    charts: ChartCache | None = None,
    locale: str = "en",
) -> DigestContent:
    """The staff digest with its chart (drawn off the event loop, once per period and measure
    set when ``charts`` keeps them), worded for a reader of ``locale``."""
    value = await compute_digest(s, period, organisation)
    files: tuple[Attachment, ...] = ()
    if value.measures:  # drawn in the reader's language (and kept once per language)
        files = (await measures_chart(value, organisation, locale, charts),)
    return _worded(value, files, locale)


async def shared_highlights(s: AsyncSession, period: Period, locale: str = "en") -> DigestContent:
    """The alliance-wide post: shareable answers only."""
    meta = await s.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    post = await shared_post(s, period, *window(period, zone))
    return _worded(post, (), locale)


async def digest_charts(
    s: AsyncSession,
    period: Period,
    organisation: str | None = None,
    *,
    charts: ChartCache | None = None,
    locale: str = "en",
) -> tuple[Attachment, ...]:
    """``digest chart``: who is keeping up (response by organisation and week) and where the
    alliance, or one organisation, stands against its targets."""
    value = await compute_digest(s, period, organisation)
    heat, _data = await heatmap_chart(s, value, organisation, locale, charts)
    return heat, await measures_chart(value, organisation, locale, charts)
