"""Tests for bot.domain.deadlines: hand-computed legal deadlines and invariants.

Weekdays used below (2026): Fri 13 Nov, Wed 18 Nov (Independence Day), Sat 31 Oct
(Unity Day), Fri 6 Nov (Green March), Wed 27 / Thu 28 May (Eid al-Adha, estimated),
Fri 20 / Sat 21 Mar (Eid al-Fitr, estimated), Tue 16 Jun (Islamic New Year, estimated).
Africa/Casablanca is UTC+1, except 15 Feb 02:00 UTC – 22 Mar 02:00 UTC 2026 (Ramadan): UTC+0.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.calendar import Holiday, WorkingCalendar, morocco_holidays
from bot.domain.deadlines import (
    CASABLANCA,
    RULES,
    DueDate,
    OfficeHours,
    Rule,
    Skipped,
    Unit,
    due_date,
    extend,
    rules_with,
)

CAL = WorkingCalendar.morocco(2025, 2028)
ACCESS = RULES["access"]


def local(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """A Casablanca wall-clock moment, as aware UTC (how the store keeps it)."""
    return datetime(y, mo, d, h, mi, tzinfo=CASABLANCA).astimezone(UTC)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def non_weekend(due: DueDate) -> list[tuple[date, str]]:
    return [(s.day, s.reason) for s in due.skipped if s.reason != "weekend"]


# --- rule table ------------------------------------------------------------------


def test_rule_table() -> None:
    expected = {
        "access": (20, Unit.WORKING),
        "access_extension": (20, Unit.WORKING),
        "urgent": (3, Unit.CALENDAR),
        "urgent_extension": (3, Unit.CALENDAR),
        "complaint_to_head_filing": (20, Unit.WORKING),
        "head_answer": (15, Unit.CALENDAR),
        "cdai_filing": (30, Unit.CALENDAR),
        "cdai_answer": (30, Unit.CALENDAR),
        "feedback_answer": (60, Unit.CALENDAR),
        "feedback_ack": (15, Unit.CALENDAR),
    }
    assert {k: (r.days, r.unit) for k, r in RULES.items()} == expected
    assert all(k == r.id and r.basis for k, r in RULES.items())
    with pytest.raises(TypeError):
        RULES["access"] = ACCESS  # type: ignore[index]


def test_urgent_unit_is_a_setting() -> None:
    working = rules_with(Unit.WORKING)
    assert working["urgent"].unit is Unit.WORKING
    assert working["urgent_extension"].unit is Unit.WORKING
    assert working["access"] == RULES["access"]
    assert RULES["urgent"].unit is Unit.CALENDAR  # the default table is untouched


# --- working-day rules: hand-computed --------------------------------------------


def test_access_crossing_independence_day() -> None:
    # Received Fri 13 Nov 2026 10:00 local (09:00 UTC), in office hours: day 0 = Fri 13.
    # Mon 16 (1), Tue 17 (2), Wed 18 Independence Day skipped, Thu 19 (3), Fri 20 (4),
    # 23–27 (5–9), 30 Nov–4 Dec (10–14), 7–11 Dec (15–19), Mon 14 Dec (20).
    d = due_date(ACCESS, local(2026, 11, 13), CAL)
    assert (d.start, d.due, d.start_shifted) == (date(2026, 11, 13), date(2026, 12, 14), False)
    assert non_weekend(d) == [(date(2026, 11, 18), "Independence Day")]
    # 4 weekends (14–15, 21–22, 28–29 Nov, 5–6 Dec, 12–13 Dec) = 10 days + 1 holiday.
    assert len(d.skipped) == 11
    assert d.rule is ACCESS and d.received_at == local(2026, 11, 13)
    # 23:59:59 on 14 Dec in UTC+1 is 22:59:59 UTC.
    assert d.due_at() == datetime(2026, 12, 14, 22, 59, 59, tzinfo=UTC)


def test_access_crossing_eid_al_adha_estimated() -> None:
    # Received Mon 25 May 2026 11:00 local: day 0 = Mon 25. Tue 26 (1), Wed 27 and
    # Thu 28 Eid al-Adha skipped, Fri 29 (2), 1–5 Jun (3–7), 8–12 (8–12), Mon 15 (13),
    # Tue 16 Islamic New Year skipped, 17–19 (14–16), 22–25 (17–20): Thu 25 Jun.
    d = due_date(ACCESS, local(2026, 5, 25, 11), CAL)
    assert d.due == date(2026, 6, 25)
    assert non_weekend(d) == [
        (date(2026, 5, 27), "Eid al-Adha (estimated)"),
        (date(2026, 5, 28), "Eid al-Adha (estimated)"),
        (date(2026, 6, 16), "Islamic New Year (estimated)"),
    ]


def test_moved_eid_moves_the_due_date() -> None:
    # Received Tue 28 Apr 2026 10:00: Wed 29 (1), Thu 30 (2), Fri 1 May Labour Day
    # skipped, 4–8 May (3–7), 11–15 (8–12), 18–22 (13–17), Mon 25 (18), Tue 26 (19).
    # Package Eid (Wed 27, Thu 28): the 20th working day is Fri 29 May.
    before = due_date(ACCESS, local(2026, 4, 28), CAL)
    assert before.due == date(2026, 5, 29)
    # Habous announces Eid one day later (Thu 28, Fri 29, confirmed): Wed 27 becomes
    # the 20th working day, so the deadline comes two days *earlier*.
    moved = [h for h in morocco_holidays(range(2025, 2029))
             if not (h.name == "Eid al-Adha" and h.day.year == 2026)]
    moved += [Holiday(date(2026, 5, 28), "Eid al-Adha", False),
              Holiday(date(2026, 5, 29), "Eid al-Adha", False)]
    after = due_date(ACCESS, local(2026, 4, 28), WorkingCalendar(moved))
    assert after.due == date(2026, 5, 27)
    assert non_weekend(after) == [(date(2026, 5, 1), "Labor Day")]


def test_moved_eid_al_fitr_onto_weekend() -> None:
    # Received Mon 16 Mar 2026 10:00 (UTC+0 in Ramadan). Package Eid al-Fitr Fri 20 / Sat 21:
    # Tue 17 (1), Wed 18 (2), Thu 19 (3), Fri 20 skipped, 23–27 (4–8), 30 Mar–3 Apr (9–13),
    # 6–10 Apr (14–18), Mon 13 (19), Tue 14 Apr (20).
    assert due_date(ACCESS, local(2026, 3, 16), CAL).due == date(2026, 4, 14)
    # Eid one day later (Sat 21 / Sun 22) costs no working day: Fri 20 counts (4), so Mon 13 Apr.
    moved = [h for h in morocco_holidays(range(2025, 2029))
             if not (h.name == "Eid al-Fitr" and h.day.year == 2026)]
    moved += [Holiday(date(2026, 3, 21), "Eid al-Fitr", False),
              Holiday(date(2026, 3, 22), "Eid al-Fitr", False)]
    assert due_date(ACCESS, local(2026, 3, 16), WorkingCalendar(moved)).due == date(2026, 4, 13)


def test_receipt_on_saturday() -> None:
    # Received Sat 7 Nov 2026: day 0 = Mon 9 Nov (shifted). Tue 10–Fri 13 (1–4),
    # Mon 16 (5), Tue 17 (6), Wed 18 skipped, Thu 19 (7), Fri 20 (8), 23–27 (9–13),
    # 30 Nov–4 Dec (14–18), Mon 7 (19), Tue 8 Dec (20).
    d = due_date(ACCESS, local(2026, 11, 7), CAL)
    assert (d.start, d.start_shifted, d.due) == (date(2026, 11, 9), True, date(2026, 12, 8))
    # The weekend of receipt is not in `skipped`: it lies before day 0.
    assert all(s.day > d.start for s in d.skipped)


def test_receipt_after_closing() -> None:
    # Tue 6 Oct 2026 at 17:00 local (16:00 UTC) is after 16:30: day 0 = Wed 7 (shifted).
    # Thu 8 (1), Fri 9 (2), 12–16 (3–7), 19–23 (8–12), 26–30 (13–17), Sat 31 Unity Day
    # and Sun 1 Nov skipped, Mon 2 (18), Tue 3 (19), Wed 4 Nov (20).
    late = due_date(ACCESS, local(2026, 10, 6, 17), CAL)
    assert (late.start, late.start_shifted) == (date(2026, 10, 7), True)
    assert late.due == date(2026, 11, 4)
    # A holiday on a weekend is reported under its name (more informative than "weekend").
    assert (date(2026, 10, 31), "Unity Day") in non_weekend(late)
    # Same day at 16:00: day 0 = Tue 6, one working day earlier: Tue 3 Nov.
    on_time = due_date(ACCESS, local(2026, 10, 6, 16), CAL)
    assert (on_time.start, on_time.start_shifted) == (date(2026, 10, 6), False)
    assert on_time.due == date(2026, 11, 3)
    # Exactly at closing time still counts as that day.
    assert due_date(ACCESS, local(2026, 10, 6, 16, 30), CAL).start == date(2026, 10, 6)


def test_custom_office_hours() -> None:
    # With a 15:00 closing, 16:00 on Tue 6 Oct is late: day 0 = Wed 7, due Wed 4 Nov.
    d = due_date(ACCESS, local(2026, 10, 6, 16), CAL, OfficeHours(time(8, 0), time(15, 0)))
    assert (d.start, d.due) == (date(2026, 10, 7), date(2026, 11, 4))


def test_utc_late_evening_is_next_day_in_casablanca() -> None:
    # 23:30 UTC Thu 8 Oct 2026 is 00:30 Fri 9 Oct in Casablanca (UTC+1): before opening on a
    # working day, so day 0 = Fri 9 and it is not a shift (it is the local receipt day).
    # 12–16 Oct (1–5), 19–23 (6–10), 26–30 (11–15), Mon 2–Thu 5 Nov (16–19),
    # Fri 6 Green March skipped, Mon 9 Nov (20).
    d = due_date(ACCESS, utc(2026, 10, 8, 23, 30), CAL)
    assert (d.start, d.start_shifted, d.due) == (date(2026, 10, 9), False, date(2026, 11, 9))
    assert non_weekend(d) == [(date(2026, 10, 31), "Unity Day"), (date(2026, 11, 6), "Green March")]


def test_ramadan_receipt_uses_utc_plus_zero() -> None:
    # 23:30 UTC Sun 1 Mar 2026 is still Sunday 23:30 in Casablanca (UTC+0 during Ramadan);
    # a fixed UTC+1 would wrongly make it Monday 00:30. Day 0 = Mon 2 Mar, shifted.
    # 3–6 Mar (1–4), 9–13 (5–9), 16–19 (10–13), Fri 20 Eid al-Fitr skipped,
    # 23–27 (14–18), Mon 30 (19), Tue 31 Mar (20).
    d = due_date(ACCESS, utc(2026, 3, 1, 23, 30), CAL)
    assert (d.start, d.start_shifted, d.due) == (date(2026, 3, 2), True, date(2026, 3, 31))
    # 16:00 UTC Mon 2 Mar is 16:00 local (in hours); with UTC+1 it would be 17:00 (late).
    d2 = due_date(ACCESS, utc(2026, 3, 2, 16), CAL)
    assert (d2.start, d2.start_shifted) == (date(2026, 3, 2), False)


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError):
        due_date(ACCESS, datetime(2026, 11, 13, 10), CAL)


# --- calendar-day rules ----------------------------------------------------------


def test_urgent_ending_on_sunday_moves_to_monday() -> None:
    # Received Thu 1 Oct 2026: day 0 = Thu 1; +3 calendar days = Sun 4 Oct, a day off,
    # so due Mon 5 Oct. Sat 3 counts (calendar days); only Sun 4 is skipped.
    d = due_date(RULES["urgent"], local(2026, 10, 1), CAL)
    assert (d.start, d.due) == (date(2026, 10, 1), date(2026, 10, 5))
    assert d.skipped == (Skipped(date(2026, 10, 4), "weekend"),)


def test_urgent_roll_over_holiday_and_weekend() -> None:
    # Received Tue 3 Nov 2026: +3 = Fri 6 Nov Green March, then Sat 7, Sun 8: due Mon 9.
    d = due_date(RULES["urgent"], local(2026, 11, 3), CAL)
    assert d.due == date(2026, 11, 9)
    assert [s.reason for s in d.skipped] == ["Green March", "weekend", "weekend"]


def test_urgent_in_working_days_setting() -> None:
    # Same receipt Thu 1 Oct 2026, urgent counted in working days: Fri 2 (1), Mon 5 (2), Tue 6 (3).
    d = due_date(rules_with(Unit.WORKING)["urgent"], local(2026, 10, 1), CAL)
    assert d.due == date(2026, 10, 6)


def test_calendar_rule_ignores_office_hours() -> None:
    # Received Fri 13 Nov 2026 18:00 local (after closing): day 0 is still Fri 13, not shifted.
    # +15 = Sat 28 Nov -> Sun 29 -> Mon 30 Nov.
    d = due_date(RULES["head_answer"], local(2026, 11, 13, 18), CAL)
    assert (d.start, d.start_shifted, d.due) == (date(2026, 11, 13), False, date(2026, 11, 30))
    assert [s.day for s in d.skipped] == [date(2026, 11, 28), date(2026, 11, 29)]


def test_calendar_rule_ending_on_holiday() -> None:
    # feedback_ack: Tue 3 Nov 2026 + 15 = Wed 18 Nov Independence Day -> Thu 19 Nov.
    d = due_date(RULES["feedback_ack"], local(2026, 11, 3), CAL)
    assert d.due == date(2026, 11, 19)
    assert d.skipped == (Skipped(date(2026, 11, 18), "Independence Day"),)


def test_due_at_during_ramadan_is_utc_plus_zero() -> None:
    # urgent from Mon 2 Mar 2026: +3 = Thu 5 Mar (working). 23:59:59 local at UTC+0.
    d = due_date(RULES["urgent"], local(2026, 3, 2), CAL)
    assert d.due == date(2026, 3, 5)
    assert d.due_at() == datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC)
    assert d.due_at().tzinfo is UTC


# --- extensions ------------------------------------------------------------------


def test_access_extension() -> None:
    # First deadline Mon 14 Dec 2026 (see above). +20 working days from it:
    # 15–18 Dec (1–4), 21–25 (5–9), 28–31 (10–13), Fri 1 Jan 2027 New Year skipped,
    # 4–8 Jan (14–18), Mon 11 Jan Proclamation of Independence skipped, Tue 12 (19), Wed 13 (20).
    first = due_date(ACCESS, local(2026, 11, 13), CAL)
    ext = extend(first, RULES["access_extension"], CAL)
    assert (ext.start, ext.due, ext.start_shifted) == (date(2026, 12, 14), date(2027, 1, 13), False)
    assert ext.rule.id == "access_extension" and ext.received_at == first.received_at
    assert non_weekend(ext) == [
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 1, 11), "Proclamation of Independence Day"),
    ]


def test_urgent_extension_counts_from_moved_due() -> None:
    # First urgent due Mon 5 Oct 2026 (moved from Sun 4). +3 calendar from Mon 5 = Thu 8 Oct.
    first = due_date(RULES["urgent"], local(2026, 10, 1), CAL)
    ext = extend(first, RULES["urgent_extension"], CAL)
    assert (ext.start, ext.due, ext.skipped) == (date(2026, 10, 5), date(2026, 10, 8), ())


# --- properties ------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
)
rule_sets = st.sampled_from([RULES, rules_with(Unit.WORKING)])


@given(moments, rule_sets, st.sampled_from(sorted(RULES)))
def test_due_invariants(received: datetime, rules: Mapping[str, Rule], rule_id: str) -> None:
    rule = rules[rule_id]
    d = due_date(rule, received, CAL)
    assert d.due >= d.start
    assert CAL.is_working_day(d.due)
    assert all(not CAL.is_working_day(s.day) for s in d.skipped)
    assert all(d.start < s.day <= d.due for s in d.skipped)
    if rule.unit is Unit.WORKING:
        assert CAL.is_working_day(d.start)
        assert CAL.working_days_between(d.start, d.due) == rule.days
        # Every day off in (start, due] is listed.
        span = (d.due - d.start).days
        assert len(d.skipped) == span - rule.days
    else:
        assert d.start == received.astimezone(CASABLANCA).date()
        assert d.due >= CAL.add_calendar_days(d.start, rule.days)
    assert d.start >= received.astimezone(CASABLANCA).date()
    assert d.due_at() > received


@given(moments, st.sampled_from(["access", "urgent"]))
def test_extension_is_later(received: datetime, rule_id: str) -> None:
    first = due_date(RULES[rule_id], received, CAL)
    ext = extend(first, RULES[f"{rule_id}_extension"], CAL)
    assert ext.due > first.due and ext.start == first.due
    assert all(not CAL.is_working_day(s.day) for s in ext.skipped)
