"""The read-only API as the HTTP edge calls it: a token in, pages of pydantic models out.

Each call is one short read transaction on the bot's own database (SQLAlchemy async, like
everything else), so a request never holds the event loop while the database works. What a
role may see is decided here, not in the edge: a reader gets shared check-ins only, without
who answered, and asking for more is :class:`~bot.api.params.Forbidden`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api import figures, lists
from bot.api import schema as api
from bot.api.lists import Listed
from bot.api.params import BadInput, Forbidden, PageRequest
from bot.api.tokens import Caller, authenticate
from bot.digest.compute import window
from bot.domain.periods import Period
from bot.ports import Clock
from bot.storage import models as m
from bot.storage.database import Database


async def _known(s: AsyncSession, organisation: str | None, member: str | None = None) -> None:
    """BadInput for an organisation slug or member handle that names nobody."""
    if organisation is not None:
        found = await s.scalar(select(m.Organisation.id).where(m.Organisation.slug == organisation))
        if found is None:
            raise BadInput(
                "unknown_organisation",
                f"no organisation has the slug {organisation!r}; /api/v1/organisations lists them.",
            )
    if member is not None:
        found = await s.scalar(select(m.Member.id).where(m.Member.handle == member))
        if found is None:
            raise BadInput("unknown_member", f"no member has the handle {member!r}.")


class ReadApi:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def caller(self, token: str) -> Caller:
        """Who ``token`` names; Unauthorized when it is unknown or revoked."""
        async with self.db.session() as s:
            return await authenticate(s, token, self.clock.now())

    async def organisations(self, page: PageRequest) -> Listed[api.Organisation]:
        async with self.db.session() as s:
            return await lists.organisations(s, page)

    async def measures(
        self, periods: list[Period], organisation: str | None, page: PageRequest
    ) -> Listed[api.Measure]:
        async with self.db.session() as s:
            await _known(s, organisation)
            return await figures.measures(s, periods, organisation, page)

    async def response_rates(
        self, periods: list[Period], organisation: str | None, page: PageRequest
    ) -> Listed[api.OrganisationRates]:
        async with self.db.session() as s:
            await _known(s, organisation)
            return await figures.response_rates(s, periods, organisation, page)

    async def checkins(
        self,
        caller: Caller,
        page: PageRequest,
        *,
        periods: list[Period],
        organisation: str | None = None,
        member: str | None = None,
        everything: bool | None = None,
    ) -> Listed[api.CheckIn]:
        """Check-ins answered in ``periods`` (all time when empty). ``everything``: all of
        them (staff only) or only shared ones; None: what the caller's role sees."""
        if everything and not caller.staff:
            raise Forbidden(
                "staff_only", "scope=all needs a staff token: a reader sees shared check-ins."
            )
        if member is not None and not caller.staff:
            raise Forbidden(
                "staff_only", "member= needs a staff token: a reader does not see who answered."
            )
        shared_only = not caller.staff if everything is None else not everything
        async with self.db.session() as s:
            await _known(s, organisation, member)
            start = end = None
            if periods:
                meta = await s.get(m.Alliance, 1)
                zone = meta.default_timezone if meta else "UTC"
                start, end = window(periods[0], zone)[0], window(periods[-1], zone)[1]
            narrowed = lists.CheckInFilter(shared_only, organisation, member, start, end)
            return await lists.checkins(s, caller, narrowed, page)
