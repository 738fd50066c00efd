"""Coordinators' corrections of the holiday calendar, and the recomputation of open deadlines they cause.

A correction writes `calendar_overrides` rows, recomputes the due date of every open request with the corrected
calendar, records a "due_moved" event and queues notices to the citizen and the request's handlers, all in one
transaction; only after the commit is the shared in-memory `WorkingCalendar` updated (`set_overrides` swaps its
table in place, so `bab.calendar`, `Conversations.calendar` and the jobs, which hold the same object, see it).

Another process (e.g. `bab calendar move` run next to `bab run`) learns of a correction through `reload`, which
the scheduler calls before every sweep: it re-reads the overrides and, when they changed, recomputes again, which
also catches the requests filed in the meantime with the old calendar. Recomputing is idempotent: a request whose
due date is already right is left alone, and rows are locked (FOR UPDATE on PostgreSQL) before they change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.calendar import Holiday, Override, WorkingCalendar
from bot.domain.deadlines import request_due, rules_with
from bot.domain.directory import Directory
from bot.domain.staff import StaffMember, request_handlers
from bot.flows import notices
from bot.services.jobs import JobSettings, local_today
from bot.services.lifecycle import Lifecycle
from bot.storage import tables
from bot.storage.inbox_repo import OPEN
from bot.storage.staff_repo import active_members

log = logging.getLogger(__name__)
_ONE_DAY = timedelta(days=1)


class CalendarError(ValueError):
    """A correction that cannot be applied (no holiday on that day, ambiguous name…); the message says why."""


@dataclass(frozen=True, slots=True)
class Moved:
    """One open request whose due date changed."""

    reference: str
    old: date
    new: date


@dataclass(frozen=True, slots=True)
class Change:
    """What a correction did: the override rows written and the requests it moved."""

    overrides: tuple[Override, ...]
    moved: tuple[Moved, ...]
    calendar: tuple[Override, ...] = ()  # every stored override once the change is committed, for `adopt`


@dataclass(frozen=True, slots=True)
class Listed:
    """One line of `bab calendar list`: a holiday, or a day a holiday was moved away from."""

    day: date
    name: str
    estimated: bool
    source: str | None  # the override that made it so, or None for the seeded table
    off: bool = True  # False for a day made working


async def load_overrides(session: AsyncSession) -> list[Override]:
    """Every stored override, by day."""
    rows = await session.scalars(select(tables.CalendarOverride).order_by(tables.CalendarOverride.day))
    return [Override(day=row.day, kind=row.kind, name=row.name, source=row.source) for row in rows]


def _block(calendar: WorkingCalendar, day: date, name: str) -> list[date]:
    """The consecutive days around `day` that carry holiday `name` (both days of an Eid)."""
    def has(d: date) -> bool:
        return any(h.name == name for h in calendar.holidays_on(d))

    first = day
    while has(first - _ONE_DAY):
        first -= _ONE_DAY
    days = [first]
    while has(days[-1] + _ONE_DAY):
        days.append(days[-1] + _ONE_DAY)
    return days


def _pick(calendar: WorkingCalendar, day: date, name: str | None, estimated_only: bool = False) -> Holiday:
    """The holiday on `day` meant by the admin (`name` is needed only when a day has two)."""
    found = [h for h in calendar.holidays_on(day) if name is None or h.name.lower() == name.lower()]
    if estimated_only and name is None and len(found) > 1:
        found = [h for h in found if h.estimated] or found
    if not found:
        raise CalendarError(f"no holiday{' ' + repr(name) if name else ''} on {day.isoformat()}")
    if len(found) > 1:
        names = ", ".join(repr(h.name) for h in found)
        raise CalendarError(f"{day.isoformat()} has several holidays ({names}): say which with --name")
    return found[0]


Plan = Callable[[WorkingCalendar], Awaitable[list[Override]]]


def _confirm_plan(day: date, name: str | None) -> Plan:
    """The overrides that confirm the estimated holiday on `day`, every day of it."""
    async def plan(current: WorkingCalendar) -> list[Override]:
        holiday = _pick(current, day, name, estimated_only=True)
        return [Override(d, "holiday", holiday.name, "confirmed") for d in _block(current, day, holiday.name)]

    return plan


def _move_plan(day: date, to: date, name: str | None) -> Plan:
    """The overrides that move the estimated holiday on `day` (all its days, by the same shift) to `to`."""
    async def plan(current: WorkingCalendar) -> list[Override]:
        holiday = _pick(current, day, name, estimated_only=True)
        shift = to - day
        old = _block(current, day, holiday.name)
        new = [d + shift for d in old]
        away = [Override(d, "working", holiday.name, "moved") for d in old if d not in new]
        return away + [Override(d, "holiday", holiday.name, "moved") for d in new]

    return plan


class CalendarAdmin:
    """Confirm, move or add holidays; list them; reload corrections written by another process."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, calendar: WorkingCalendar,
                 settings: JobSettings | None = None, notify: Callable[[], None] = lambda: None, *,
                 lifecycle: Lifecycle) -> None:
        self.sessions = sessions
        self.directory = directory
        self.calendar = calendar
        self.settings = settings or JobSettings()
        self.rules = rules_with(self.settings.urgent_unit)
        self.notify = notify
        # Logs the "due_moved" events and tells the people concerned, like every other change to a request.
        self.lifecycle = lifecycle

    async def confirm(self, day: date, actor: str, now: datetime, name: str | None = None) -> Change:
        """Moon sighting confirms the holiday on `day`: every day of it stops being estimated."""
        return await self._apply(_confirm_plan(day, name), actor, now)

    async def move(self, day: date, to: date, actor: str, now: datetime, name: str | None = None) -> Change:
        """The holiday on `day` falls on `to` instead; a several-day holiday moves as a whole, by the same shift."""
        if to == day:
            raise CalendarError("the new date is the same as the old one")
        return await self._apply(_move_plan(day, to, name), actor, now)

    async def correct(self, session: AsyncSession, day: date, to: date, actor: str, now: datetime) -> Change:
        """Confirm (`to` is `day`) or move the estimated holiday on `day` in the caller's transaction; `adopt` the
        result once that transaction is committed."""
        plan = _confirm_plan(day, None) if to == day else _move_plan(day, to, None)
        return await self._write(session, plan, actor, now)

    def adopt(self, change: Change) -> None:
        """Make a committed change the running calendar's (call it only after the commit)."""
        self.calendar.set_overrides(change.calendar)
        log.info("calendar corrected: %s days, %s due dates moved", len(change.overrides), len(change.moved))
        if change.moved:
            self.notify()

    async def add(self, day: date, name: str, actor: str, now: datetime) -> Change:
        """An exceptional public holiday on `day` (a decree, a royal decision)."""
        if not name.strip():
            raise CalendarError("a holiday needs a name")

        async def plan(_current: WorkingCalendar) -> list[Override]:
            return [Override(day, "holiday", name.strip(), "added")]

        return await self._apply(plan, actor, now)

    async def listing(self, year: int) -> list[Listed]:
        """The holidays of `year` as the deadlines see them (stored corrections included), by day."""
        async with self.sessions() as session:
            overrides = await load_overrides(session)
        current = self.calendar.with_overrides(overrides)
        source = {o.day: o for o in overrides}
        lines = [Listed(h.day, h.name, h.estimated, source[h.day].source if h.day in source else None)
                 for h in current.holidays_between(date(year, 1, 1), date(year, 12, 31))]
        lines += [Listed(o.day, o.name, False, o.source, off=False) for o in overrides
                  if o.kind == "working" and o.day.year == year]
        return sorted(lines, key=lambda line: (line.day, line.name))

    async def reload(self, now: datetime) -> bool:
        """Pick up corrections stored by another process; True when the calendar changed (deadlines recomputed)."""
        async with self.sessions() as session:
            stored = tuple(sorted(await load_overrides(session), key=lambda o: o.day))
        if stored == self.calendar.overrides:
            return False
        corrected = self.calendar.with_overrides(stored)
        async with self.sessions() as session, session.begin():
            moved = await self._recompute(session, corrected, "system:calendar", now, [o.day for o in stored])
        self.calendar.set_overrides(stored)
        log.info("calendar reloaded: %s overrides, %s due dates moved", len(stored), len(moved))
        if moved:
            self.notify()
        return True

    async def _apply(self, plan: Plan, actor: str, now: datetime) -> Change:
        """Write the planned overrides and recompute open deadlines in one transaction, then swap the calendar."""
        async with self.sessions() as session, session.begin():
            change = await self._write(session, plan, actor, now)
        # Only after the commit: a failed transaction leaves the running calendar as it was.
        self.adopt(change)
        return change

    async def _write(self, session: AsyncSession, plan: Plan, actor: str, now: datetime) -> Change:
        """Write the planned overrides and recompute open deadlines in the caller's transaction."""
        stored = {o.day: o for o in await load_overrides(session)}
        current = self.calendar.with_overrides(stored.values())
        planned = await plan(current)
        for override in planned:
            row = await session.get(tables.CalendarOverride, override.day)
            if row is None:
                session.add(tables.CalendarOverride(day=override.day, kind=override.kind, name=override.name,
                                                    source=override.source, actor=actor, created_at=now))
            else:
                row.kind, row.name, row.source = override.kind, override.name, override.source
                row.actor, row.created_at = actor, now
            stored[override.day] = override
        await session.flush()
        everything = sorted(stored.values(), key=lambda o: o.day)
        corrected = self.calendar.with_overrides(everything)
        moved = await self._recompute(session, corrected, actor, now, [o.day for o in planned])
        return Change(tuple(planned), tuple(moved), tuple(everything))

    async def _recompute(self, session: AsyncSession, calendar: WorkingCalendar, actor: str, now: datetime,
                         days: list[date]) -> list[Moved]:
        """New due date for every open request under `calendar`; events and notices for those that moved."""
        rows = list(await session.scalars(
            select(tables.Request).where(tables.Request.status.in_(OPEN))
            .order_by(tables.Request.id).with_for_update()))
        if not rows:
            return []
        members = await active_members(session)
        today = local_today(now)
        moved: list[Moved] = []
        for row in rows:
            if row.deadline_rule not in self.rules:
                continue
            due = request_due(row.deadline_rule, row.received_at, calendar, self.rules,
                              extended=row.extended_at is not None).due
            if due == row.due_on:
                continue
            old = row.due_on
            row.due_on = due
            if row.overdue_at is not None and due >= today:
                row.overdue_at = None  # no longer late: the overdue sweep will look at the new date
            await self.lifecycle.record(session, row, "due_moved", actor, now, {
                "from": old.isoformat(), "to": due.isoformat(), "days": [d.isoformat() for d in days]})
            await self._tell(session, row, old, due, members, now)
            moved.append(Moved(row.reference, old, due))
            log.info("due moved reference=%s from=%s to=%s", row.reference, old, due)
        return moved

    async def _tell(self, session: AsyncSession, row: tables.Request, old: date, new: date,
                    members: list[StaffMember], now: datetime) -> None:
        """Queue the citizen's and the handlers' notices of one moved due date (once: the row is now right)."""
        reference = row.reference
        await self.lifecycle.tell_citizen(session, row, now, lambda t: notices.due_moved(t, reference, new, old))
        handlers = request_handlers(members, self.directory, row.collectivity_code, row.assigned_staff_id)
        await self.lifecycle.tell_staff(session, handlers, now,
                                        lambda t: notices.staff_due_moved(t, reference, new, old))
