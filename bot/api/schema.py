"""What the read-only HTTP API returns, as pydantic models: the handlers serialise these, and
the OpenAPI document (``adapters/api/openapi.py``) is generated from their JSON Schema."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Page(Model, Generic[T]):
    data: list[T]
    next: str | None = Field(
        description="The next page's URL (relative, with the same filters), or null on the last."
    )


class Index(Model):
    """What the API offers, as links."""

    version: Literal["v1"] = "v1"
    openapi: str
    organisations: str
    measures: str
    response_rates: str
    checkins: str


class Organisation(Model):
    id: int
    slug: str
    name: str
    kind: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    timezone: str = Field(description="IANA time zone")
    active: bool


class OrganisationFigure(Model):
    organisation: str = Field(description="The organisation's slug.")
    name: str
    value: float | None = Field(description="Its figure (the latest correction wins), or null.")
    target: float | None


class PeriodFigure(Model):
    period: str = Field(description="A measure period key: 2026-11, 2026-W45, 2026-Q4...")
    total: float | None = Field(
        description="The alliance figure: the mean of the organisations' for a mean measure, "
        "else their sum; null when none reported."
    )
    target: float | None = Field(description="The alliance-wide target of one period.")
    organisations: list[OrganisationFigure]


class Measure(Model):
    id: int
    key: str
    name: str
    names: dict[str, str] = Field(description="The name in other languages, by locale.")
    unit: str
    aggregation: Literal["sum", "mean", "latest"]
    period: Literal["day", "week", "month", "quarter"] = Field(
        description="How often the measure is reported."
    )
    target: float | None
    figures: list[PeriodFigure]


class PeriodRate(Model):
    period: str
    delivered: int = Field(description="Prompts sent to the organisation's members.")
    answered: int
    rate: float | None = Field(description="answered / delivered; null when none was sent.")


class OrganisationRates(Model):
    organisation: str = Field(description="The organisation's slug.")
    name: str
    periods: list[PeriodRate]


class Member(Model):
    handle: str
    name: str


class CheckIn(Model):
    id: int
    organisation: str = Field(description="The organisation's slug.")
    prompt: str = Field(description="The prompt's id.")
    question: str = Field(description="The prompt's text, in English.")
    measure: str | None = Field(description="The measure's key, for a figure.")
    period: str = Field(description="The period the answer is about.")
    text: str
    number: float | None
    choice: str | None
    answered_at: datetime
    edited_at: datetime | None
    shareable: bool = Field(description="Its author let it appear alliance-wide.")
    starred: bool | None = Field(description="Starred by staff; null for a reader token.")
    member: Member | None = Field(description="Who answered; null for a reader token.")


class OrganisationPage(Page[Organisation]):
    pass


class MeasurePage(Page[Measure]):
    pass


class RatesPage(Page[OrganisationRates]):
    pass


class CheckInPage(Page[CheckIn]):
    pass


class ProblemDetail(Model):
    status: int
    code: str = Field(description="bad_period, bad_cursor, bad_limit, unknown_token, ...")
    message: str


class Problem(Model):
    """Every error: a status, a stable code and a sentence for the developer."""

    error: ProblemDetail
