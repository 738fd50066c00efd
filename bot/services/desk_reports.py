"""The coordinators' side of the desk: the views of /overdue, /stats and /calendar, loaded for one member."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.deadlines import CASABLANCA
from bot.domain.requests import OPEN_STATUSES
from bot.domain.staff import StaffMember, scope_codes
from bot.flows.desk_views import CalendarView, InboxRow, OverdueGroup, OverdueView, StatsRow, StatsView
from bot.services.lifecycle import Lifecycle
from bot.storage import inbox_repo, tables

STATS_PLACES = 15  # collectivities listed after the total, the busiest first
OVERDUE_PLACES = 20  # collectivities listed in /overdue, the busiest first
OVERDUE_PER_PLACE = 10  # requests listed under each
OVERDUE_BUTTONS = 8  # the longest overdue, with a button each


def row_of(row: tables.Request) -> InboxRow:
    """A request as a report lists it."""
    return InboxRow(row.reference, row.urgent, row.kind, row.collectivity_code, row.due_on, row.status)


class Reports:
    """Loads the reports' views for the members whose scope they cover."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.directory = lifecycle.directory
        self.calendar = lifecycle.calendar

    def holidays_ahead(self, member: StaffMember, today: date, limit: int = 3) -> CalendarView:
        """The next estimated (Hijri) holidays, first day of each: what a moon sighting may confirm or move."""
        if not member.national:
            return CalendarView(national=False)
        found: list[tuple[date, str]] = []
        for offset in range(400):
            current = today.fromordinal(today.toordinal() + offset)
            holiday = self.calendar.holiday(current)
            if holiday is not None and holiday.estimated and not any(name == holiday.name for _, name in found):
                found.append((current, holiday.name))
                if len(found) == limit:
                    break
        return CalendarView(national=True, upcoming=tuple(found))

    async def overdue(self, session: AsyncSession, member: StaffMember, today: date) -> OverdueView:
        """Counted and grouped in SQL: a national coordinator's backlog can be a large share of the country's."""
        codes = scope_codes(member, self.directory)
        total, places = await inbox_repo.overdue_counts(session, codes, today, OVERDUE_PLACES)
        groups = []
        for code, count in places:
            rows = await inbox_repo.overdue_rows(session, {code}, today, OVERDUE_PER_PLACE)
            groups.append(OverdueGroup(code, count, tuple(row_of(row) for row in rows)))
        first = tuple(row_of(row) for row in await inbox_repo.overdue_rows(session, codes, today, OVERDUE_BUTTONS))
        return OverdueView(total, tuple(groups), first, today)

    async def stats(self, session: AsyncSession, member: StaffMember, today: date) -> StatsView:
        rows = await inbox_repo.for_stats(session, scope_codes(member, self.directory))
        if not rows:
            return StatsView(())
        by_place: dict[str, list[tables.Request]] = defaultdict(list)
        for row in rows:
            by_place[row.collectivity_code].append(row)
        ranked = sorted(by_place.items(), key=lambda item: -len(item[1]))
        lines = [figures("", rows, today)] + [figures(code, group, today) for code, group in ranked[:STATS_PLACES]]
        return StatsView(tuple(lines), more=max(len(ranked) - STATS_PLACES, 0))


def figures(code: str, rows: list[tables.Request], today: date) -> StatsRow:
    """One collectivity's figures (`code` empty: all the rows together)."""
    decided = [row for row in rows if row.answered_at is not None and row.status not in ("withdrawn",)]
    answered = sum(1 for row in rows if row.status in ("answered", "partially_answered")
                   or (row.status == "closed" and row.answered_at is not None))
    refused = sum(1 for row in rows if row.status == "refused")
    late = sum(1 for row in rows if row.status in OPEN_STATUSES and row.due_on < today)
    days = [(row.answered_at.astimezone(CASABLANCA).date() - row.received_at.astimezone(CASABLANCA).date()).days
            for row in decided if row.answered_at]
    on_time = sum(1 for row in decided if row.answered_at and row.answered_at.astimezone(CASABLANCA).date()
                  <= row.due_on)
    return StatsRow(code, len(rows), answered, refused, late, statistics.median(days) if days else None,
                    round(100 * on_time / len(decided)) if decided else None)
