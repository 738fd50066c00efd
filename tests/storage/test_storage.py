"""Storage on both backends from one fixture: SQLite (the embedded default) and PostgreSQL (TEST_DATABASE_URL).

Each test runs twice through `db_settings`/`db_bab` (tests/conftest.py); the PostgreSQL half is skipped when
TEST_DATABASE_URL is unset and runs in `.ci/run`. Whole conversations on PostgreSQL are the golden transcripts'
job (tests/golden): these check what the database itself must get right.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select

from bot.app import Bab, build
from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.values import Outbound
from bot.flows.spec import Inbound, InboundKind
from bot.services.clock import FixedClock
from bot.storage import repos, tables
from bot.storage.migrate import alembic_config
from tests.conftest import MONDAY_MORNING, postgres_url, reset_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend (the PostgreSQL one emptied of every table)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    url = postgres_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    asyncio.run(reset_schema(url))
    return url


def test_the_migrations_build_the_models_schema_and_go_down_and_up_again(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrations disagree
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    if empty_url.startswith("sqlite"):  # the PostgreSQL half has no sync driver here; `check` covers it
        names = set(inspect(create_engine(empty_url.replace("+aiosqlite", ""))).get_table_names())
        assert {"citizens", "identities", "conversations", "requests", "request_events", "outbox"} <= names


async def test_the_directory_is_loaded_once(db_bab: Bab) -> None:
    async with db_bab.sessions() as session:
        assert await repos.collectivity_count(session) == 1590


async def test_first_messages_racing_make_one_identity(db_bab: Bab) -> None:
    hello = Inbound(kind=InboundKind.TEXT, text="Bonjour")
    await asyncio.gather(*(db_bab.conversations.handle("test", "same-person", hello, message_id=f"m{n}")
                           for n in range(5)))
    async with db_bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.Identity)) == 1
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 5


async def test_a_redelivered_message_is_recorded_once(db_bab: Bab) -> None:
    hello = Inbound(kind=InboundKind.TEXT, text="Bonjour")
    first = await db_bab.conversations.handle("test", "amina", hello, message_id="wamid.1")
    again = await db_bab.conversations.handle("test", "amina", hello, message_id="wamid.1")
    assert (first.duplicate, again.duplicate) == (False, True)
    async with db_bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 1


async def test_timestamps_come_back_aware_in_utc(db_bab: Bab) -> None:
    async with db_bab.sessions() as session, session.begin():
        identity = await repos.identity_for(session, "test", "youssef", MONDAY_MORNING)
        await repos.enqueue(session, identity.id, "test", Outbound(text="x", locale="fr"), MONDAY_MORNING)
    async with db_bab.sessions() as session:
        row = await session.scalar(select(tables.OutboxMessage))
        assert row is not None and row.created_at == MONDAY_MORNING
        assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)


async def test_a_conversation_survives_a_restart_of_the_app(db_bab: Bab, db_settings: Settings, clock: FixedClock,
                                                            template_db: tuple[Path, Directory]) -> None:
    async def version() -> int:
        async with db_bab.sessions() as session:
            row = await session.scalar(select(tables.Conversation))
            assert row is not None
            return int(row.version)

    await db_bab.conversations.handle("test", "amina", Inbound(kind=InboundKind.TEXT, text="Bonjour"))
    await db_bab.conversations.handle("test", "amina", Inbound(kind=InboundKind.CHOICE, choice_id="access",
                                                               version=await version()))
    await db_bab.close()
    again = await build(db_settings, clock=clock, directory=template_db[1])
    try:
        await again.conversations.handle("test", "amina", Inbound(
            kind=InboundKind.TEXT, text="Le budget 2025 de la commune"))
        async with again.sessions() as session:
            row = await session.scalar(select(tables.Conversation))
            assert row is not None and (row.state["flow"], row.state["step"]) == ("access", "place")
            assert row.state["answers"]["topic"] == "Le budget 2025 de la commune"
    finally:
        await again.close()


async def test_sqlite_overwrites_what_is_deleted(bab: Bab) -> None:
    """An erased row leaves nothing in the file's free space (PRAGMA secure_delete), even a column not encrypted."""
    marker = "ERASED-MARKER-7Q4Z"
    async with bab.sessions() as session, session.begin():
        session.add(tables.AuditEvent(at=bab.clock.now(), actor="staff:1", action="view_personal", target=marker,
                                      outcome="shown", data={}))
    async with bab.sessions() as session, session.begin():
        await session.execute(tables.AuditEvent.__table__.delete().where(tables.AuditEvent.target == marker))
    database = Path(bab.engine.url.database or "")
    await bab.engine.dispose()
    with closing(sqlite3.connect(database)) as connection:  # the WAL's pages reach the main file, the WAL is emptied
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    found = [path.name for path in database.parent.glob(database.name + "*") if marker.encode() in path.read_bytes()]
    assert found == []
    # The control: the same deletion without the pragma leaves the marker in the file (Debian's SQLite is built
    # with it on by default, so this turns it off by hand), so the scan above does see leftovers.
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA secure_delete=OFF")
        connection.execute("INSERT INTO audit_events (at, actor, action, target, outcome, data) "
                           "VALUES ('2026-01-01 00:00:00', 'staff:1', 'view', ?, 'shown', '{}')", (marker,))
        connection.commit()
        connection.execute("DELETE FROM audit_events WHERE target = ?", (marker,))
        connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert marker.encode() in database.read_bytes()
