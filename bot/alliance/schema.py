"""The shape of the alliance file, one pydantic model per section item.

Each item is validated on its own so one mistake never hides another.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from datetime import date
from functools import cache
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bot.digest.periods import parse_digest_period
from bot.domain.errors import UserError
from bot.domain.values import Aggregation, OrgKind, PromptOrder, Role
from bot.privacy.retention import check_retention
from bot.scheduling.cron import parse_cron

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
SLACK_ID = re.compile(r"^(T[A-Z0-9]{2,})[:/](U|W)[A-Z0-9]{2,}$")
MATRIX_USER = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
MATRIX_ROOM = re.compile(r"^[!#][^\s:]+(:[A-Za-z0-9.\-]+(:\d+)?)?$")
SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
MAX_TARGET = 1e12
"""The largest target a measure takes (finite: no .inf or .nan)."""


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_zone(value: str) -> str:
    if value in _zones() or value == "UTC":
        return value
    close = difflib.get_close_matches(value, sorted(_zones()), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else " Use an IANA name such as Europe/Berlin."
    raise ValueError(f"“{value}” is not a time zone I know.{hint}")


def check_cron(value: str) -> str:
    parse_cron(value)
    return value


def check_country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(
            f"“{value}” is not a country code; use the two capital letters of "
            f"ISO 3166, like {value.upper()[:2] if len(value) >= 2 else 'FR'}."
        )
    return value


def check_digest_period(value: str) -> str:
    try:
        parse_digest_period(value, date(2026, 1, 15))
    except UserError as exc:
        raise ValueError(str(exc)) from None
    return value


def check_locale(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}([-_][A-Za-z]{2})?", value):
        raise ValueError(f"“{value}” is not a language code; use two letters such as en, fr, es.")
    return value


MAX_MINUTES = 366 * 1440
"""The longest duration an alliance file takes (reminders, catch-up): a year."""


def parse_duration(value: str | int) -> int:
    """Minutes in ``"2d"``, ``"36h"``, ``"1d12h"``, ``"90m"`` (a bare number is minutes)."""
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", text)
    if not text or not match or not any(match.groups()):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise ValueError(f"“{shown}” is not a duration; write it like 2d, 36h, 1d12h or 90m.")
    too_long = "that duration is longer than a year (366d), the longest allowed."
    if any(len(g or "") > 9 for g in match.groups()):
        raise ValueError(too_long)
    days, hours, minutes = (int(g or 0) for g in match.groups())
    total = days * 1440 + hours * 60 + minutes
    if total > MAX_MINUTES:
        raise ValueError(too_long)
    return total


Zone = Annotated[str, AfterValidator(check_zone)]
Cron = Annotated[str, AfterValidator(check_cron)]
Locale = Annotated[str, AfterValidator(check_locale)]
Slug = Annotated[str, Field(pattern=SLUG)]
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES)]
Target = Annotated[float, Field(ge=0, le=MAX_TARGET, allow_inf_nan=False)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllianceInfo(Item):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    default_locale: Locale = "en"
    default_timezone: Zone = "UTC"
    retention: Annotated[str | None, BeforeValidator(check_retention)] = None
    """How long answers are kept (``18 months``); absent: until they are deleted."""


class OrganisationSpec(Item):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: OrgKind = OrgKind.OTHER
    country: Annotated[str, AfterValidator(check_country)]
    timezone: Zone


class MemberSpec(Item):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    organisation: str
    role: Role = Role.MEMBER
    timezone: Zone | None = None
    locale: Locale | None = None
    reporting: bool = False
    active: bool = True
    console: str | None = None
    slack: str | None = None
    matrix: str | None = None

    @model_validator(mode="after")
    def _identities(self) -> Self:
        if self.slack is not None and not SLACK_ID.match(self.slack):
            raise ValueError(
                f"slack “{self.slack}” should be TEAM:USER ids, like T01ABCDEF:U02GHIJKL."
            )
        if self.matrix is not None and not MATRIX_USER.match(self.matrix):
            raise ValueError(
                f"matrix “{self.matrix}” should be a full user id, like @anna:example.org."
            )
        return self

    def identities(self) -> dict[str, str]:
        found = {"console": self.console or self.id}
        if self.slack:
            found["slack"] = self.slack.replace("/", ":")
        if self.matrix:
            found["matrix"] = self.matrix
        return found


class MeasureSpec(Item):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    unit: Annotated[str, Field(min_length=1, max_length=64)]
    aggregation: Aggregation = Aggregation.SUM
    period: Literal["week", "month", "quarter"] = "month"
    target: Target | None = None
    targets: dict[str, Target] = Field(default_factory=dict)
    prompt: str | None = None


class TargetSpec(Item):
    """A target set apart from its measure: alliance-wide (no organisation) or for one."""

    measure: str
    organisation: str | None = None
    target: Target


class ChannelSpec(Item):
    key: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    purpose: Literal["staff", "members"] = "members"
    console: str | None = None
    slack: str | None = None
    matrix: str | None = None

    @model_validator(mode="after")
    def _addresses(self) -> Self:
        if self.slack is not None and not SLACK_CHANNEL.match(self.slack):
            raise ValueError(
                f"slack “{self.slack}” should be a channel id like C0123ABCD "
                "(right-click the channel, Copy link: the id is at its end)."
            )
        if self.matrix is not None and not MATRIX_ROOM.match(self.matrix):
            raise ValueError(
                f"matrix “{self.matrix}” should be a room id like !abc123:example.org "
                "or an alias like #staff:example.org."
            )
        return self

    def addresses(self) -> dict[str, str]:
        found = {"console": self.console or f"#{self.key}"}
        if self.slack:
            found["slack"] = self.slack
        if self.matrix:
            found["matrix"] = self.matrix
        return found


class ReminderSpec(Item):
    after: Annotated[int, Field(ge=1, le=MAX_MINUTES)] = 1440
    max: Annotated[int, Field(ge=0, le=10)] = 1

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: str | int) -> int:
        return parse_duration(value)


class AudienceSpec(Item):
    organisations: list[str] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)
    reporting_only: bool = False


class CampaignSpec(Item):
    key: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    prompts: list[str] = Field(default_factory=list)
    measures: list[str] = Field(default_factory=list)
    order: PromptOrder = PromptOrder.ALL
    audience: AudienceSpec = Field(default_factory=AudienceSpec)
    deliver_to: list[str] = Field(default_factory=lambda: ["dm"])
    schedule: Cron
    timezone: Zone | None = None
    reminders: ReminderSpec | None = None
    catch_up: Minutes = 360
    skip_holidays: bool = False
    measure_period: Literal["previous", "current"] = "previous"
    start: date | None = None
    end: date | None = None
    paused: bool = False

    @field_validator("catch_up", mode="before")
    @classmethod
    def _duration(cls, value: str | int) -> int:
        return parse_duration(value)

    @model_validator(mode="after")
    def _sense(self) -> Self:
        if not self.prompts and not self.measures:
            raise ValueError("a campaign asks something: list `prompts`, `measures` or both.")
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"the campaign ends ({self.end}) before it starts ({self.start}).")
        if not self.deliver_to:
            raise ValueError("`deliver_to` is empty; use [dm] or name channels.")
        return self


class DigestSpec(Item):
    key: Slug
    schedule: Cron
    timezone: Zone | None = None
    to: Annotated[list[str], Field(min_length=1)]
    kind: Literal["staff", "highlights"] = "staff"
    period: Annotated[str, AfterValidator(check_digest_period)] = "last week"
    """Which period each run reports on, read when it runs: “last week”, “last month”..."""


SECTIONS: dict[str, type[Item]] = {
    "organisations": OrganisationSpec,
    "members": MemberSpec,
    "measures": MeasureSpec,
    "targets": TargetSpec,
    "channels": ChannelSpec,
    "campaigns": CampaignSpec,
    "digests": DigestSpec,
}
TOP_LEVEL = {"alliance", "prompts", "members_csv", *SECTIONS}
