"""Legal deadlines of law 31-13 (access to information) and decree 2-17-265 (complaints) as data.

Each deadline is a `Rule` (a number of days in working or calendar units, plus
its legal basis). `due_date` turns a rule and the moment a request was received
into a `DueDate` that carries the whole computation (legal day 0, due day, the
days off that were skipped) so the UI can show its reasoning.

Counting conventions (knowledge/law.md §0, §1.4, §1.5, §8; several are
unverified in the sources and chosen here as the prudent reading):

* `received_at` is an aware datetime (stored in UTC); it is read in
  Africa/Casablanca through zoneinfo, because Morocco is UTC+1 except during
  Ramadan when it is UTC+0 — a fixed offset would misdate receipts.
* Working-day rules: if the local receipt moment is on a working day no later
  than closing time (receipts before opening count as that day), day 0 is that
  day. Otherwise (after closing, or on a weekend/holiday) day 0 is the next
  working day and `start_shifted` is True. The due day is the `days`-th working
  day strictly after day 0.
* Calendar-day rules: day 0 is the local receipt day whatever the hour; the due
  day is day 0 + `days`, moved forward to the next working day if it is a day
  off (the days moved over are recorded in `skipped`).

This module is pure: no I/O, no clock. It may import the standard library and
`bot.domain.calendar` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkingCalendar

__all__ = [
    "CASABLANCA",
    "EXTENSION_OF",
    "RULES",
    "DueDate",
    "OfficeHours",
    "Rule",
    "Skipped",
    "Unit",
    "due_date",
    "extend",
    "extension_rule",
    "request_due",
    "rule_for",
    "rules_with",
    "window_end",
]

CASABLANCA = ZoneInfo("Africa/Casablanca")
_ONE_DAY = timedelta(days=1)
_END_OF_DAY = time(23, 59, 59)


class Unit(StrEnum):
    """How a rule's days are counted."""

    WORKING = "working"
    CALENDAR = "calendar"


@dataclass(frozen=True, slots=True)
class Rule:
    """A legal deadline: `days` in `unit`, with a short legal basis for display."""

    id: str
    days: int
    unit: Unit
    basis: str


def _build_rules(urgent_unit: Unit) -> Mapping[str, Rule]:
    """The rule table with the given unit for the urgent 3-day deadlines."""
    rules = (
        Rule("access", 20, Unit.WORKING, "Loi 31-13, art. 16"),
        # Extension requires prior reasoned notice to the requester (mediateur.ma).
        Rule("access_extension", 20, Unit.WORKING, "Loi 31-13, art. 16"),
        # The text says "days" without "working": the unit is a setting (law.md §8.1).
        Rule("urgent", 3, urgent_unit, "Loi 31-13, art. 17"),
        Rule("urgent_extension", 3, urgent_unit, "Loi 31-13, art. 17"),
        # The citizen's window to complain to the head of the body.
        Rule("complaint_to_head_filing", 20, Unit.WORKING, "Loi 31-13, art. 19"),
        # 15 days and its unit are unverified; calendar is the shorter, safer reading.
        Rule("head_answer", 15, Unit.CALENDAR, "Loi 31-13, art. 19 (non vérifié)"),
        Rule("cdai_filing", 30, Unit.CALENDAR, "Loi 31-13, art. 20"),
        Rule("cdai_answer", 30, Unit.CALENDAR, "Loi 31-13, art. 20 (non vérifié)"),
        Rule("feedback_answer", 60, Unit.CALENDAR, "Décret 2-17-265"),
        Rule("feedback_ack", 15, Unit.CALENDAR, "Décret 2-17-265"),
    )
    return MappingProxyType({r.id: r for r in rules})


def rules_with(urgent_unit: Unit = Unit.CALENDAR) -> Mapping[str, Rule]:
    """Read-only rule table keyed by id; `urgent_unit` applies to "urgent" and "urgent_extension"."""
    return _build_rules(urgent_unit)


RULES: Mapping[str, Rule] = rules_with()

# The rule that extends each extensible rule (law 31-13 art. 16 and 17).
EXTENSION_OF: Mapping[str, str] = MappingProxyType(
    {"access": "access_extension", "urgent": "urgent_extension"}
)




def rule_for(kind: str, urgent: bool = False) -> str:
    """The id of the rule a new request of `kind` is due by.

    An access request has 20 working days, or 3 days when it is urgent (law 31-13 art. 16, 17); a complaint to the
    head of the collectivity is answered within "head_answer"; complaints, observations and suggestions (every
    other kind) within the 60 days of decree 2-17-265.
    """
    if kind == "access":
        return "urgent" if urgent else "access"
    if kind == "head_complaint":
        return "head_answer"
    return "feedback_answer"


