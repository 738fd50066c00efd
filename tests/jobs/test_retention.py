"""The retention purge erases exactly what is past each period, the same way twice, and a dry run changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import Bab
from bot.domain.privacy_facts import RetentionSettings
from bot.services.retention import PurgeCounts, Retention
from bot.storage import tables
from tests.jobs import factories as f

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
DAYS = RetentionSettings(personal_days=365, files_days=200, messages_days=90, outbox_days=7)


async def seed(bab: Bab, uploads: Path) -> dict[str, Any]:
    """Requests closed at various ages, with files, web texts, transcript lines and outbox rows."""
    ids: dict[str, Any] = {}
    async with bab.sessions() as session, session.begin():
        for name, age, status in (("old", 400, "answered"), ("middle", 250, "refused"), ("recent", 100, "closed"),
                                  ("fresh", 10, "withdrawn"), ("open_old", 400, "submitted")):
            identity = await f.citizen(session, f"c-{name}", NOW)
            at = NOW - timedelta(days=age)
            row = await f.request(session, identity, at - timedelta(days=30), bab.calendar, status=status,
                                  requester_name=f"Name {name}", id_number=f"AB{age}", contact=f"{name}@x.ma",
                                  lat=34.0, lon=-5.0)
            row.updated_at = at
            uploads.mkdir(parents=True, exist_ok=True)
            (uploads / f"{name}.jpg").write_bytes(b"\xff\xd8\xff photo")
            session.add(tables.Attachment(identity_id=identity.id, request_id=row.id, kind="photo",
                                          ref=f"file:{name}.jpg", mime="image/jpeg", size=9, created_at=at))
            session.add(tables.RequestEvent(request_id=row.id, at=at, kind="answer", actor="staff:1",
                                            data={"text": f"answer to {name}", "files": [1]}))
            ids[name] = (row.id, identity.id)
        # A web visitor with no request: a line and a text 100 days old (due) and 10 days old (kept).
        visitor = await f.citizen(session, "visitor", NOW)
        for n, age in enumerate((100, 10)):
            at = NOW - timedelta(days=age)
            session.add(tables.WebTranscript(id=1000 + n, identity_id=visitor.id, payload={"text": "hi"}, at=at))
            session.add(tables.InboundMessage(identity_id=visitor.id, channel="web", external_id=None, kind="text",
                                              text=f"typed {age}", created_at=at))
            session.add(tables.OutboxMessage(identity_id=visitor.id, channel="web", payload={"text": "x"},
                                             status="sent", attempts=1, next_attempt_at=at, created_at=at))
        session.add(tables.OutboxMessage(identity_id=visitor.id, channel="web", payload={"text": "y"}, status="sent",
                                         attempts=1, next_attempt_at=NOW, created_at=NOW - timedelta(days=3)))
        session.add(tables.OutboxMessage(identity_id=visitor.id, channel="web", payload={"text": "p"},
                                         status="pending", attempts=0, next_attempt_at=NOW,
                                         created_at=NOW - timedelta(days=30)))
        # The citizen of the "fresh" request: an old line is kept while their request closed 10 days ago.
        session.add(tables.WebTranscript(id=2000, identity_id=ids["fresh"][1], payload={"text": "old"},
                                         at=NOW - timedelta(days=200)))
        # Audit events: one past the audit period (deleted), one within it (kept).
        for age in (900, 100):
            session.add(tables.AuditEvent(at=NOW - timedelta(days=age), actor="staff:1", action="view_personal",
                                          target=f"BAB-{age}", outcome="shown", data={}))
        ids["visitor"] = visitor.id
        # Two half-filled access forms, with one kept for later: idle 100 days (cleared) and 10 days (kept).
        for name, age in (("idle", 100), ("busy", 10)):
            identity = await f.citizen(session, f"form-{name}", NOW)
            draft = {"flow": "access", "step": "contact", "answers": {"name": f"Form {name}", "id_number": "CD9"},
                     "scratch": {}, "history": ["name"]}
            state = {**draft, "locale": "ary", "locale_confirmed": True, "version": 7, "suspended": [draft]}
            session.add(tables.Conversation(identity_id=identity.id, state=state, version=7,
                                            updated_at=NOW - timedelta(days=age)))
            ids[name] = identity.id
    return ids


async def snapshot(bab: Bab) -> dict[str, Any]:
    async with bab.sessions() as session:
        requests = {row.id: (row.requester_name, row.id_number, row.contact, row.lat, row.subject)
                    for row in await session.scalars(select(tables.Request))}
        events = {row.request_id: row.data for row in await session.scalars(select(tables.RequestEvent))}
        files = sorted(row.ref for row in await session.scalars(select(tables.Attachment)))
        lines = sorted(row.id for row in await session.scalars(select(tables.WebTranscript)))
        texts = sorted(str(row.text) for row in await session.scalars(select(tables.InboundMessage)))
        outbox = sorted(row.status for row in await session.scalars(select(tables.OutboxMessage)))
        audit = sorted(str(row.target) for row in await session.scalars(select(tables.AuditEvent)))
        forms = {row.identity_id: (row.state, row.version) for row in await session.scalars(
            select(tables.Conversation))}
    return {"requests": requests, "events": events, "files": files, "lines": lines, "texts": texts,
            "outbox": outbox, "audit": audit, "forms": forms}


async def test_purge_removes_exactly_what_is_due(db_bab: Bab) -> None:
    bab = db_bab  # SQLite and PostgreSQL: the purge's SQL (correlated NOT EXISTS, DELETE … IN) runs on both
    uploads = bab.settings.uploads_dir
    ids = await seed(bab, uploads)
    retention = Retention(bab.sessions, uploads, DAYS)
    before = await snapshot(bab)

    planned = await retention.purge(NOW, dry_run=True)
    assert await snapshot(bab) == before  # the dry run changes nothing …
    assert sorted(p.name for p in uploads.iterdir()) == ["fresh.jpg", "middle.jpg", "old.jpg", "open_old.jpg",
                                                         "recent.jpg"]
    expected = PurgeCounts(personal=1, files=2, transcript=1, texts=1, outbox=2, audit=1, conversations=1)
    assert planned == expected

    done = await retention.purge(NOW)
    assert done == planned  # … and says what the purge then does
    after = await snapshot(bab)
    old, middle = ids["old"][0], ids["middle"][0]
    assert after["requests"][old] == (None, None, None, None, "")  # 400 days closed: personal fields gone
    for name in ("middle", "recent", "fresh", "open_old"):  # within 365 days, or still open
        assert after["requests"][ids[name][0]] == before["requests"][ids[name][0]], name
    assert after["events"][old] == {"files": [1]}  # the answer's text goes, its facts stay
    assert after["events"][middle] == before["events"][middle]
    # Files: 400 and 250 days closed are past 200 days; the others stay, on disk too.
    assert after["files"] == ["file:fresh.jpg", "file:open_old.jpg", "file:recent.jpg"]
    assert sorted(p.name for p in uploads.iterdir()) == ["fresh.jpg", "open_old.jpg", "recent.jpg"]
    # Messages: the visitor's 100-day-old line and text go; the fresh citizen's old line stays (closed 10 days ago).
    assert after["lines"] == [1001, 2000]
    assert after["texts"] == ["None", "typed 10"]  # the row stays (redeliveries), its text goes
    # Outbox: delivered rows older than a week go; the 3-day-old one and the pending one stay.
    assert after["outbox"] == ["pending", "sent"]
    assert after["audit"] == ["BAB-100"]  # the 900-day-old event is past the audit period
    # The conversation idle 100 days keeps its language only; its old buttons are stale (the version grew).
    state, version = after["forms"][ids["idle"]]
    assert (state["flow"], state["answers"], state.get("suspended"), state["locale"], state["locale_confirmed"],
            state["version"], version) == (None, {}, None, "ary", True, 8, 8)
    assert after["forms"][ids["busy"]] == before["forms"][ids["busy"]]

    assert await retention.purge(NOW) == PurgeCounts()  # twice in a row: nothing more, the same state
    assert await snapshot(bab) == after
    assert await retention.purge(NOW, dry_run=True) == PurgeCounts()


async def test_longer_retention_keeps_more(bab: Bab) -> None:
    await seed(bab, bab.settings.uploads_dir)
    longer = replace(DAYS, personal_days=500, files_days=500, messages_days=300, outbox_days=60, audit_days=1000)
    counts = await Retention(bab.sessions, bab.settings.uploads_dir, longer).purge(NOW, dry_run=True)
    assert counts == PurgeCounts(outbox=1)  # only the 100-day-old delivered row is past 60 days (and no form)
