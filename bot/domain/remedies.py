"""When a citizen may complain to the head of the collectivity, then to the CDAI (law 31-13). Pure.

The windows' lengths come from the rule table (`bot.domain.deadlines.RULES`: "complaint_to_head_filing" and
"cdai_filing"), so the notices that promise a last day and the checks that open a remedy cannot disagree.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import RULES, window_end
from bot.domain.requests import OPEN_STATUSES, Kind, Status

DECIDED = frozenset({Status.ANSWERED, Status.PARTIALLY_ANSWERED, Status.REFUSED})
HEAD_FILING = RULES["complaint_to_head_filing"]  # the citizen's time to complain to the head (law.md §0)
CDAI_FILING = RULES["cdai_filing"]  # the citizen's time to go to the CDAI (law.md §0; calendar days presumed)


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
    return window_end(start, HEAD_FILING, calendar) if start else None


def can_complain_to_head(kind: str, status: str, answered_on: date | None, due_on: date, today: date,
                         calendar: WorkingCalendar, already_complained: bool) -> bool:
    """True while a complaint to the head is open: late, refused or partly answered, 20 working days, once."""
    if already_complained:
        return False
    last = head_complaint_deadline(kind, status, answered_on, due_on, today, calendar)
    return last is not None and today <= last


def cdai_deadline(kind: str, status: str, answered_on: date | None, due_on: date, today: date) -> date | None:
    """The last day to go to the CDAI after a complaint to the head, or None when that is not open (yet)."""
    if kind != Kind.HEAD_COMPLAINT:
        return None
    start = _trigger(status, answered_on, due_on, today)
    # Plain calendar days, never carried past a day off: whether a citizen's deadline ending on a holiday rolls
    # over is unverified (law.md §0, §8), so we promise the earlier, safe last day.
    return start + timedelta(days=CDAI_FILING.days) if start else None


def can_go_to_cdai(kind: str, status: str, answered_on: date | None, due_on: date, today: date) -> bool:
    """True within 30 days of the head's answer, refusal or missed deadline on a complaint to the head."""
    last = cdai_deadline(kind, status, answered_on, due_on, today)
    return last is not None and today <= last
