"""What one turn asks the database, and the SQLite driver that asks it in one thread hop per statement.

Counting statements is deterministic (unlike timing, which lives in benchmarks/): a change that adds a query to
every message fails here, and says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.app import Bab
from bot.flows.spec import Inbound, InboundKind
from bot.storage import tables
from bot.storage.db import create_engine, create_sessionmaker


@contextmanager
def statements(bab: Bab) -> Iterator[list[str]]:
    """The SQL statements run while the block runs (first words of each)."""
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(bab.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(bab.engine.sync_engine, "before_cursor_execute", on_execute)


async def test_a_citizen_turn_asks_the_database_five_things(db_bab: Bab) -> None:
    hello = Inbound(kind=InboundKind.TEXT, text="Bonjour")
    await db_bab.conversations.handle("test", "amina", hello, message_id="m1")
    with statements(db_bab) as seen:
        await db_bab.conversations.handle("test", "amina", Inbound(kind=InboundKind.TEXT, text="menu"),
                                          message_id="m2")
    work = [sql for sql in seen if not sql.startswith(("BEGIN", "COMMIT"))]
    # The identity with its conversation, staff link and waiting messages; the inbound record; the citizen's
    # requests; the state saved; the reply queued (the flush orders the last two).
    assert len(work) == 5, seen
    assert sorted(sql.split()[0] for sql in work) == ["INSERT", "INSERT", "SELECT", "SELECT", "UPDATE"], seen


async def test_a_redelivered_message_costs_two_statements_and_changes_nothing(db_bab: Bab) -> None:
    hello = Inbound(kind=InboundKind.TEXT, text="Bonjour")
    await db_bab.conversations.handle("test", "amina", hello, message_id="m1")
    with statements(db_bab) as seen:
        again = await db_bab.conversations.handle("test", "amina", hello, message_id="m1")
    assert again.duplicate
    assert len([sql for sql in seen if not sql.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]) == 2, seen


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_the_sqlite_driver_returns_rows_counts_and_ids(engine: Any) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        first = await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert first.lastrowid == 1
        await session.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])  # executemany
        changed = await session.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
        assert changed.rowcount == 2
    async with sessions() as session:
        rows = (await session.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
        assert (await session.execute(text("SELECT v FROM t WHERE id = 9"))).first() is None


async def test_the_sqlite_driver_raises_sqlalchemy_errors_and_rolls_back(engine: Any) -> None:
    sessions = create_sessionmaker(engine)
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (v) VALUES ('x')"))
            await session.execute(text("INSERT INTO t (v) VALUES ('x')"))
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_the_orm_works_through_the_sqlite_driver(db_bab: Bab) -> None:
    async with db_bab.sessions() as session, session.begin():
        citizen = tables.Citizen(locale="fr", created_at=db_bab.clock.now())
        session.add(citizen)
        await session.flush()
        assert citizen.id is not None
        await session.execute(update(tables.Citizen).where(tables.Citizen.id == citizen.id).values(locale="ar"))
        await session.execute(insert(tables.Citizen).values(locale="ary", created_at=db_bab.clock.now()))
    async with db_bab.sessions() as session:
        locales = set(await session.scalars(select(tables.Citizen.locale)))
        assert {"ar", "ary"} <= locales
