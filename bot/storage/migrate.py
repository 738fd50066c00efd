"""Apply the Alembic migrations programmatically (on `bab run`, `bab migrate` and in tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations folder and `url`."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_to_head(engine: AsyncEngine, uploads_dir: Path | None = None) -> None:
    """Bring the database behind `engine` to the newest revision; a no-op when it is there already. With
    `uploads_dir`, migrations that change stored files (0006 encrypts them) find them there."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    config.attributes["uploads_dir"] = uploads_dir

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.connect() as connection:
        await connection.run_sync(_upgrade)
        await connection.commit()
