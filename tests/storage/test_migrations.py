"""The Alembic migrations build exactly the models' schema on SQLite, and go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from bot.storage.migrate import alembic_config


def test_models_match_migrations_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "check.sqlite3"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrations disagree
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    tables = set(inspect(create_engine(f"sqlite:///{path}")).get_table_names())
    assert {"citizens", "identities", "conversations", "requests", "request_events", "outbox"} <= tables
