"""The transparency figures read from the requests and their event log, cached, and the anonymous export.

The figures are computed by `bot.domain.transparency` and kept for `ttl` seconds, in memory and in the
`transparency_snapshots` table that every worker shares: a worker that starts, or whose copy is older than `ttl`,
serves the stored figures at once and counts them again in the background, one worker at a time (it claims the row
for `LEASE` while it counts). Only a database that never had figures makes its first reader wait for them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.transparency import DECISIONS, Fact, Figures, Tally
from bot.services.clock import Clock
from bot.storage import tables

log = logging.getLogger(__name__)
SNAPSHOT = "figures"  # the row of transparency_snapshots that holds the figures
LEASE = timedelta(minutes=5)  # how long a worker that counts keeps the others from counting too (23 s at 1M)
RECHECK_SECONDS = 30.0
BATCH = 20_000  # requests read and counted at a time: the count's memory stays flat however many are stored  # while another worker counts, how often a stale worker looks for its figures


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


def to_facts(requests: list[Any], decisions: list[Any], days: Days | None = None) -> Iterator[Fact]:
    """One fact per request row, with its first decision (among `decisions`, in log order)."""
    days = days or Days()
    first = first_decisions(decisions, days)
    for request_id, code, kind, status, received_at, due_on in requests:
        decision = first.get(request_id)
        yield Fact(code, kind, status, days(received_at), to_date(due_on), decision[0] if decision else None,
                   decision[1] if decision else None, decision[2] if decision else None)


def figures_to_json(figures: dict[str, Figures]) -> dict[str, Any]:
    """The figures as the snapshot row stores them (JSON: counters as objects, day counts keyed by strings)."""
    return {code: {"level": f.level, "received": f.received, "answered": f.answered, "refused": dict(f.refused),
                   "overdue": f.overdue, "decided": f.decided, "on_time": f.on_time,
                   "days": {str(days): count for days, count in f.days.items()}, "months": f.months}
            for code, f in figures.items()}


def figures_from_json(stored: dict[str, Any]) -> dict[str, Figures]:
    """The figures of a snapshot row (the inverse of `figures_to_json`)."""
    return {code: Figures(code, value["level"], value["received"], value["answered"], Counter(value["refused"]),
                          value["overdue"], value["decided"], value["on_time"],
                          Counter({int(days): count for days, count in value["days"].items()}),
                          {month: list(counts) for month, counts in value["months"].items()})
            for code, value in stored.items()}


class Transparency:
    """Computes the public figures, keeps them in the database for every worker, and caches them here."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, calendar: WorkingCalendar,
                 clock: Clock, ttl: float = 600.0, batch: int = BATCH) -> None:
        self.sessions = sessions
        self.batch = batch
        self.directory = directory
        self.calendar = calendar
        self.clock = clock
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._checked = 0.0  # monotonic time of the last look at the stored row while ours is stale
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[Snapshot | None] | None = None

    def stale(self, snapshot: Snapshot) -> bool:
        """Whether the figures are older than the ttl, or were counted on another Moroccan day."""
        now = self.clock.now()
        return (now - snapshot.computed_at).total_seconds() > self.ttl or snapshot.today != _day(now)

    async def snapshot(self, session: AsyncSession | None = None) -> Snapshot:
        """The figures at once: this worker's, else the stored ones (counted again in the background when old);
        counted now only when the database never had any.

        A caller inside a transaction passes its `session`, so that the stored figures (or a first computation)
        are read through it: on SQLite a second transaction would wait for the caller's own lock.
        """
        if self._snapshot is None:
            stored = await self.stored(session)
            if stored is None and self._lock.locked():  # a first count is running: wait for it, not count twice
                async with self._lock:
                    stored = self._snapshot
            if stored is None:
                return await self.refresh(session)
            self._snapshot = stored
        if self.stale(self._snapshot) and (self._task is None or self._task.done()) \
                and time.monotonic() - self._checked > min(self.ttl, RECHECK_SECONDS):
            self._checked = time.monotonic()
            self._task = asyncio.create_task(self.renew())
        return self._snapshot

    async def warm(self) -> Snapshot | None:
        """At start: take the stored figures, and count them again now only if they are old or missing (and no
        other worker is counting them); returns what this worker serves then."""
        stored = await self.stored()
        if stored is not None:
            self._snapshot = self._snapshot or stored
            if not self.stale(stored):
                return self._snapshot
        return await self.renew()

    async def renew(self) -> Snapshot | None:
        """Adopt fresher figures another worker stored, else claim the row and count them; None when another
        worker is counting (its figures are adopted on a later read)."""
        # When the figures were stored first (a few columns): decoding them costs ~0.1 s, only worth it to adopt.
        row = tables.TransparencySnapshot
        async with self.sessions() as session:
            found = (await session.execute(select(row.counted_at, row.as_of).where(row.name == SNAPSHOT))).first()
        if found is not None and not self.stale(Snapshot({}, found[0], found[1])):
            if self._snapshot is None or found[0] > self._snapshot.computed_at:
                self._snapshot = await self.stored() or self._snapshot
            return self._snapshot
        if found is not None and not await self.claim():
            return None
        try:
            return await self.refresh()
        except Exception:  # in a background task: logged here, the stored figures are still served
            log.exception("transparency figures not counted")
            await self.release()
            return self._snapshot

    async def stored(self, session: AsyncSession | None = None) -> Snapshot | None:
        """The figures last stored by any worker, or None."""
        if session is None:
            async with self.sessions() as own:
                return await self.stored(own)
        row = await session.get(tables.TransparencySnapshot, SNAPSHOT)
        if row is None:
            return None
        return Snapshot(figures_from_json(row.figures), row.counted_at, row.as_of)

    async def claim(self) -> bool:
        """Take the stored row for counting, unless another worker holds it (its lease runs out after LEASE)."""
        now = self.clock.now()
        row = tables.TransparencySnapshot
        async with self.sessions() as session, session.begin():
            claimed = await session.execute(update(row).where(
                row.name == SNAPSHOT, or_(row.counting_until.is_(None), row.counting_until < now))
                .values(counting_until=now + LEASE).execution_options(synchronize_session=False))
        return bool(getattr(claimed, "rowcount", 0))

    async def release(self) -> None:
        """Give up a claim (the count failed): another worker may count."""
        row = tables.TransparencySnapshot
        async with self.sessions() as session, session.begin():
            await session.execute(update(row).where(row.name == SNAPSHOT).values(counting_until=None)
                                  .execution_options(synchronize_session=False))

    async def refresh(self, session: AsyncSession | None = None) -> Snapshot:
        """Count the figures again from the database (in a thread, off the event loop) and store them."""
        async with self._lock:
            started = time.perf_counter()
            today = _day(self.clock.now())
            tally, days = Tally(self.directory, self.calendar, today), Days()
            async for requests, decisions in self._batches(session):
                await asyncio.to_thread(tally.add, to_facts(requests, decisions, days))
            snapshot = Snapshot(tally.figures, self.clock.now(), today)
            await self.store(snapshot, session)
            self._snapshot = snapshot
            log.info("transparency figures computed requests=%d areas=%d in %.0f ms", tally.facts,
                     len(tally.figures), (time.perf_counter() - started) * 1000)
            return snapshot

    async def store(self, snapshot: Snapshot, session: AsyncSession | None = None) -> None:
        """Write the figures to the shared row (and free its claim)."""
        if session is None:
            for attempt in range(2):  # two first counts racing: the second insert becomes an update
                try:
                    async with self.sessions() as own, own.begin():
                        await self.store(snapshot, own)
                    return
                except IntegrityError:
                    if attempt:
                        raise
            return
        values = {"figures": figures_to_json(snapshot.figures), "as_of": snapshot.today,
                  "counted_at": snapshot.computed_at, "counting_until": None}
        row = await session.get(tables.TransparencySnapshot, SNAPSHOT)
        if row is None:
            session.add(tables.TransparencySnapshot(name=SNAPSHOT, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        await session.flush()

    async def _batches(self, session: AsyncSession | None = None) -> AsyncIterator[tuple[list[Any], list[Any]]]:
        """The raw rows the figures need, `batch` requests at a time in id order, each with the decision events
        of those requests in log order (no per-row conversion), so that counting never holds every request."""
        after = 0
        while True:
            if session is None:
                async with self.sessions() as own:
                    requests, decisions = await self._batch(own, after)
            else:
                requests, decisions = await self._batch(session, after)
            if requests:
                yield requests, decisions
            if len(requests) < self.batch:
                return
            after = requests[-1][0]

    async def _batch(self, session: AsyncSession, after: int) -> tuple[list[Any], list[Any]]:
        request, event = tables.Request, tables.RequestEvent
        requests = list((await session.execute(
            select(request.id, request.collectivity_code, request.kind, request.status,
                   type_coerce(request.received_at, String), type_coerce(request.due_on, String))
            .where(request.id > after).order_by(request.id).limit(self.batch))).all())
        if not requests:
            return [], []
        return requests, list((await session.execute(
            select(event.request_id, event.kind, type_coerce(event.at, String), event.ground)
            .where(event.kind.in_(sorted(DECISIONS)), event.request_id >= requests[0][0],
                   event.request_id <= requests[-1][0]).order_by(event.id))).all())

    async def _decision_rows(self, session: AsyncSession) -> list[Any]:
        event = tables.RequestEvent
        return list((await session.execute(
            select(event.request_id, event.kind, type_coerce(event.at, String), event.ground)
            .where(event.kind.in_(sorted(DECISIONS))).order_by(event.id))).all())

    async def facts(self) -> list[Fact]:
        """One fact per request."""
        days = Days()
        return [fact async for requests, decisions in self._batches()
                for fact in to_facts(requests, decisions, days)]

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
