"""Figures of how collectivities answer, for the public transparency page and its open data. Pure.

One `Fact` per request (from the request row and the first decision in its event log) is counted into the
country, its region, its province and its commune. A decision is an answer in full or in part, or a refusal;
the time to answer is counted in working days from the receipt date to the decision date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from bot.domain.calendar import WorkingCalendar
from bot.domain.directory import Directory
from bot.domain.requests import OPEN_STATUSES

COUNTRY = "MA"  # the code of the whole country in the figures
ANSWERS = frozenset({"answer", "answer_partially"})
DECISIONS = ANSWERS | {"refuse"}


@dataclass(frozen=True, slots=True)
class Fact:
    """What the figures need of one request; never a name, a contact or a text."""

    code: str  # the collectivity it is addressed to now
    kind: str
    status: str
    received_on: date
    due_on: date
    decision: str | None = None  # the first decision event's kind: answer, answer_partially or refuse
    decided_on: date | None = None
    ground: str | None = None  # the legal ground of a refusal


@dataclass(slots=True)
class Figures:
    """The counts of one area (the country, a region, a province or a commune)."""

    code: str
    level: str  # "country" | "region" | "province" | "commune"
    received: int = 0
    answered: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    decided: int = 0
    on_time: int = 0
    days: Counter[int] = field(default_factory=Counter)  # working days to a decision -> how many
    months: dict[str, list[int]] = field(default_factory=dict)  # "YYYY-MM" -> [received, decided]

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    @property
    def median_days(self) -> float | None:
        """The median of the working days to a decision; None before any decision."""
        total = sum(self.days.values())
        if not total:
            return None
        ordered = sorted(self.days.items())

        def nth(n: int) -> int:
            seen = 0
            for days, count in ordered:
                seen += count
                if seen > n:
                    return days
            return ordered[-1][0]

        low, high = nth((total - 1) // 2), nth(total // 2)
        return (low + high) / 2

    @property
    def on_time_share(self) -> float | None:
        """The share of decisions made by the legal due date; None before any decision."""
        return self.on_time / self.decided if self.decided else None


class WorkingDayIndex:
    """Working days between two dates in constant time, from a running count over the calendar's years."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self._count: dict[date, int] = {}

    def _index(self, day: date) -> int:
        """Working days from 1 January of `day`'s year to `day`, plus those of the years before since 2000."""
        found = self._count.get(day)
        if found is None:
            origin = date(day.year, 1, 1)
            base = self._count.get(origin)
            if base is None:
                base = self.calendar.working_days_between(date(2000, 1, 1), origin)
                self._count[origin] = base
            found = base + self.calendar.working_days_between(origin, day)
            self._count[day] = found
        return found

    def between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (negative when end is before start)."""
        return self._index(end) - self._index(start)


def areas_of(directory: Directory, code: str) -> list[tuple[str, str]]:
    """The (code, level) of the collectivity and each one above it, then the country."""
    found = directory.get(code)
    chain: list[tuple[str, str]] = []
    while found is not None:
        chain.append((found.code, found.level))
        found = directory.parent(found)
    chain.append((COUNTRY, "country"))
    return chain


class Tally:
    """The figures, counted one fact at a time: memory grows with the areas and months, not with the facts."""

    def __init__(self, directory: Directory, calendar: WorkingCalendar, today: date) -> None:
        self.directory = directory
        self.today = today
        self.index = WorkingDayIndex(calendar)
        self.figures: dict[str, Figures] = {}
        self.facts = 0
        self._chains: dict[str, list[Figures]] = {}
        self._open = {status.value for status in OPEN_STATUSES}

    def add(self, facts: Iterable[Fact]) -> None:
        """Count `facts` in the country and in every area above each one's collectivity."""
        for fact in facts:
            self.facts += 1
            chain = self._chains.get(fact.code)
            if chain is None:
                chain = [self.figures.setdefault(code, Figures(code, level))
                         for code, level in areas_of(self.directory, fact.code)]
                self._chains[fact.code] = chain
            month = fact.received_on.strftime("%Y-%m")
            decided_month = fact.decided_on.strftime("%Y-%m") if fact.decided_on else None
            days = self.index.between(fact.received_on, fact.decided_on) if fact.decided_on else 0
            overdue = fact.status in self._open and fact.due_on < self.today
            for area in chain:
                area.received += 1
                area.months.setdefault(month, [0, 0])[0] += 1
                if overdue:
                    area.overdue += 1
                if fact.decision in DECISIONS and fact.decided_on is not None and decided_month is not None:
                    area.decided += 1
                    area.days[max(days, 0)] += 1
                    area.months.setdefault(decided_month, [0, 0])[1] += 1
                    if fact.decided_on <= fact.due_on:
                        area.on_time += 1
                    if fact.decision in ANSWERS:
                        area.answered += 1
                    else:
                        area.refused[fact.ground or "unknown"] += 1


def compute(facts: Iterable[Fact], directory: Directory, calendar: WorkingCalendar,
            today: date) -> dict[str, Figures]:
    """The figures of the country and of every area that received at least one request, by code."""
    tally = Tally(directory, calendar, today)
    tally.add(facts)
    return tally.figures
