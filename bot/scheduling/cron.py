"""Cron expressions with standard crontab meaning, turned into APScheduler triggers.

APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0; we read crontab's meaning
and hand APScheduler weekday names, so ``0 9 * * 1`` is Monday 09:00 as every admin expects.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_ONE_SECOND = timedelta(seconds=1)
HELP = (
    "Write five fields, minute hour day-of-month month day-of-week, in the member's local time, "
    "for example “0 9 * * MON” (Mondays at 09:00) or “30 8 1 * *” (the 1st of each month, 08:30)."
)


def _day_number(token: str) -> int:
    token = token.lower()
    if token[:3] in _DAY_NAMES and (len(token) == 3 or token.isalpha()):
        return _DAY_NAMES.index(token[:3])
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(
        f"“{token}” is not a day of the week; use 0-7 (0 and 7 are Sunday) or MON..SUN."
    )


def _weekdays(field: str) -> str:
    """Expand a crontab weekday field into APScheduler's weekday names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"“{part}” has a step that is not a positive number.")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            left, right = base.split("-", 1)
            first, last = _day_number(left), _day_number(right)
            if right.strip() == "7":
                last = 7
            if last < first:
                raise ValueError(f"“{base}” runs backwards; write the earlier day first.")
        else:
            first = last = _day_number(base)
        days.update(d % 7 for d in range(first, last + 1, step or 1))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


@dataclass(frozen=True)
class CronSpec:
    """A validated cron expression; ``trigger(zone)`` fires it in one time zone."""

    expression: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str

    def trigger(self, zone: tzinfo | str) -> BaseTrigger:
        """Crontab fires when day-of-month *or* day-of-week matches if both are restricted."""
        if self.day != "*" and self.day_of_week != "*":
            return OrTrigger(
                [
                    self._cron(zone, day=self.day, dow="*"),
                    self._cron(zone, day="*", dow=self.day_of_week),
                ]
            )
        return self._cron(zone, day=self.day, dow=self.day_of_week)

    def _cron(self, zone: tzinfo | str, *, day: str, dow: str) -> CronTrigger:
        return CronTrigger(
            minute=self.minute,
            hour=self.hour,
            day=day,
            month=self.month,
            day_of_week=dow,
            timezone=zone,
        )

    def next_after(self, moment: datetime, zone: tzinfo | str) -> datetime | None:
        """The first fire strictly after ``moment`` (an aware datetime)."""
        trigger = self.trigger(zone)
        fire: datetime | None = trigger.get_next_fire_time(None, moment)
        if fire is not None and fire <= moment:
            fire = trigger.get_next_fire_time(fire, fire.replace(microsecond=0) + _ONE_SECOND)
        return fire


def parse_cron(expression: str) -> CronSpec:
    """Read a crontab expression (or @daily/@weekly/@monthly); ValueError says what to fix."""
    text = " ".join(str(expression).split())
    text = _MACROS.get(text.lower(), text)
    fields = text.split(" ")
    if len(fields) != 5:
        raise ValueError(f"“{expression}” has {len(fields)} fields, not 5. {HELP}")
    minute, hour, day, month, dow = fields
    if not re.fullmatch(r"[0-9A-Za-z*,/\-?]+", "".join(fields)):
        raise ValueError(f"“{expression}” has characters cron does not use. {HELP}")
    try:
        spec = CronSpec(text, minute, hour, day, month, _weekdays(dow))
        spec.trigger("UTC")
    except ValueError as exc:
        field = next(
            (name for name, value in zip(_FIELDS, fields, strict=True) if value in str(exc)), None
        )
        where = f" (the {field} field)" if field else ""
        raise ValueError(
            f"“{expression}” is not a schedule I can read{where}: {exc}. {HELP}"
        ) from None
    return spec


MAX_RUNS_PER_TICK = 400
"""Runs of one schedule fanned out per tick (a long outage catches up over several)."""


def due_runs(
    spec: CronSpec, tz: tzinfo, since: datetime, now: datetime, limit: int = MAX_RUNS_PER_TICK
) -> list[datetime]:
    """The fire times after ``since`` up to ``now`` (at most ``limit``; the rest next tick)."""
    runs: list[datetime] = []
    fire = spec.next_after(since, tz)
    while fire is not None and fire <= now and len(runs) < limit:
        runs.append(fire)
        fire = spec.next_after(fire, tz)
    if len(runs) >= limit:
        log.warning(
            "more than %d runs of %s were due at once; the rest follow next tick",
            limit,
            spec.expression,
        )
    return runs


def caught_up(spec: CronSpec, tz: tzinfo, handled: datetime, now: datetime) -> bool:
    fire = spec.next_after(handled, tz)
    return fire is None or fire > now
