"""The transparency figures read from the requests and their event log, cached, and the anonymous export.

The figures are computed by `bot.domain.transparency` and kept for `ttl` seconds; after that the next reader
still gets the cached copy at once while one task computes the new one (a first reader waits for it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.transparency import DECISIONS, Fact, Figures, compute
from bot.services.clock import Clock
from bot.storage import tables

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The figures of every area, and when they were computed."""

    figures: dict[str, Figures]
    computed_at: datetime
    today: date


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One request in the anonymous export: no name, contact, card number or text."""

    reference: str
    collectivity_code: str
    kind: str
    status: str
    received_on: date
    due_on: date
    decided_on: date | None
    decision: str | None
    refusal_ground: str | None


def _day(moment: datetime) -> date:
    return moment.astimezone(CASABLANCA).date()


class Days:
    """Moroccan dates of stored UTC moments, memoised by the hour (strings from SQLite, datetimes from asyncpg)."""

    def __init__(self) -> None:
        self._by_hour: dict[str, date] = {}

    def __call__(self, value: str | datetime) -> date:
        if isinstance(value, datetime):
            return _day(value if value.tzinfo else value.replace(tzinfo=UTC))
        hour = value[:13]
        found = self._by_hour.get(hour)
        if found is None:
            moment = datetime.fromisoformat(hour.replace(" ", "T") + ":00")
            found = _day(moment.replace(tzinfo=moment.tzinfo or UTC))
            self._by_hour[hour] = found
        return found


def to_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value[:10])


def first_decisions(rows: list[Any], days: Days) -> dict[int, tuple[str, date, str | None]]:
    """The first decision of each decided request: its kind, Moroccan day and refusal ground."""
    first: dict[int, tuple[str, date, str | None]] = {}
    for request_id, kind, at, ground in rows:
        if request_id not in first:
            first[request_id] = (kind, days(at), ground or None)
    return first


def to_facts(requests: list[Any], decisions: list[Any]) -> Iterator[Fact]:
    """One fact per request row, with its first decision."""
    days = Days()
    first = first_decisions(decisions, days)
    for request_id, code, kind, status, received_at, due_on in requests:
        decision = first.get(request_id)
        yield Fact(code, kind, status, days(received_at), to_date(due_on), decision[0] if decision else None,
                   decision[1] if decision else None, decision[2] if decision else None)


class Transparency:
    """Computes and caches the public figures."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, calendar: WorkingCalendar,
                 clock: Clock, ttl: float = 600.0) -> None:
        self.sessions = sessions
        self.directory = directory
        self.calendar = calendar
        self.clock = clock
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._stamp = 0.0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[Snapshot] | None = None

    async def snapshot(self, session: AsyncSession | None = None) -> Snapshot:
        """The cached figures; computed now if there are none, refreshed in the background when old.

        A caller inside a transaction passes its `session`, so that a first computation reads through it: on
        SQLite a second transaction would wait for the caller's own lock.
        """
        if self._snapshot is None:
            return await self.refresh(session)
        if time.monotonic() - self._stamp > self.ttl and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self.refresh())
        return self._snapshot

    async def refresh(self, session: AsyncSession | None = None) -> Snapshot:
        """Compute the figures again from the database (the counting runs in a thread, off the event loop)."""
        async with self._lock:
            started = time.perf_counter()
            requests, decisions = await self._rows(session)
            today = _day(self.clock.now())
            facts, figures = await asyncio.to_thread(self._count, requests, decisions, today)
            self._snapshot = Snapshot(figures, self.clock.now(), today)
            self._stamp = time.monotonic()
            log.info("transparency figures computed requests=%d areas=%d in %.0f ms", facts, len(figures),
                     (time.perf_counter() - started) * 1000)
            return self._snapshot

    async def _rows(self, session: AsyncSession | None = None) -> tuple[list[Any], list[Any]]:
        """The raw rows the figures need: requests, and decision events in log order (no per-row conversion)."""
        if session is None:
            async with self.sessions() as own:
                return await self._rows(own)
        request = tables.Request
        decisions = await self._decision_rows(session)
        requests = (await session.execute(select(
            request.id, request.collectivity_code, request.kind, request.status,
            type_coerce(request.received_at, String), type_coerce(request.due_on, String)))).all()
        return list(requests), list(decisions)

    async def _decision_rows(self, session: AsyncSession) -> list[Any]:
        event = tables.RequestEvent
        return list((await session.execute(
            select(event.request_id, event.kind, type_coerce(event.at, String), event.ground)
            .where(event.kind.in_(sorted(DECISIONS))).order_by(event.id))).all())

    def _count(self, requests: list[Any], decisions: list[Any], today: date) -> tuple[int, dict[str, Figures]]:
        facts = list(to_facts(requests, decisions))
        return len(facts), compute(facts, self.directory, self.calendar, today)

    async def facts(self) -> list[Fact]:
        """One fact per request."""
        requests, decisions = await self._rows()
        return list(to_facts(requests, decisions))

    async def export(self, batch: int = 5000) -> AsyncIterator[ExportRow]:
        """Every request, anonymous, in reference order, read in batches."""
        request = tables.Request
        async with self.sessions() as session:
            decisions = first_decisions(await self._decision_rows(session), Days())
        last = ""
        while True:
            async with self.sessions() as session:
                rows = list(await session.execute(
                    select(request.id, request.reference, request.collectivity_code, request.kind, request.status,
                           request.received_at, request.due_on)
                    .where(request.reference > last).order_by(request.reference).limit(batch)))
            for request_id, reference, code, kind, status, received_at, due_on in rows:
                decision = decisions.get(request_id)
                yield ExportRow(reference, code, kind, status, _day(received_at), due_on,
                                decision[1] if decision else None, decision[0] if decision else None,
                                decision[2] if decision else None)
            if len(rows) < batch:
                return
            last = rows[-1][1]
