"""When a citizen may complain to the head of the collectivity, then to the CDAI (law 31-13). Pure."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.calendar import WorkingCalendar
from bot.domain.requests import OPEN_STATUSES, Kind, Status

DECIDED = frozenset({Status.ANSWERED, Status.PARTIALLY_ANSWERED, Status.REFUSED})
HEAD_FILING_WORKING_DAYS = 20  # the citizen's time to complain to the head (verified, law.md §0)
CDAI_FILING_DAYS = 30  # the citizen's time to go to the CDAI (verified, law.md §0; calendar days presumed)


def _trigger(status: str, answered_on: date | None, due_on: date, today: date) -> date | None:
    """The day the remedy window opens: the answer (or refusal), else a passed deadline; None when neither."""
    if status in DECIDED and answered_on is not None:
        return answered_on
    if status in OPEN_STATUSES and today > due_on:
        return due_on
    return None


def head_complaint_deadline(kind: str, status: str, answered_on: date | None, due_on: date, today: date,
                            calendar: WorkingCalendar) -> date | None:
    """The last day to complain to the head about an access request, or None when no complaint is open."""
    if kind != Kind.ACCESS:
        return None
    start = _trigger(status, answered_on, due_on, today)
    return calendar.add_working_days(start, HEAD_FILING_WORKING_DAYS) if start else None


def can_complain_to_head(kind: str, status: str, answered_on: date | None, due_on: date, today: date,
                         calendar: WorkingCalendar, already_complained: bool) -> bool:
    """True while a complaint to the head is open: late, refused or partly answered, 20 working days, once."""
    if already_complained:
        return False
    last = head_complaint_deadline(kind, status, answered_on, due_on, today, calendar)
    return last is not None and today <= last


def can_go_to_cdai(kind: str, status: str, answered_on: date | None, due_on: date, today: date) -> bool:
    """True within 30 days of the head's answer, refusal or missed deadline on a complaint to the head."""
    if kind != Kind.HEAD_COMPLAINT:
        return False
    start = _trigger(status, answered_on, due_on, today)
    return start is not None and today <= start + timedelta(days=CDAI_FILING_DAYS)
