"""The transparency figures and the anonymous export read from a real database, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.app import Bab, web_app
from bot.domain.lifecycle import Action
from bot.services.clock import FixedClock
from bot.services.transparency import LEASE, Transparency, figures_to_json
from bot.storage import repos, tables

TETOUAN = "01.571.01.11"


async def seed(bab: Bab) -> None:
    now = bab.clock.now()
    async with bab.sessions() as session, session.begin():
        identity = await repos.identity_for(session, "web", "someone", now)
        rows = []
        for number in range(3):
            row = tables.Request(
                reference=f"BAB-TEST{number}", kind="access", status="submitted", citizen_id=identity.citizen_id,
                identity_id=identity.id, collectivity_code=TETOUAN, locale="fr", urgent=False,
                subject="Le budget", requester_name="Amina", contact="+212600000000", deadline_rule="access",
                received_at=now, due_on=(now + timedelta(days=29)).date(), created_at=now, updated_at=now)
            session.add(row)
            rows.append(row)
        await session.flush()
        later = now + timedelta(days=2)  # Wednesday 18 November is a holiday: one working day later
        await bab.lifecycle.apply(session, rows[0], Action.REFUSE, "staff:1", later, {"ground": "article_7"})
        await bab.lifecycle.apply(session, rows[1], Action.ANSWER, "staff:1", later, {"text": "Voici"})
        await bab.lifecycle.apply(session, rows[1], Action.CLOSE, "staff:1", later, {})


async def test_figures_and_export_on_each_backend(db_bab: Bab) -> None:
    await seed(db_bab)
    snapshot = await db_bab.transparency.refresh()
    for code in ("MA", "01", "01.571", TETOUAN):
        area = snapshot.figures[code]
        assert (area.received, area.answered, area.refused_total, area.refused["article_7"], area.decided,
                area.overdue) == (3, 1, 1, 1, 2, 0)
        assert area.median_days == 1 and area.on_time_share == 1.0
    assert set(snapshot.figures) == {"MA", "01", "01.571", TETOUAN}
    exported = [row async for row in db_bab.transparency.export(batch=2)]  # read in two batches
    assert [row.reference for row in exported] == ["BAB-TEST0", "BAB-TEST1", "BAB-TEST2"]
    assert [(row.decision, row.refusal_ground) for row in exported] == [
        ("refuse", "article_7"), ("answer", None), (None, None)]
    assert str(exported[0].decided_on) == "2026-11-18"
    # The cache: a second read is the same snapshot until the time is up.
    assert await db_bab.transparency.snapshot() is snapshot
    # Counted two requests at a time (each batch with its own decisions), the figures are the same.
    batched = Transparency(db_bab.sessions, db_bab.directory, db_bab.calendar, db_bab.clock, batch=2)
    assert figures_to_json((await batched.refresh()).figures) == figures_to_json(snapshot.figures)


async def add_request(bab: Bab, number: int) -> None:
    now = bab.clock.now()
    async with bab.sessions() as session, session.begin():
        identity = await repos.identity_for(session, "web", "someone", now)
        session.add(tables.Request(
            reference=f"BAB-MORE{number}", kind="complaint", status="submitted", citizen_id=identity.citizen_id,
            identity_id=identity.id, collectivity_code=TETOUAN, locale="fr", urgent=False, subject="La rue",
            deadline_rule="feedback", received_at=now, due_on=(now + timedelta(days=60)).date(), created_at=now,
            updated_at=now))


def restarted(bab: Bab, ttl: float = 600.0) -> Transparency:
    """A worker started anew on the same database: nothing in its memory."""
    return Transparency(bab.sessions, bab.directory, bab.calendar, bab.clock, ttl)


async def test_a_restarted_worker_serves_the_stored_figures_at_once_and_recounts_in_the_background(
        db_bab: Bab, clock: FixedClock) -> None:
    await seed(db_bab)
    counted = await db_bab.transparency.refresh()
    await add_request(db_bab, 1)  # after the count: the stored figures do not have it yet
    clock.advance(minutes=5)
    worker = restarted(db_bab)
    first = await worker.snapshot()
    # The stored figures, at once, with the time they were counted: nothing was counted again.
    assert first.figures["MA"].received == 3 and first.computed_at == counted.computed_at
    assert worker._task is None
    assert await worker.warm() is first  # fresh enough: a start does not count either
    # Once they are older than the ttl the page still gets them at once, and one task counts them again.
    clock.advance(minutes=6)
    assert await worker.snapshot() is first
    assert worker._task is not None
    renewed = await worker._task
    assert renewed is not None and renewed.figures["MA"].received == 4
    assert await worker.snapshot() is renewed
    # ...and stores them: another worker started now serves them, not the older ones.
    assert (await restarted(db_bab).snapshot()).figures["MA"].received == 4


async def test_one_worker_counts_at_a_time_and_the_others_adopt_its_figures(db_bab: Bab, clock: FixedClock) -> None:
    await seed(db_bab)
    await db_bab.transparency.refresh()
    clock.advance(minutes=11)
    one, two = restarted(db_bab), restarted(db_bab)
    assert await one.claim()  # `one` is counting (its lease lasts LEASE)
    assert await two.renew() is None  # `two` leaves it to `one`, and keeps serving the stored figures
    assert (await two.snapshot()).figures["MA"].received == 3
    await add_request(db_bab, 2)
    mine = await one.refresh()
    assert mine.figures["MA"].received == 4
    adopted = await two.renew()  # what `one` stored is fresh: `two` takes it without counting
    assert adopted is not None and adopted.computed_at == mine.computed_at and adopted.figures["MA"].received == 4
    # A worker that died while counting holds the row only until its lease runs out.
    clock.advance(minutes=11)
    assert await one.claim()
    assert not await two.claim()
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await two.claim()


async def test_the_stored_figures_are_the_counted_ones(db_bab: Bab) -> None:
    await seed(db_bab)
    counted = await db_bab.transparency.refresh()
    stored = await restarted(db_bab).stored()
    assert stored is not None and stored.today == counted.today
    assert {code: repr(area) for code, area in stored.figures.items()} == {
        code: repr(area) for code, area in counted.figures.items()}


async def test_the_page_says_when_the_figures_were_counted(bab: Bab, aiohttp_client: Any) -> None:
    await seed(bab)
    await bab.transparency.refresh()
    client = await aiohttp_client(web_app(bab, dispatch=False))
    page = await (await client.get("/transparency?lang=fr")).text()
    assert "Chiffres comptés le 16 novembre 2026 à" in page, page
    assert "(heure marocaine)" in page
