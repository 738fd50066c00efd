"""The coordinators' side of the desk: the views of /overdue, /stats and /calendar, loaded for one member."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.staff import StaffMember, scope_codes
from bot.domain.transparency import COUNTRY, Figures
from bot.flows.desk_views import (
    CalendarView,
    InboxRow,
    OverdueGroup,
    OverdueView,
    StatsRow,
    StatsView,
)
from bot.services.lifecycle import Lifecycle
from bot.services.transparency import Transparency
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

    def __init__(self, lifecycle: Lifecycle, transparency: Transparency) -> None:
        self.directory = lifecycle.directory
        self.calendar = lifecycle.calendar
        self.transparency = transparency

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

    async def stats(self, session: AsyncSession, member: StaffMember) -> StatsView:
        """The transparency figures (cached: a national scope of a million requests costs nothing to read) of the
        member's scope, then of the collectivities right below it, the busiest first."""
        snapshot = await self.transparency.snapshot(session)
        found = snapshot.figures
        roots = [COUNTRY] if member.national else sorted({code for code in member.scopes if code})
        mine = [found[code] for code in roots if code in found]
        if not mine:
            return StatsView((), as_of=snapshot.computed_at)
        below = [area for area in found.values() if self.parent_of(area) in roots] or mine
        ranked = sorted(below, key=lambda area: (-area.received, area.code))
        rows = [stats_row("", merged(mine))] + [stats_row(area.code, area) for area in ranked[:STATS_PLACES]]
        return StatsView(tuple(rows), more=max(len(ranked) - STATS_PLACES, 0), as_of=snapshot.computed_at)

    def parent_of(self, area: Figures) -> str | None:
        """The code of the area right above (the country above a region)."""
        if area.level == "region":
            return COUNTRY
        place = self.directory.get(area.code)
        return place.parent_code if place is not None else None


def merged(areas: list[Figures]) -> Figures:
    """Several areas' figures as one (a clerk of several communes)."""
    if len(areas) == 1:
        return areas[0]
    total = Figures("", "scope")
    for area in areas:
        total.received += area.received
        total.answered += area.answered
        total.refused.update(area.refused)
        total.overdue += area.overdue
        total.decided += area.decided
        total.on_time += area.on_time
        total.days.update(area.days)
    return total


def stats_row(code: str, area: Figures) -> StatsRow:
    """One line of /stats from an area's figures (`code` empty: the member's whole scope)."""
    return StatsRow(code, area.received, area.answered, area.refused_total, area.overdue, area.median_days,
                    round(100 * area.on_time / area.decided) if area.decided else None)
