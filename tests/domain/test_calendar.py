"""Tests for bot.domain.calendar: Moroccan holidays and working-day arithmetic."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import calendar as calendar_module
from bot.domain.calendar import Holiday, WorkingCalendar, morocco_holidays

CAL = WorkingCalendar.morocco(2023, 2029)

# Dates well inside the covered years, so results never leave the holiday table.
dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
counts = st.integers(min_value=0, max_value=120)

# Arbitrary calendars: the properties hold for any holiday set and any weekend.
holiday_sets = st.sets(
    st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 6, 30)), max_size=60
)
weekends = st.frozensets(st.integers(min_value=0, max_value=6), max_size=5)


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    days = draw(holiday_sets)
    return WorkingCalendar(
        [Holiday(d, f"h{d.isoformat()}", estimated=False) for d in days], draw(weekends)
    )


# --- morocco_holidays ------------------------------------------------------------


def test_2026_holidays_fixed_and_hijri() -> None:
    hs = {h.day: h for h in morocco_holidays([2026])}
    # Fixed holidays of décret 2-77-169 plus Amazigh New Year (2024) and Unity Day (2026).
    for month, day in [(1, 1), (1, 11), (1, 14), (5, 1), (7, 30), (8, 14), (8, 20),
                       (8, 21), (10, 31), (11, 6), (11, 18)]:
        assert not hs[date(2026, month, day)].estimated
    assert hs[date(2026, 10, 31)].name == "Unity Day"
    assert hs[date(2026, 11, 18)].name == "Independence Day"
    # Hijri holidays are estimated and lose the "(estimated)" suffix.
    adha = hs[date(2026, 5, 27)]
    assert adha == Holiday(date(2026, 5, 27), "Eid al-Adha", estimated=True)
    assert hs[date(2026, 5, 28)].estimated
    assert all("(estimated)" not in h.name for h in hs.values())


def test_unity_day_only_from_2026() -> None:
    assert date(2025, 10, 31) not in {h.day for h in morocco_holidays([2025])}
    assert date(2027, 10, 31) in {h.day for h in morocco_holidays([2027])}


def test_same_day_holidays_are_split() -> None:
    # 14 Aug 2027: Oued Ed-Dahab Day (fixed) and the Prophet's Birthday (estimated);
    # the package joins them with "; ".
    on_day = [h for h in morocco_holidays([2027]) if h.day == date(2027, 8, 14)]
    assert {(h.name, h.estimated) for h in on_day} == {
        ("Oued Ed-Dahab Day", False),
        ("Prophet's Birthday", True),
    }
    # The calendar merges them; the day off is certain because one part is fixed.
    merged = WorkingCalendar(on_day).holiday(date(2027, 8, 14))
    assert merged is not None and not merged.estimated
    assert "Oued Ed-Dahab Day" in merged.name and "Prophet's Birthday" in merged.name


def test_missing_fixed_holidays_are_added(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate an older `holidays` release that knows neither Yennayer nor Unity Day.
    def fake(country: str, years: Any, language: str) -> dict[date, str]:
        return {date(2023, 1, 1): "New Year's Day", date(2026, 1, 1): "New Year's Day"}

    monkeypatch.setattr(calendar_module.holidays_lib, "country_holidays", fake)
    days = {h.day: h.name for h in morocco_holidays([2023, 2026])}
    assert days[date(2026, 1, 14)] == "Amazigh New Year"
    assert days[date(2026, 10, 31)] == "Unity Day"
    # Neither existed in 2023.
    assert date(2023, 1, 14) not in days and date(2023, 10, 31) not in days


def test_no_years() -> None:
    assert morocco_holidays([]) == []


# --- WorkingCalendar: hand-computed cases ----------------------------------------


def test_is_working_day() -> None:
    assert CAL.is_working_day(date(2026, 11, 13))  # Friday is a working day in Morocco
    assert not CAL.is_working_day(date(2026, 11, 14))  # Saturday
    assert not CAL.is_working_day(date(2026, 11, 15))  # Sunday
    assert not CAL.is_working_day(date(2026, 11, 18))  # Wednesday, Independence Day
    h = CAL.holiday(date(2026, 11, 18))
    assert h is not None and h.name == "Independence Day"
    assert CAL.holiday(date(2026, 11, 19)) is None


def test_next_working_day() -> None:
    # A working day is its own next working day.
    assert CAL.next_working_day(date(2026, 11, 13)) == date(2026, 11, 13)
    # Fri 6 Nov 2026 is Green March, then the weekend: next is Mon 9 Nov.
    assert CAL.next_working_day(date(2026, 11, 6)) == date(2026, 11, 9)
    # Fri 1 Jan 2027 New Year, Sat, Sun: Mon 4 Jan.
    assert CAL.next_working_day(date(2027, 1, 1)) == date(2027, 1, 4)


def test_add_working_days_crosses_weekend_and_fixed_holiday() -> None:
    # From Fri 13 Nov 2026: Mon 16 (1), Tue 17 (2), Wed 18 is Independence Day,
    # Thu 19 (3), Fri 20 (4).
    assert CAL.add_working_days(date(2026, 11, 13), 0) == date(2026, 11, 13)
    assert CAL.add_working_days(date(2026, 11, 13), 1) == date(2026, 11, 16)
    assert CAL.add_working_days(date(2026, 11, 13), 3) == date(2026, 11, 19)
    assert CAL.add_working_days(date(2026, 11, 13), 4) == date(2026, 11, 20)


def test_add_working_days_from_a_day_off() -> None:
    # From Sat 14 Nov 2026 the first working day after is Mon 16.
    assert CAL.add_working_days(date(2026, 11, 14), 1) == date(2026, 11, 16)


def test_add_working_days_across_eid() -> None:
    # From Tue 26 May 2026: Wed 27 and Thu 28 are Eid al-Adha (estimated),
    # so the 1st working day after is Fri 29, the 2nd Mon 1 June.
    assert CAL.add_working_days(date(2026, 5, 26), 1) == date(2026, 5, 29)
    assert CAL.add_working_days(date(2026, 5, 26), 2) == date(2026, 6, 1)


def test_add_working_days_rejects_negative() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 1, 5), -1)


def test_add_calendar_days() -> None:
    assert CAL.add_calendar_days(date(2026, 12, 30), 3) == date(2027, 1, 2)


def test_working_days_between() -> None:
    # (Fri 13, Fri 20 Nov 2026]: Mon 16, Tue 17, Thu 19, Fri 20 -> 4 (Wed 18 is a holiday).
    assert CAL.working_days_between(date(2026, 11, 13), date(2026, 11, 20)) == 4
    assert CAL.working_days_between(date(2026, 11, 20), date(2026, 11, 13)) == -4
    assert CAL.working_days_between(date(2026, 11, 13), date(2026, 11, 13)) == 0
    # (Fri 13, Sun 15]: only weekend days -> 0.
    assert CAL.working_days_between(date(2026, 11, 13), date(2026, 11, 15)) == 0


def test_custom_weekend() -> None:
    # A Friday/Saturday weekend (not Morocco, but the parameter must work).
    cal = WorkingCalendar([], weekend=frozenset({4, 5}))
    assert cal.add_working_days(date(2026, 11, 12), 1) == date(2026, 11, 15)  # Thu -> Sun


def test_invalid_weekend() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar([], weekend=frozenset(range(7)))
    with pytest.raises(ValueError):
        WorkingCalendar([], weekend=frozenset({7}))


def test_morocco_rejects_reversed_years() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar.morocco(2027, 2026)


# --- properties ------------------------------------------------------------------


@given(dates, st.integers(min_value=1, max_value=120))
def test_result_is_working_day(d: date, n: int) -> None:
    assert CAL.is_working_day(CAL.add_working_days(d, n))


@given(dates, counts)
def test_between_inverts_add(d: date, n: int) -> None:
    assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@given(dates, counts)
def test_monotonic(d: date, n: int) -> None:
    assert CAL.add_working_days(d, n) < CAL.add_working_days(d, n + 1)


@given(dates, counts, counts)
def test_additive(d: date, a: int, b: int) -> None:
    assert CAL.add_working_days(d, a + b) == CAL.add_working_days(CAL.add_working_days(d, a), b)


@given(dates, dates)
def test_between_antisymmetric(a: date, b: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)


@given(calendars(), st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31)),
       st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=40))
def test_properties_hold_for_any_calendar(cal: WorkingCalendar, d: date, a: int, b: int) -> None:
    end = cal.add_working_days(d, a + b)
    assert end == cal.add_working_days(cal.add_working_days(d, a), b)
    assert cal.working_days_between(d, end) == a + b
    if a + b:
        assert cal.is_working_day(end)
    # No working day is jumped over: every day strictly between d and the 1st is off.
    first = cal.add_working_days(d, 1)
    day = d + timedelta(days=1)
    while day < first:
        assert not cal.is_working_day(day)
        day += timedelta(days=1)
    nxt = cal.next_working_day(d)
    assert cal.is_working_day(nxt) and nxt >= d
