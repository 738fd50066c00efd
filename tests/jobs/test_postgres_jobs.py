"""Two Bab processes (two engines, two schedulers) sweeping one PostgreSQL database send each alert exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import Bab, build
from bot.config import Settings
from bot.domain.deadlines import CASABLANCA
from bot.services.clock import FixedClock
from bot.services.scheduler import Scheduler
from bot.storage import tables
from tests.conftest import postgres_url, reset_schema
from tests.jobs import factories as f

pytestmark = pytest.mark.skipif(postgres_url() is None, reason="TEST_DATABASE_URL is not set")


def local(y: int, mo: int, d: int, h: int = 10) -> datetime:
    return datetime(y, mo, d, h, 0, tzinfo=CASABLANCA)


async def two_processes(tmp_path: Path, clock: FixedClock) -> tuple[Bab, Bab]:
    """Two Babs with their own engines on the test PostgreSQL database, emptied and migrated once."""
    url = postgres_url()
    assert url is not None
    await reset_schema(url)
    settings = Settings(data_dir=tmp_path, database_url=url, default_locale="fr")
    one = await build(settings, clock=clock)
    return one, await build(settings, clock=clock, migrate=False, directory=one.directory)


async def test_two_processes_send_each_alert_once(tmp_path: Path) -> None:
    clock = FixedClock(local(2026, 11, 17))  # Tue 17 Nov 2026, 10:00
    one, two = await two_processes(tmp_path, clock)
    try:
        now = clock.now()
        async with one.sessions() as session, session.begin():
            await f.staff(session, "clerk-a", "clerk", [f.COMMUNE], now)
            await f.staff(session, "clerk-b", "clerk", [f.COMMUNE], now)
            await f.staff(session, "prov", "coordinator", [f.PROVINCE], now)
            await f.staff(session, "reg", "coordinator", [f.REGION], now)
            for n in range(12):
                citizen = await f.citizen(session, f"citizen-{n}", now)
                await f.request(session, citizen, local(2026, 10, 15), one.calendar)  # overdue (due 13 Nov)
                await f.request(session, citizen, local(2026, 10, 26), one.calendar)  # 5-day reminder (due 25 Nov)
                await f.request(session, citizen, local(2026, 9, 21), one.calendar, code=f.OTHER_COMMUNE,
                                kind="complaint", rule="feedback_answer")  # due Fri 20 Nov, no clerk: reminder
                await f.request(session, citizen, local(2026, 9, 14), one.calendar, code=f.OTHER_COMMUNE,
                                kind="complaint", rule="feedback_answer")  # overdue since Fri 13 Nov, no clerk
        first, second = one.jobs, two.jobs
        for _ in range(3):
            await asyncio.gather(first.run_all(now), second.run_all(now), first.run_all(now), second.run_all(now))
        # And two schedulers starting at once (each sweeps on start), on the same requests.
        schedulers = [Scheduler(one.jobs, clock), Scheduler(two.jobs, clock)]
        for scheduler in schedulers:
            scheduler.start()
        for _ in range(300):
            if all(s.sweeps or s.failures for s in schedulers):
                break
            await asyncio.sleep(0.02)
        for scheduler in schedulers:
            await scheduler.stop()
        assert all(s.sweeps for s in schedulers)
        assert [s.failures for s in schedulers] == [0, 0]

        async with one.sessions() as session:
            kinds = dict((await session.execute(
                select(tables.Alert.kind, func.count()).group_by(tables.Alert.kind))).all())
            outbox = await f.count(session, tables.OutboxMessage)
            per_key = (await session.execute(select(func.count(tables.Alert.dedupe_key.distinct())))).scalar()
            events = await session.scalar(select(func.count()).select_from(tables.RequestEvent)
                                          .where(tables.RequestEvent.kind == "overdue"))
        # 12 overdue access requests → 2 clerks + citizen; 12 overdue complaints → province coordinator + citizen;
        # reminders: 12 access requests → 2 clerks, 12 complaints due Fri 20 Nov → the province coordinator.
        # And each coordinator caught up once on escalations before them (none here: a ledger mark, no message).
        assert kinds == {"overdue": 12 * 2 + 12, "overdue_citizen": 24, "reminder": 12 * 2 + 12, "digest": 2,
                         "escalation_caught_up": 2}
        assert per_key == sum(kinds.values())
        # Each person's 12 notices of one kind go as one list: 24 citizens' notices, two lists to each clerk,
        # two lists and a digest to the province, a digest to the region.
        assert outbox == 24 + 2 * 2 + 3 + 1
        assert events == 24
    finally:
        await two.close()
        await one.close()


async def test_two_processes_catch_a_late_coordinator_up_once(tmp_path: Path) -> None:
    clock = FixedClock(local(2026, 12, 14))  # Mon 14 Dec: requests due Fri 13 Nov are escalated today
    one, two = await two_processes(tmp_path, clock)
    try:
        now = clock.now()
        async with one.sessions() as session, session.begin():
            await f.staff(session, "prov", "coordinator", [f.PROVINCE], now)
            await f.staff(session, "reg", "coordinator", [f.REGION], now)
            for n in range(5):
                citizen = await f.citizen(session, f"citizen-{n}", now)
                await f.request(session, citizen, local(2026, 10, 15), one.calendar)
        await one.jobs.run_all(now)
        async with one.sessions() as session, session.begin():
            newcomer = (await f.staff(session, "reg-2", "coordinator", [f.REGION], now)).identity_id
        for _ in range(3):
            await asyncio.gather(one.jobs.run_all(now), two.jobs.run_all(now))
        async with one.sessions() as session:
            told = [m for m in await f.outbox(session, newcomer) if m.payload["options"]]
            kinds = list(await session.scalars(select(tables.Alert.kind).where(tables.Alert.identity_id == newcomer)))
        assert len(told) == 1 and len(told[0].payload["options"]) == 3  # one message, the first three to open
        assert sorted(kinds) == ["digest"] + ["escalation"] * 5 + ["escalation_caught_up"]
    finally:
        await two.close()
        await one.close()
