"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg); the only place that opens them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.storage import sqlite_driver


def is_sqlite(url: str) -> bool:
    """True when `url` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """Create an engine; on SQLite: WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE transactions."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One thread hop per statement rather than four (bot/storage/sqlite_driver.py).
    engine = create_async_engine(url, connect_args={"timeout": 30}, module=sqlite_driver.dbapi())

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that we can BEGIN IMMEDIATE:
        # a deferred BEGIN fails with "database is locked" when a read upgrades to a write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Erased rows are overwritten, not left in free pages, where an erased citizen's (encrypted) data
        # would stay readable to anyone holding the file and, one day, a leaked key (law 09-08, /forget).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit I/O in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def reset_schema(url: str) -> None:
    """Drop every table of the PostgreSQL database at `url` (tests and benchmarks start again from the
    migrations); never point it at a database that matters."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
