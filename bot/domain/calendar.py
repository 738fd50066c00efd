"""Moroccan working-day calendar: pure date arithmetic for legal deadlines.

A *working day* is a day that is neither a weekend day (Saturday and Sunday by
default) nor a public holiday (décret 2-77-169, see knowledge/law.md §7). The
holiday table is data: it is seeded from the `holidays` package (Hijri dates
there are astronomical *estimates*) and may later be corrected by an admin once
the Ministry of Habous announces the moon sighting; building a new
`WorkingCalendar` from the corrected table is how deadlines get recomputed.

This module is pure: no I/O, no clock, no global state. It may import only the
standard library and `holidays`.

Dates outside the holiday table (e.g. years not passed to `morocco()`) are
treated as having no holidays, only weekends; callers must cover the years
they compute over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import holidays as holidays_lib

__all__ = ["Holiday", "WorkingCalendar", "morocco_holidays"]

_ONE_DAY = timedelta(days=1)
_ESTIMATED_SUFFIX = " (estimated)"

# Fixed holidays the package version in use might lack: (month, day, name, first year).
# Amazigh New Year is a paid holiday since 2024; Unity Day was created in Nov 2025
# and first falls on 31 Oct 2026 (law.md §7.1).
_GUARANTEED_FIXED: tuple[tuple[int, int, str, int], ...] = (
    (1, 14, "Amazigh New Year", 2024),
    (10, 31, "Unity Day", 2026),
)


@dataclass(frozen=True, slots=True)
class Holiday:
    """One public holiday; `estimated` means a Hijri date not yet confirmed by moon sighting."""

    day: date
    name: str
    estimated: bool


def morocco_holidays(years: Iterable[int]) -> list[Holiday]:
    """Moroccan public holidays for `years`, sorted by day, English names without "(estimated)".

    Two holidays on the same day (e.g. 14 Aug 2027: Oued Ed-Dahab Day and the
    Prophet's Birthday) are returned as two entries, so each can be confirmed or
    moved on its own.
    """
    year_list = sorted(set(years))
    if not year_list:
        return []
    table = holidays_lib.country_holidays("MA", years=year_list, language="en_US")
    result: list[Holiday] = []
    for day, joined in table.items():
        # The package joins same-day holidays with "; ".
        for raw in joined.split("; "):
            estimated = raw.endswith(_ESTIMATED_SUFFIX)
            name = raw[: -len(_ESTIMATED_SUFFIX)] if estimated else raw
            result.append(Holiday(day=day, name=name.strip(), estimated=estimated))
    present = {h.day for h in result if not h.estimated}
    for year in year_list:
        for month, dom, name, since in _GUARANTEED_FIXED:
            day = date(year, month, dom)
            if year >= since and day not in present:
                result.append(Holiday(day=day, name=name, estimated=False))
    result.sort(key=lambda h: (h.day, h.estimated, h.name))
    return result


def _merge(first: Holiday, second: Holiday) -> Holiday:
    """Combine two holidays on the same day into one entry."""
    names = first.name if second.name == first.name else f"{first.name}; {second.name}"
    # The day is certainly off as soon as one of its holidays is certain.
    return Holiday(day=first.day, name=names, estimated=first.estimated and second.estimated)


class WorkingCalendar:
    """Weekends plus a holiday table; answers working-day questions in O(days spanned)."""

    __slots__ = ("_holidays", "_weekend")

    def __init__(
        self, holidays: Iterable[Holiday], weekend: frozenset[int] = frozenset({5, 6})
    ) -> None:
        """Build from holidays (same-day entries merged); `weekend` holds `date.weekday()` values."""
        if not weekend <= frozenset(range(7)):
            raise ValueError(f"weekend days must be in 0..6, got {sorted(weekend)}")
        if len(weekend) == 7:
            # Otherwise next_working_day would loop forever.
            raise ValueError("a calendar needs at least one working weekday")
        table: dict[date, Holiday] = {}
        for h in holidays:
            existing = table.get(h.day)
            table[h.day] = h if existing is None else _merge(existing, h)
        self._holidays = table
        self._weekend = weekend

    @classmethod
    def morocco(cls, first_year: int, last_year: int) -> WorkingCalendar:
        """Sat/Sun weekends plus Moroccan holidays for first_year..last_year inclusive."""
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} > last_year {last_year}")
        return cls(morocco_holidays(range(first_year, last_year + 1)))

    def __repr__(self) -> str:
        return f"WorkingCalendar({len(self._holidays)} holidays, weekend={sorted(self._weekend)})"

    def holiday(self, d: date) -> Holiday | None:
        """The holiday on `d` (merged if several), or None."""
        return self._holidays.get(d)

    def is_working_day(self, d: date) -> bool:
        """True when `d` is neither a weekend day nor a holiday."""
        return d.weekday() not in self._weekend and d not in self._holidays

    def next_working_day(self, d: date) -> date:
        """The first working day on or after `d` (`d` itself if it is one)."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day strictly after `start`; n == 0 returns `start` unchanged."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        d = start
        remaining = n
        while remaining:
            d += _ONE_DAY
            if self.is_working_day(d):
                remaining -= 1
        return d

    def add_calendar_days(self, start: date, n: int) -> date:
        """`start` plus n calendar days (no adjustment for days off)."""
        return start + timedelta(days=n)

    def working_days_between(self, a: date, b: date) -> int:
        """Count of working days d with a < d <= b; the negated count for (b, a] when b < a."""
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        d = a + _ONE_DAY
        while d <= b:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count
