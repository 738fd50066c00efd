"""The APScheduler wrapper: it sweeps once on start (catch-up after downtime), and a restart sends nothing twice."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from sqlalchemy import func, select

from bot.app import Bab
from bot.domain.deadlines import CASABLANCA
from bot.services.clock import FixedClock
from bot.services.scheduler import Scheduler
from bot.storage import tables
from tests.jobs import factories as f


def local(y: int, mo: int, d: int, h: int = 10) -> datetime:
    return datetime(y, mo, d, h, 0, tzinfo=CASABLANCA)


async def started_and_swept(bab: Bab, clock: FixedClock) -> Scheduler:
    scheduler = Scheduler(bab.jobs, clock)
    scheduler.start()
    assert scheduler.running
    for _ in range(200):
        if scheduler.sweeps or scheduler.failures:
            break
        await asyncio.sleep(0.02)
    await scheduler.stop()
    assert scheduler.sweeps >= 1 and scheduler.failures == 0
    return scheduler


async def alert_counts(bab: Bab) -> dict[str, int]:
    async with bab.sessions() as session:
        rows = await session.execute(select(tables.Alert.kind, func.count()).group_by(tables.Alert.kind))
        return {kind: n for kind, n in rows.all()}


async def test_restart_after_a_week_of_downtime_sends_each_missed_alert_once(bab: Bab, clock: FixedClock) -> None:
    now = clock.now()
    async with bab.sessions() as session, session.begin():
        amina = await f.citizen(session, "amina", now)
        await f.staff(session, "clerk", "clerk", [f.COMMUNE], now)
        await f.staff(session, "prov", "coordinator", [f.PROVINCE], now)
        # due Wed 25 Nov (see test_sweeps), due Fri 13 Nov, and a complaint due Fri 20 Nov (+60 from Mon 21 Sep).
        soon = await f.request(session, amina, local(2026, 10, 26), bab.calendar)
        late = await f.request(session, amina, local(2026, 10, 15), bab.calendar)
        complaint = await f.request(session, amina, local(2026, 9, 21), bab.calendar, kind="complaint",
                                    rule="feedback_answer")
    assert (soon.due_on, late.due_on, complaint.due_on) == (date(2026, 11, 25), date(2026, 11, 13),
                                                           date(2026, 11, 20))
    # Bab was last up on Fri 13 Nov; it comes back on Mon 23 Nov, 10:00, a week and a weekend later.
    clock.moment = local(2026, 11, 23).astimezone(clock.moment.tzinfo)
    await started_and_swept(bab, clock)
    first = await alert_counts(bab)
    # `soon`: 24 and 25 left = 2 working days: the 5-day reminder (the nearest one not yet passed).
    # `late` and `complaint`: overdue → clerk + citizen each. One digest for the coordinator, and the mark that
    # they were caught up on earlier escalations (none: no message).
    assert first == {"reminder": 1, "overdue": 2, "overdue_citizen": 2, "digest": 1, "escalation_caught_up": 1}
    async with bab.sessions() as session:
        outbox_after_first = await f.count(session, tables.OutboxMessage)
    assert outbox_after_first == 6
    # Restart the same day: every sweep runs again at start, nothing is sent twice.
    await started_and_swept(bab, clock)
    assert await alert_counts(bab) == first
    async with bab.sessions() as session:
        assert await f.count(session, tables.OutboxMessage) == outbox_after_first


async def test_a_failing_sweep_is_counted_as_a_failure(bab: Bab, clock: FixedClock) -> None:
    jobs = bab.jobs

    async def broken(_now: datetime) -> None:
        raise RuntimeError("lost connection")

    jobs.before = broken
    scheduler = Scheduler(jobs, clock)
    await scheduler.sweep()  # logged, not raised
    assert (scheduler.sweeps, scheduler.failures) == (0, 1)
    jobs.before = None
    await scheduler.sweep()
    assert (scheduler.sweeps, scheduler.failures) == (1, 1)
