"""The transparency figures and the anonymous export read from a real database, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Bab
from bot.domain.lifecycle import Action
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
