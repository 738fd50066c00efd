"""Corrections of the holiday table (moon sighting, moves, added days) and their effect on deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.calendar import (
    Holiday,
    Override,
    WorkingCalendar,
    apply_overrides,
    morocco_holidays,
)
from bot.domain.deadlines import (
    CASABLANCA,
    RULES,
    Unit,
    due_date,
    extend,
    request_due,
    rules_with,
    window_end,
)
from bot.domain.remedies import can_go_to_cdai, cdai_deadline, head_complaint_deadline

BASE = morocco_holidays(range(2025, 2029))


def local(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=CASABLANCA).astimezone(UTC)


def test_confirmed_hijri_date_is_no_longer_estimated() -> None:
    cal = WorkingCalendar(BASE, overrides=[Override(date(2026, 6, 16), "holiday", "Islamic New Year", "confirmed")])
    assert cal.holiday(date(2026, 6, 16)) == Holiday(date(2026, 6, 16), "Islamic New Year", False)
    # The other Hijri holidays stay estimates.
    assert cal.holiday(date(2026, 5, 27)).estimated  # type: ignore[union-attr]


def test_moved_holiday_moves() -> None:
    overrides = [Override(date(2026, 5, 27), "working", "Eid al-Adha", "moved"),
                 Override(date(2026, 5, 28), "holiday", "Eid al-Adha", "moved"),
                 Override(date(2026, 5, 29), "holiday", "Eid al-Adha", "moved")]
    cal = WorkingCalendar.morocco(2025, 2028, overrides=overrides)
    assert cal.is_working_day(date(2026, 5, 27))
    assert not cal.is_working_day(date(2026, 5, 28)) and not cal.is_working_day(date(2026, 5, 29))
    assert cal.overrides == tuple(overrides)
    # The same as building the corrected table by hand (tests/domain/test_deadlines.py: due Wed 27 May).
    assert due_date(RULES["access"], local(2026, 4, 28), cal).due == date(2026, 5, 27)


def test_working_override_keeps_the_other_holiday_of_a_shared_day() -> None:
    # 14 Aug 2027: Oued Ed-Dahab Day and the (estimated) Prophet's Birthday.
    cal = WorkingCalendar(BASE, overrides=[Override(date(2027, 8, 14), "working", "Prophet's Birthday", "moved")])
    assert [h.name for h in cal.holidays_on(date(2027, 8, 14))] == ["Oued Ed-Dahab Day"]
    cleared = WorkingCalendar(BASE, overrides=[Override(date(2027, 8, 14), "working", "", "moved")])
    assert cleared.holidays_on(date(2027, 8, 14)) == ()
    # A weekend stays a weekend (14 Aug 2027 is a Saturday).
    assert not cleared.is_working_day(date(2027, 8, 14))


def test_set_overrides_changes_every_holder_in_place() -> None:
    cal = WorkingCalendar.morocco(2026, 2026)
    holder = cal  # e.g. Conversations.calendar and Bab.calendar
    cal.set_overrides([Override(date(2026, 12, 1), "holiday", "Decreed day off", "added")])
    assert not holder.is_working_day(date(2026, 12, 1))
    assert holder.holiday(date(2026, 12, 1)) == Holiday(date(2026, 12, 1), "Decreed day off", False)
    cal.set_overrides(())
    assert holder.is_working_day(date(2026, 12, 1))


def test_override_validation() -> None:
    with pytest.raises(ValueError):
        Override(date(2026, 1, 1), "maybe", "x", "added")
    with pytest.raises(ValueError):
        Override(date(2026, 1, 1), "holiday", " ", "added")


def test_skipped_days_carry_their_holidays() -> None:
    # Thu 13 Aug 2026 (working), two holidays on Fri 14 (one certain, one estimated), the weekend, then Mon 17.
    friday = date(2026, 8, 14)
    cal = WorkingCalendar([Holiday(friday, "Oued Ed-Dahab Day", False), Holiday(friday, "Prophet's Birthday", True),
                           Holiday(date(2026, 8, 19), "Eid al-Adha", True)])
    due = due_date(RULES["access"], local(2026, 8, 13), cal)
    by_day = {s.day: s for s in due.skipped}
    both = by_day[friday]
    assert both.reason == "Oued Ed-Dahab Day; Prophet's Birthday"
    assert (both.holidays, both.estimated) == (("Oued Ed-Dahab Day", "Prophet's Birthday"), False)  # certain wins
    weekend = by_day[date(2026, 8, 15)]
    assert (weekend.reason, weekend.holidays, weekend.estimated) == ("weekend", (), False)
    eid = by_day[date(2026, 8, 19)]
    assert (eid.reason, eid.holidays, eid.estimated) == ("Eid al-Adha (estimated)", ("Eid al-Adha",), True)


# --- stored requests: extensions, urgent units, the complaint stages ---------------------------------------------

CAL = WorkingCalendar.morocco(2025, 2028)


def test_request_due_with_extension() -> None:
    # Access received Fri 13 Nov 2026: due Mon 14 Dec; extended: Wed 13 Jan 2027 (test_deadlines.py).
    assert request_due("access", local(2026, 11, 13), CAL).due == date(2026, 12, 14)
    assert request_due("access", local(2026, 11, 13), CAL, extended=True).due == date(2027, 1, 13)
    # Rules without an extension ignore the flag.
    assert request_due("feedback_answer", local(2026, 11, 13), CAL, extended=True).due == \
        due_date(RULES["feedback_answer"], local(2026, 11, 13), CAL).due


def test_urgent_calendar_versus_working_units() -> None:
    # Urgent received Thu 29 Oct 2026 10:00. Calendar days: +3 = Sun 1 Nov → Mon 2 Nov.
    # Working days: Fri 30 (1), Sat 31 Unity Day and Sun 1 skipped, Mon 2 (2), Tue 3 (3).
    assert request_due("urgent", local(2026, 10, 29), CAL).due == date(2026, 11, 2)
    working = rules_with(Unit.WORKING)
    assert request_due("urgent", local(2026, 10, 29), CAL, working).due == date(2026, 11, 3)
    # Extended by 3 more: calendar from Mon 2 = Thu 5 Nov; working from Tue 3: Wed 4, Thu 5, (Green March Fri 6),
    # Mon 9 Nov.
    assert request_due("urgent", local(2026, 10, 29), CAL, extended=True).due == date(2026, 11, 5)
    assert request_due("urgent", local(2026, 10, 29), CAL, working, extended=True).due == date(2026, 11, 9)


def test_complaint_stages() -> None:
    # Access received Thu 15 Oct 2026, due Fri 13 Nov. The citizen may complain to the head within 20 working
    # days: 16–17, 19–20 (Independence Day Wed 18), 23–27, 30 Nov–4 Dec, 7–11, Mon 14 Dec.
    access = due_date(RULES["access"], local(2026, 10, 15), CAL)
    assert access.due == date(2026, 11, 13)
    assert window_end(access.due, RULES["complaint_to_head_filing"], CAL) == date(2026, 12, 14)
    # Complaint filed Mon 23 Nov 2026 at 18:00 (after closing; calendar rule: day 0 is still the 23rd):
    # the head answers within 15 days: Tue 8 Dec.
    head = due_date(RULES["head_answer"], local(2026, 11, 23, 18), CAL)
    assert (head.start, head.due) == (date(2026, 11, 23), date(2026, 12, 8))
    # No answer: 30 days to go to the CDAI from Tue 8 Dec = Thu 7 Jan 2027.
    assert window_end(head.due, RULES["cdai_filing"], CAL) == date(2027, 1, 7)
    # The remedies read the same rules: the last days they open are the ones the notices promise.
    assert head_complaint_deadline("access", "submitted", None, access.due, date(2026, 11, 16), CAL) == \
        date(2026, 12, 14)
    assert cdai_deadline("head_complaint", "submitted", None, head.due, date(2026, 12, 9)) == date(2027, 1, 7)
    assert can_go_to_cdai("head_complaint", "submitted", None, head.due, date(2027, 1, 7))
    assert not can_go_to_cdai("head_complaint", "submitted", None, head.due, date(2027, 1, 8))
    assert cdai_deadline("access", "submitted", None, head.due, date(2026, 12, 9)) is None
    # A CDAI complaint filed Mon 4 Jan 2027: answer in 30 days = Wed 3 Feb 2027.
    assert due_date(RULES["cdai_answer"], local(2027, 1, 4), CAL).due == date(2027, 2, 3)
    # Decree 2-17-265: acknowledgement 15 days, answer 60 days, from Mon 16 Nov 2026:
    # ack Tue 1 Dec; answer Fri 15 Jan 2027.
    assert due_date(RULES["feedback_ack"], local(2026, 11, 16), CAL).due == date(2026, 12, 1)
    assert due_date(RULES["feedback_answer"], local(2026, 11, 16), CAL).due == date(2027, 1, 15)


def test_ramadan_receipt_after_closing() -> None:
    # Mon 2 Mar 2026 16:45 UTC is 16:45 in Casablanca during Ramadan (UTC+0): after 16:30, so day 0 = Tue 3.
    # With a fixed UTC+1 it would be 17:45, also late; but 15:45 UTC (15:45 local) is in hours, where a fixed
    # UTC+1 (16:45) would wrongly shift it.
    late = due_date(RULES["access"], datetime(2026, 3, 2, 16, 45, tzinfo=UTC), CAL)
    on_time = due_date(RULES["access"], datetime(2026, 3, 2, 15, 45, tzinfo=UTC), CAL)
    assert (late.start, late.start_shifted) == (date(2026, 3, 3), True)
    assert (on_time.start, on_time.start_shifted) == (date(2026, 3, 2), False)
    # 20 working days from Mon 2 Mar: 3–6 (1–4), 9–13 (5–9), 16–19 (10–13), Eid al-Fitr Fri 20 (estimated),
    # 23–27 (14–18), Mon 30 (19), Tue 31 Mar (20). From Tue 3: Wed 1 Apr.
    assert (on_time.due, late.due) == (date(2026, 3, 31), date(2026, 4, 1))
    # Due at the end of Tue 31 Mar local: Ramadan is over (UTC+1 again since 22 Mar), so 22:59:59 UTC.
    assert on_time.due_at() == datetime(2026, 3, 31, 22, 59, 59, tzinfo=UTC)


# --- properties --------------------------------------------------------------------------------------------------

days = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))
names = st.sampled_from(["Eid al-Fitr", "Eid al-Adha", "Islamic New Year", "Prophet's Birthday", "Unity Day", "X"])
override_lists = st.lists(
    st.builds(Override, day=days, kind=st.sampled_from(["holiday", "working"]), name=names,
              source=st.sampled_from(["confirmed", "moved", "added"])), max_size=12)


@given(override_lists, days)
def test_overrides_equal_a_corrected_table(overrides: list[Override], d: date) -> None:
    corrected = WorkingCalendar(BASE, overrides=overrides)
    by_hand = WorkingCalendar(apply_overrides(BASE, overrides))
    assert corrected.is_working_day(d) == by_hand.is_working_day(d)
    assert corrected.holiday(d) == by_hand.holiday(d)
    latest = {o.day: o for o in overrides}
    if d in latest and latest[d].kind == "holiday":
        assert not corrected.is_working_day(d)
        holiday = corrected.holiday(d)
        assert holiday is not None and latest[d].name in holiday.name.split("; ")
    if d in latest and latest[d].kind == "working":
        assert all(h.name != latest[d].name for h in corrected.holidays_on(d))


@given(override_lists, days, st.integers(min_value=0, max_value=40))
def test_working_day_arithmetic_under_overrides(overrides: list[Override], d: date, n: int) -> None:
    cal = WorkingCalendar(BASE, overrides=overrides)
    end = cal.add_working_days(d, n)
    assert cal.working_days_between(d, end) == n
    if n:
        assert cal.is_working_day(end)
        assert cal.add_working_days(d, n - 1) < end
    # In place or as a copy: the same answers.
    copy = WorkingCalendar.morocco(2025, 2028).with_overrides(overrides)
    assert copy.add_working_days(d, n) == end
    # Counting back: `end` is n working days after d, so there are at least n days between them.
    assert (end - d) >= timedelta(days=n)


@given(st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)),
       st.sampled_from(["access", "urgent"]), override_lists)
def test_extended_due_is_the_extension_of_the_first(received: datetime, rule_id: str,
                                                    overrides: list[Override]) -> None:
    cal = WorkingCalendar(BASE, overrides=overrides)
    first = due_date(RULES[rule_id], received, cal)
    extended = request_due(rule_id, received, cal, extended=True)
    assert extended == extend(first, RULES[f"{rule_id}_extension"], cal)
    assert extended.due > first.due and cal.is_working_day(extended.due)
    assert window_end(first.due, RULES[f"{rule_id}_extension"], cal) == extended.due
