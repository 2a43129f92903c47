"""The API's endpoints as one table: path, query parameters, the pydantic model returned, and
the call that makes it. The routes (``adapters/api/server.py``) and the OpenAPI document
(``adapters/api/openapi.py``) are both read from this table, so neither can list a route the
other lacks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from bot.api import ReadApi
from bot.api import schema as api
from bot.api.params import BadInput, make_cursor, page_request, read_periods
from bot.api.tokens import Caller

BASE = "/api/v1"


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()
    integer: bool = False

    def schema(self) -> dict[str, Any]:
        if self.integer:
            return {"type": "integer", "minimum": 1}
        return {"type": "string", "enum": list(self.enum)} if self.enum else {"type": "string"}


@dataclass(frozen=True)
class Query:
    """A request's path and query parameters, as an endpoint reads them."""

    path: str
    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value else None

    def next_link(self, kind: str, after: int | None) -> str | None:
        """This request's URL with the cursor of the page after ``after``; None at the end."""
        if after is None:
            return None
        kept = {k: v for k, v in self.values.items() if k != "cursor"}
        return f"{self.path}?{urlencode({**kept, 'cursor': make_cursor(kind, after)})}"


Call = Callable[[ReadApi, Caller | None, Query], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Endpoint:
    path: str
    operation: str
    summary: str
    description: str
    response: type[BaseModel] | None
    """None: a plain JSON object (the OpenAPI document itself)."""
    call: Call
    params: tuple[Param, ...] = ()
    authenticated: bool = True

    def check_params(self, query: Query) -> None:
        known = {p.name for p in self.params}
        unknown = sorted(set(query.values) - known)
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise BadInput(
                "unknown_parameter",
                f"unknown query parameter {unknown[0]!r} for {self.path} (it takes: {allowed}).",
            )


CURSOR = Param("cursor", "The cursor of the page to read: follow the 'next' link.")
LIMIT = Param("limit", "Items a page, 1 to 500 (more is capped); default 100.", integer=True)
PERIOD = Param(
    "period",
    "A day (2026-10-31), week (2026-W44), month (2026-10) or quarter (2026-Q4); or two of the "
    "same kind joined by '..' (2026-09..2026-11) for each of them.",
    required=True,
)
ORGANISATION = Param("organisation", "Only this organisation (its slug).")


def _caller(caller: Caller | None) -> Caller:
    assert caller is not None, "an authenticated endpoint has a caller"
    return caller


async def _index(_: ReadApi, __: Caller | None, ___: Query) -> BaseModel:
    return api.Index(
        openapi=f"{BASE}/openapi.json",
        organisations=f"{BASE}/organisations",
        measures=f"{BASE}/measures?period=2026-11",
        response_rates=f"{BASE}/response-rates?period=2026-11",
        checkins=f"{BASE}/checkins",
    )


async def _organisations(reader: ReadApi, _: Caller | None, q: Query) -> BaseModel:
    page = page_request("organisations", q.get("cursor"), q.get("limit"))
    listed = await reader.organisations(page)
    return api.OrganisationPage(data=listed.items, next=q.next_link("organisations", listed.after))


async def _measures(reader: ReadApi, _: Caller | None, q: Query) -> BaseModel:
    periods = read_periods(q.get("period"))
    page = page_request("measures", q.get("cursor"), q.get("limit"))
    listed = await reader.measures(periods, q.get("organisation"), page)
    return api.MeasurePage(data=listed.items, next=q.next_link("measures", listed.after))


async def _rates(reader: ReadApi, _: Caller | None, q: Query) -> BaseModel:
    periods = read_periods(q.get("period"))
    page = page_request("rates", q.get("cursor"), q.get("limit"))
    listed = await reader.response_rates(periods, q.get("organisation"), page)
    return api.RatesPage(data=listed.items, next=q.next_link("rates", listed.after))


async def _checkins(reader: ReadApi, caller: Caller | None, q: Query) -> BaseModel:
    periods = read_periods(q.get("period"), required=False)
    page = page_request("checkins", q.get("cursor"), q.get("limit"))
    scope = q.get("scope")
    if scope not in (None, "all", "shared"):
        raise BadInput("bad_scope", "scope is 'all' (staff tokens only) or 'shared'.")
    listed = await reader.checkins(
        _caller(caller),
        page,
        periods=periods,
        organisation=q.get("organisation"),
        member=q.get("member"),
        everything=None if scope is None else scope == "all",
    )
    return api.CheckInPage(data=listed.items, next=q.next_link("checkins", listed.after))


async def _openapi(_: ReadApi, __: Caller | None, ___: Query) -> BaseModel:
    raise AssertionError("served from the document built at start (adapters/api/server.py)")


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        f"{BASE}/",
        "index",
        "What the API offers",
        "Links to the other endpoints. Needs no token.",
        api.Index,
        _index,
        authenticated=False,
    ),
    Endpoint(
        f"{BASE}/openapi.json",
        "openapi",
        "This OpenAPI document",
        "Generated from the models the endpoints return. Needs no token.",
        None,
        _openapi,
        authenticated=False,
    ),
    Endpoint(
        f"{BASE}/organisations",
        "listOrganisations",
        "The alliance's organisations",
        "Every organisation, active or not, in id order.",
        api.OrganisationPage,
        _organisations,
        (CURSOR, LIMIT),
    ),
    Endpoint(
        f"{BASE}/measures",
        "listMeasures",
        "Measures with their figures by period",
        "Each active measure with, for each of its own periods that the asked periods report "
        "on, every active organisation's figure (the latest correction wins) and the total, "
        "as the digest computes them.",
        api.MeasurePage,
        _measures,
        (PERIOD, ORGANISATION, CURSOR, LIMIT),
    ),
    Endpoint(
        f"{BASE}/response-rates",
        "listResponseRates",
        "Response rates by organisation and period",
        "For each active organisation, prompts sent and answered in each asked period (the "
        "alliance's time zone), as the digest counts them.",
        api.RatesPage,
        _rates,
        (PERIOD, ORGANISATION, CURSOR, LIMIT),
    ),
    Endpoint(
        f"{BASE}/checkins",
        "listCheckIns",
        "Check-ins",
        "A reader token sees only check-ins their authors shared, without who answered; a "
        "staff token sees every check-in with its author. Erased check-ins are gone.",
        api.CheckInPage,
        _checkins,
        (
            Param("period", "Only check-ins answered in this period (same forms as above)."),
            ORGANISATION,
            Param("member", "Only this member's (their handle). Staff tokens only."),
            Param(
                "scope",
                "all (staff tokens only) or shared; default: what the token's role sees.",
                enum=("all", "shared"),
            ),
            CURSOR,
            LIMIT,
        ),
    ),
)