def extension_rule(rule_id: str, rules: Mapping[str, Rule] = RULES) -> Rule | None:
    """The rule that extends `rule_id` (once, law 31-13 art. 16 and 17), or None when it cannot be extended."""
    extension = EXTENSION_OF.get(rule_id)
    return rules[extension] if extension is not None else None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An uncounted day off.

    `reason` is "weekend" or the holiday name (+ " (estimated)"), as logged with a request; `holidays` holds the
    names of the day's holidays (empty for a weekend) and `estimated` whether the day off is only an estimate
    (a Hijri date not confirmed yet), so readers never parse `reason`. Equality looks at (day, reason) only,
    which already says the rest.
    """

    day: date
    reason: str
    holidays: tuple[str, ...] = field(default=(), compare=False)
    estimated: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Local opening hours of the body; receipts after `closes` count from the next working day."""

    opens: time = time(8, 30)
    closes: time = time(16, 30)


@dataclass(frozen=True, slots=True)
class DueDate:
    """Result of a deadline computation.

    `start` is the legal day 0. `start_shifted` is True when day 0 is not the
    local receipt day (receipt after closing or on a day off, working-day rules
    only). `skipped` lists the non-working days that did not count: for working
    rules every day off in (start, due]; for calendar rules the days off the
    due day was moved over. `tz` is the zone the days are expressed in.
    """

    rule: Rule
    received_at: datetime
    start: date
    due: date
    skipped: tuple[Skipped, ...]
    start_shifted: bool
    tz: ZoneInfo = field(default=CASABLANCA)

    def due_at(self) -> datetime:
        """End of the due day (23:59:59 local time), as an aware UTC datetime."""
        return datetime.combine(self.due, _END_OF_DAY, tzinfo=self.tz).astimezone(UTC)


def _skipped(calendar: WorkingCalendar, d: date) -> Skipped:
    """Why `d` is off; a holiday wins over "weekend" because it is more specific."""
    h = calendar.holiday(d)
    if h is None:
        return Skipped(d, "weekend")
    names = tuple(dict.fromkeys(entry.name for entry in calendar.holidays_on(d))) or (h.name,)
    return Skipped(d, f"{h.name} (estimated)" if h.estimated else h.name, names, h.estimated)


def _days_off(calendar: WorkingCalendar, first: date, last: date) -> tuple[Skipped, ...]:
    """Every non-working day in [first, last], with its reason."""
    out: list[Skipped] = []
    d = first
    while d <= last:
        if not calendar.is_working_day(d):
            out.append(_skipped(calendar, d))
        d += _ONE_DAY
    return tuple(out)


def _count(
    rule: Rule, start: date, calendar: WorkingCalendar
) -> tuple[date, tuple[Skipped, ...]]:
    """Due day and skipped days for `rule` counted from day 0 = `start`."""
    if rule.days < 0:
        raise ValueError(f"rule {rule.id!r} has negative days")
    if rule.unit is Unit.WORKING:
        due = calendar.add_working_days(start, rule.days)
        return due, _days_off(calendar, start + _ONE_DAY, due)
    raw = calendar.add_calendar_days(start, rule.days)
    due = calendar.next_working_day(raw)
    # Calendar days all count; only the roll-over past a day off is "skipped".
    return due, _days_off(calendar, raw, due - _ONE_DAY)


def due_date(
    rule: Rule,
    received_at: datetime,
    calendar: WorkingCalendar,
    office_hours: OfficeHours = OfficeHours(),
    tz: ZoneInfo = CASABLANCA,
) -> DueDate:
    """Deadline for `rule` given an aware `received_at`; see the module docstring for the rules."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    local = received_at.astimezone(tz)
    local_day = local.date()
    if rule.unit is Unit.CALENDAR:
        start = local_day
    elif calendar.is_working_day(local_day) and local.time() <= office_hours.closes:
        # Before opening counts as that day: the request is waiting when the office opens.
        start = local_day
    elif calendar.is_working_day(local_day):
        start = calendar.next_working_day(local_day + _ONE_DAY)
    else:
        start = calendar.next_working_day(local_day)
    due, skipped = _count(rule, start, calendar)
    return DueDate(
        rule=rule,
        received_at=received_at,
        start=start,
        due=due,
        skipped=skipped,
        start_shifted=start != local_day,
        tz=tz,
    )


def extend(due: DueDate, rule: Rule, calendar: WorkingCalendar) -> DueDate:
    """Extension: `rule.days` more in `rule.unit` counted from `due.due` (the new day 0)."""
    new_due, skipped = _count(rule, due.due, calendar)
    return replace(
        due, rule=rule, start=due.due, due=new_due, skipped=skipped, start_shifted=False
    )


def request_due(
    rule_id: str,
    received_at: datetime,
    calendar: WorkingCalendar,
    rules: Mapping[str, Rule] = RULES,
    extended: bool = False,
) -> DueDate:
    """The due date of a stored request: its rule from receipt, then the extension when `extended`.

    Requests store their base rule ("access", "urgent"…) and whether they were extended; rules without an
    extension ignore `extended`.
    """
    first = due_date(rules[rule_id], received_at, calendar)
    extension = extension_rule(rule_id, rules) if extended else None
    return extend(first, extension, calendar) if extension is not None else first


def window_end(day_zero: date, rule: Rule, calendar: WorkingCalendar) -> date:
    """Last day of a window of `rule` counted from `day_zero` (e.g. the citizen's time to complain)."""
    return _count(rule, day_zero, calendar)[0]
