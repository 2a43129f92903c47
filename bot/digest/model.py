"""The digest as one value: every figure a rendering shows comes from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.periods import Period
from bot.i18n import Text, _, ngettext


@dataclass(frozen=True)
class OrgResponse:
    slug: str
    name: str
    delivered: int
    answered: int
    previous_delivered: int = 0
    previous_answered: int = 0
    quiet: bool = False
    """No answer at all over the last few periods although prompts were delivered."""

    @property
    def rate(self) -> float | None:
        return self.answered / self.delivered if self.delivered else None

    @property
    def previous_rate(self) -> float | None:
        return self.previous_answered / self.previous_delivered if self.previous_delivered else None

    @property
    def change(self) -> float | None:
        if self.rate is None or self.previous_rate is None:
            return None
        return self.rate - self.previous_rate


@dataclass(frozen=True)
class OrgFigure:
    name: str
    value: float | None
    target: float | None


@dataclass(frozen=True)
class MeasureFigure:
    key: str
    name: str
    unit: str
    aggregation: str
    period_keys: tuple[str, ...]
    total: float | None
    target: float | None
    by_org: tuple[OrgFigure, ...]
    history: tuple[tuple[str, float | None], ...] = ()
    """(period key, alliance figure) for the last periods, oldest first, for the chart."""
    period_target: float | None = None
    """The target of one period (the chart's target line): the alliance's, or in a digest
    filtered to one organisation, its own."""

    @property
    def share(self) -> float | None:
        """How much of the target the figure reaches (1.0: all of it)."""
        if self.total is None or not self.target:
            return None
        return self.total / self.target

    @property
    def status(self) -> Text:
        """On track, behind, no figure yet, or no target: a word for the summary."""
        if self.total is None:
            return _("no figure yet")
        if self.share is None:
            return _("no target")
        return _("on track") if self.share >= 1 else _("behind")


@dataclass(frozen=True)
class OrgReporting:
    """Measure figures an organisation owed in the digest's periods, and how many came on time."""

    name: str
    due: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class Pending:
    organisation: str
    people: tuple[tuple[str, str], ...]
    """(member name, the measure whose figures they owe; empty for an exercise)"""


@dataclass(frozen=True)
class PendingSummary:
    """Who has not answered, in numbers, when the names would not fit a chat message (the
    names are in the export)."""

    people: int
    organisations: int
    most_behind: tuple[tuple[str, int], ...]
    """(organisation, people who have not answered), the most first."""

    def line(self) -> Text:
        organisations = ngettext("{n} organisation", "{n} organisations", self.organisations)
        return ngettext(
            "{n} person in {organisations} has not answered yet (the names are in digest "
            "export). Most behind:",
            "{n} people in {organisations} have not answered yet (their names are in digest "
            "export). Most behind:",
            self.people,
            organisations=organisations,
        )


@dataclass(frozen=True)
class Answer:
    checkin_id: int
    organisation: str
    member: str
    prompt: str
    text: str
    starred: bool = False
    prompt_id: str = ""


@dataclass(frozen=True)
class ExerciseGroup:
    """Everyone's answers to one exercise, so staff see common barriers and needs."""

    prompt_id: str
    prompt: str
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Unreachable:
    """An organisation some (or all) of whose members the bot cannot reach on a platform
    (their workspace removed the bot or revoked its tokens); their data is kept."""

    organisation: str
    platform: str
    members: int
    """Its active members."""
    unreachable: int
    since: datetime
    reason: str

    @property
    def partly(self) -> bool:
        return self.unreachable < self.members


@dataclass(frozen=True)
class ThemeLine:
    """A theme several organisations' barrier and need answers share (``bot.insight.themes``)."""

    key: str
    label: dict[str, str]
    """Its name by language."""
    organisations: int
    answers: int
    example: str
    """The answer closest to the theme's centre."""
    example_organisation: str
    example_id: int


@dataclass(frozen=True)
class CurveAnswers:
    """An organisation's turn-the-curve answers about a measure that fell behind."""

    measure: str
    organisation: str
    answers: tuple[tuple[str, str], ...]
    """(question id, answer text), in the exercise's order."""


@dataclass(frozen=True)
class Connection:
    source: str
    target: str
    external: bool
    state: str
    on: str
    """The day it was named (ISO)."""


@dataclass(frozen=True)
class Partnerships:
    """The partnership map's news for the period (``bot.partners``)."""

    new: tuple[Connection, ...] = ()
    stalled: tuple[Connection, ...] = ()
    unconnected: tuple[str, ...] = ()
    """Member organisations no connection names yet."""
    total: int = 0
    """Connections on the map by the period's end (declined readings left out)."""
    more_new: int = 0
    """New connections beyond those listed (the map and its export have them all)."""
    more_stalled: int = 0

    @property
    def empty(self) -> bool:
        return not (self.new or self.stalled or self.total)


@dataclass(frozen=True)
class Digest:
    alliance: str
    period: Period
    timezone: str
    responses: tuple[OrgResponse, ...]
    measures: tuple[MeasureFigure, ...]
    pending: tuple[Pending, ...]
    organisation_filter: str | None = None
    """The name of the one organisation the digest is filtered to."""
    reporting: tuple[OrgReporting, ...] = ()
    highlights: tuple[Answer, ...] = ()
    highlights_are_starred: bool = False
    groups: tuple[ExerciseGroup, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    unreachable: tuple[Unreachable, ...] = ()
    pending_summary: PendingSummary | None = None
    """Set, and ``pending`` left empty, when too many people have not answered to name them."""
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    """Measure labels in other languages, by their English (``bot.i18n.pick``)."""
    themes: tuple[ThemeLine, ...] = ()
    curves: tuple[CurveAnswers, ...] = ()
    partnerships: Partnerships = field(default_factory=Partnerships)

    """Organisations the bot cannot reach (all or some of their members), and why."""

    @property
    def delivered(self) -> int:
        return sum(r.delivered for r in self.responses)

    @property
    def answered(self) -> int:
        return sum(r.answered for r in self.responses)

    @property
    def quiet(self) -> tuple[OrgResponse, ...]:
        return tuple(r for r in self.responses if r.quiet)


@dataclass(frozen=True)
class SharedPost:
    """The alliance-wide highlights: only answers their authors marked shareable."""

    alliance: str
    period: Period
    groups: tuple[ExerciseGroup, ...]
