"""Alembic environment: runs on a connection handed over by bot.storage.migrate, or opens its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.config import load_settings
from bot.storage.db import create_engine, is_sqlite
from bot.storage.tables import Base

target_metadata = Base.metadata


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # On the driver's connection, not through SQLAlchemy, which would BEGIN first: inside a transaction SQLite
    # ignores this pragma.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def do_run_migrations(connection: Connection) -> None:
    sqlite = is_sqlite(str(connection.engine.url))
    # A batch migration rebuilds a SQLite table (copy, drop, rename), and SQLite refuses to drop a table that
    # other rows point at: enforcement is off while migrating, and every foreign key is checked before commit.
    if sqlite and not connection.in_transaction():
        _sqlite_foreign_keys(connection, False)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys in {sorted({row[0] for row in broken})}")
            if connection.in_transaction():
                connection.commit()
    except BaseException:
        if sqlite and connection.in_transaction():
            connection.rollback()
        raise
    finally:
        if sqlite and not connection.in_transaction():
            _sqlite_foreign_keys(connection, True)


async def run_async_migrations(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    do_run_migrations(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or load_settings().database_url
    asyncio.run(run_async_migrations(url))
