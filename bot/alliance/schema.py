"""The shape of the alliance file, one pydantic model per section item.

Each item is validated on its own so one mistake never hides another. Members and channels also
take one account or address per platform (``slack: T01ABCDEF:U02GHIJKL``), under the platform's
name: the platforms declare their names and id formats (:class:`PlatformIds`, collected by
``adapters/registry.py``) and :func:`sections` builds the models that take them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from bot.alliance.fields import (
    MAX_MINUTES,
    Cron,
    Day,
    Locale,
    Minutes,
    Slug,
    Target,
    Zone,
    check_country,
    check_digest_period,
    parse_duration,
)
from bot.domain.errors import UserError
from bot.domain.prompts import check_translations
from bot.domain.values import DEFAULT_LOCALE, Aggregation, OrgKind, PromptOrder, Role
from bot.privacy.retention import check_retention
from bot.webhooks.rules import DISABLE_AFTER, EVENTS, check_url


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(Item):
    """An item whose ``name`` may be one text or one per language (``{en: …, fr: …}``, as a
    prompt's text): ``name`` keeps the English, ``names`` the other languages."""

    names: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="before")
    @classmethod
    def _translated_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("name"), dict):
            given = check_translations(dict(data["name"]), what="name")
            others = {lang: text for lang, text in given.items() if lang != DEFAULT_LOCALE}
            data = {**data, "name": given[DEFAULT_LOCALE], "names": others}
        return data


class AllianceInfo(Item):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    default_locale: Locale = "en"
    default_timezone: Zone = "UTC"
    retention: Annotated[str | None, BeforeValidator(check_retention)] = None
    """How long answers are kept (``18 months``); absent: until they are deleted."""
    turn_the_curve_after: Annotated[int, Field(ge=0, le=12)] = 2
    """Periods in a row a measure is behind its target before a turn-the-curve exercise."""
    follow_up_weeks: Annotated[int, Field(ge=0, le=52)] = 4
    """Weeks before a named connection's follow-up (0: no follow-up)."""


class OrganisationSpec(Item):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: OrgKind = OrgKind.OTHER
    country: Annotated[str, AfterValidator(check_country)]
    timezone: Zone
    aliases: list[Annotated[str, Field(min_length=2, max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    """Other names members use for it (“BML”), matched in connection exercises' answers."""


def _as_written(value: str) -> str:
    return value


@dataclass(frozen=True)
class PlatformIds:
    """What a platform takes as a member's account and a channel's address in the alliance file.

    Each check returns the id as it is stored, or raises ValueError with one sentence saying
    how to write it. The platforms declare theirs; the core knows no platform's format."""

    name: str
    """The platform, and the key members and channels write its ids under."""
    member: Callable[[str], str] = _as_written
    channel: Callable[[str], str] = _as_written
    member_default: Callable[[str], str] | None = None
    """A member's account when the file gives none, made from the member's id (if any)."""
    channel_default: Callable[[str], str] | None = None
    """A channel's address when the file gives none, made from the channel's key (if any)."""


class Accounts(Item):
    """An item with one id per platform, as fields named after the platforms."""

    platforms: ClassVar[tuple[PlatformIds, ...]] = ()
    """The platforms this model takes ids for (set by :func:`sections`)."""

    def _check(self, check: Callable[[PlatformIds], Callable[[str], str]]) -> Self:
        stored: dict[str, str] = {}
        for platform in self.platforms:
            value = getattr(self, platform.name)
            if value is not None and (as_stored := check(platform)(value)) != value:
                stored[platform.name] = as_stored
        return self.model_copy(update=stored) if stored else self

    def _ids(
        self, own: str, default: Callable[[PlatformIds], Callable[[str], str] | None]
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        for platform in self.platforms:
            make = default(platform)
            value = getattr(self, platform.name) or (make(own) if make else None)
            if value:
                found[platform.name] = value
        return found


class AwaySpec(Item):
    """Days a member is away, both included: ``away: {from: 2026-12-20, until: 2027-01-03}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Day = Field(alias="from")
    until: Day

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.until < self.start:
            raise ValueError(
                f"the absence ends ({self.until}) before it starts ({self.start}); "
                "`until` is the last day away, on or after `from`."
            )
        return self


class MemberSpec(Accounts):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    organisation: str
    role: Role = Role.MEMBER
    timezone: Zone | None = None
    locale: Locale | None = None
    reporting: bool = False
    backup_reporter: bool = False
    """Answers the organisation's measures on days all its reporting members are away."""
    away: AwaySpec | None = None
    """Absent: a load leaves the member's absence (``away`` typed to the bot) as it is."""
    active: bool = True

    @model_validator(mode="after")
    def _identities(self) -> Self:
        return self._check(lambda platform: platform.member)

    def identities(self) -> dict[str, str]:
        """The member's account on each platform, by platform name."""
        return self._ids(self.id, lambda platform: platform.member_default)


class MeasureSpec(Named):
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


class ChannelSpec(Accounts):
    key: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    purpose: Literal["staff", "members"] = "members"

    @model_validator(mode="after")
    def _addresses(self) -> Self:
        return self._check(lambda platform: platform.channel)

    def addresses(self) -> dict[str, str]:
        """The channel's address on each platform, by platform name."""
        return self._ids(self.key, lambda platform: platform.channel_default)


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


class CampaignSpec(Named):
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
    ask: Literal["one by one", "all at once"] = "one by one"
    """How a member gets the questions of one run: as a conversation, the next after an answer
    or a skip (standup style), or all at once (a form to fill in any order)."""
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


def _webhook_url(url: str) -> str:
    try:
        return check_url(url)
    except UserError as exc:
        raise ValueError(str(exc)) from None


class WebhookSpec(Item):
    """An endpoint of the alliance's own systems. Its secret is never in the file: the bot
    reads it from the environment variable ``secret_env``."""

    key: Slug
    url: Annotated[str, AfterValidator(_webhook_url)]
    secret_env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
    events: list[Literal[*EVENTS]] = Field(default_factory=list)  # type: ignore[valid-type]
    role: Literal["staff", "reader"] = "reader"
    disable_after: Annotated[int, Field(ge=1, le=1000)] = DISABLE_AFTER


SECTIONS: dict[str, type[Item]] = {
    "organisations": OrganisationSpec,
    "members": MemberSpec,
    "measures": MeasureSpec,
    "targets": TargetSpec,
    "channels": ChannelSpec,
    "campaigns": CampaignSpec,
    "digests": DigestSpec,
    "webhooks": WebhookSpec,
}
TOP_LEVEL = {"alliance", "prompts", "members_csv", *SECTIONS}


@cache
def _with_accounts(base: type[Accounts], platforms: tuple[PlatformIds, ...]) -> type[Accounts]:
    taken = [p.name for p in platforms if p.name in base.model_fields or not p.name.isidentifier()]
    if taken:
        raise ValueError(f"platform names {taken} cannot be {base.__name__} fields")
    fields: dict[str, Any] = {p.name: (str | None, None) for p in platforms}
    model = cast(type[Accounts], create_model(base.__name__, __base__=base, **fields))
    model.platforms = platforms
    return model


def sections(platforms: Sequence[PlatformIds]) -> dict[str, type[Item]]:
    """The section models, members and channels taking an id on each of ``platforms``."""
    ids = tuple(platforms)
    return {
        **SECTIONS,
        "members": _with_accounts(MemberSpec, ids),
        "channels": _with_accounts(ChannelSpec, ids),
    }
