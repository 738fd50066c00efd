"""Moroccan working-day calendar: pure date arithmetic for legal deadlines.

A *working day* is a day that is neither a weekend day (Saturday and Sunday by
default) nor a public holiday (décret 2-77-169, see knowledge/law.md §7). The
holiday table is data: it is seeded from the `holidays` package (Hijri dates
there are astronomical *estimates*) and may later be corrected by an admin once
the Ministry of Habous announces the moon sighting. Those corrections are
`Override`s (a holiday confirmed, moved or added, a day made working) applied on
top of the seeded table; `WorkingCalendar.set_overrides` swaps them in place so
that every holder of the shared calendar object (the app, the conversation
service, the jobs) sees the corrected table at once.

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

__all__ = ["Holiday", "Override", "WorkingCalendar", "apply_overrides", "morocco_holidays"]

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


@dataclass(frozen=True, slots=True)
class Override:
    """A correction of one day by coordinators.

    kind "holiday": the day is the holiday `name`, certain (not estimated); it replaces a seeded
    entry of the same name on that day ("confirmed" by moon sighting, "moved" there, or "added").
    kind "working": the seeded holiday `name` does not fall on that day (it was "moved" away);
    an empty `name` removes every holiday of the day. Weekends stay weekends either way.
    """

    day: date
    kind: str
    name: str
    source: str

    def __post_init__(self) -> None:
        if self.kind not in ("holiday", "working"):
            raise ValueError(f"override kind must be 'holiday' or 'working', got {self.kind!r}")
        if self.kind == "holiday" and not self.name.strip():
            raise ValueError("a holiday override needs a name")


def apply_overrides(base: Iterable[Holiday], overrides: Iterable[Override]) -> list[Holiday]:
    """The holiday entries of `base` corrected by `overrides` (at most one per day; later ones win)."""
    by_day: dict[date, list[Holiday]] = {}
    for h in base:
        by_day.setdefault(h.day, []).append(h)
    latest = {o.day: o for o in overrides}
    for day, o in latest.items():
        entries = by_day.get(day, [])
        if o.kind == "working":
            by_day[day] = [h for h in entries if o.name and h.name != o.name]
        else:
            by_day[day] = [h for h in entries if h.name != o.name] + [Holiday(day, o.name, False)]
    return sorted((h for entries in by_day.values() for h in entries),
                  key=lambda h: (h.day, h.estimated, h.name))


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

    __slots__ = ("_base", "_entries", "_holidays", "_overrides", "_weekend")

    def __init__(
        self,
        holidays: Iterable[Holiday],
        weekend: frozenset[int] = frozenset({5, 6}),
        overrides: Iterable[Override] = (),
    ) -> None:
        """Build from holidays (same-day entries merged) corrected by `overrides`; `weekend` holds weekday()s."""
        if not weekend <= frozenset(range(7)):
            raise ValueError(f"weekend days must be in 0..6, got {sorted(weekend)}")
        if len(weekend) == 7:
            # Otherwise next_working_day would loop forever.
            raise ValueError("a calendar needs at least one working weekday")
        self._base = tuple(holidays)
        self._weekend = weekend
        self.set_overrides(overrides)

    @classmethod
    def morocco(
        cls, first_year: int, last_year: int, overrides: Iterable[Override] = ()
    ) -> WorkingCalendar:
        """Sat/Sun weekends plus Moroccan holidays for first_year..last_year inclusive, then `overrides`."""
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} > last_year {last_year}")
        return cls(morocco_holidays(range(first_year, last_year + 1)), overrides=overrides)

    def set_overrides(self, overrides: Iterable[Override]) -> None:
        """Replace the corrections in place; every holder of this object sees the new table at once."""
        fixed = tuple(sorted(overrides, key=lambda o: o.day))
        entries: dict[date, tuple[Holiday, ...]] = {}
        for h in apply_overrides(self._base, fixed):
            entries[h.day] = (*entries.get(h.day, ()), h)
        table: dict[date, Holiday] = {}
        for day, listed in entries.items():
            merged = listed[0]
            for h in listed[1:]:
                merged = _merge(merged, h)
            table[day] = merged
        # Assigned last and together-ish: readers on the event loop never see a half-built table.
        self._entries, self._holidays, self._overrides = entries, table, fixed

    def with_overrides(self, overrides: Iterable[Override]) -> WorkingCalendar:
        """A new calendar with the same seeded holidays and weekend, corrected by `overrides` instead."""
        return WorkingCalendar(self._base, self._weekend, overrides)

    @property
    def overrides(self) -> tuple[Override, ...]:
        """The corrections in force, sorted by day."""
        return self._overrides

    def holidays_on(self, d: date) -> tuple[Holiday, ...]:
        """Each holiday on `d` separately (two names on one day give two entries)."""
        return self._entries.get(d, ())

    def holidays_between(self, first: date, last: date) -> list[Holiday]:
        """Every holiday entry with first <= day <= last, sorted by day."""
        return [h for day in sorted(self._entries) if first <= day <= last for h in self._entries[day]]

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
