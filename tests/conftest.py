"""Shared fixtures: a real SQLite database built by the migrations, a fixed clock, a Bab, and web users."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import URL, make_url

from bot.app import Bab, build
from bot.config import Settings
from bot.domain.directory import Directory
from bot.services.clock import FixedClock
from bot.services.directory import directory_from_db, load_directory
from bot.storage import crypto
from bot.storage.db import create_engine, create_sessionmaker, reset_schema
from bot.storage.migrate import upgrade_to_head

CASABLANCA = ZoneInfo("Africa/Casablanca")
# Monday 16 November 2026, 10:00 in Casablanca: a working day, two days before Independence Day (18 Nov).
MONDAY_MORNING = datetime(2026, 11, 16, 10, 0, tzinfo=CASABLANCA)
# Fixed keys for encryption at rest: the `settings` fixture names them, and they are installed for the tests that
# open a database without `build` (which installs the keyring of its settings).
TEST_DATA_KEY = "ymawYamoZMyiOITf1GZzsPBTZwzsKgxoD7mirAP04Vc="
TEST_HASH_KEY = "UwxbVg1Dk74aEDw6YSs62igwh7zyFDZH5GDaWP8xb4g"
crypto.install(crypto.Keyring((TEST_DATA_KEY,), TEST_HASH_KEY))


async def _make_template(path: Path) -> Directory:
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    await upgrade_to_head(engine)
    sessions = create_sessionmaker(engine)
    await load_directory(sessions)
    directory, _ = await directory_from_db(sessions)
    await engine.dispose()
    return directory


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Directory]:
    """A migrated SQLite file with the directory loaded, built once and copied by each test."""
    path = tmp_path_factory.mktemp("template") / "bab.sqlite3"
    directory = asyncio.run(_make_template(path))
    return path, directory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_MORNING)


@pytest.fixture
def settings(tmp_path: Path, template_db: tuple[Path, Directory]) -> Settings:
    database = tmp_path / "bab.sqlite3"
    shutil.copy(template_db[0], database)
    return Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{database}", default_locale="ary",
                    data_keys=(TEST_DATA_KEY,), hash_key=TEST_HASH_KEY)


@pytest.fixture
async def bab(settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    app = await build(settings, clock=clock, directory=template_db[1])
    yield app
    await app.close()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker gets its own PostgreSQL database, `<db>_gw0`, `<db>_gw1`…, on the server of
    TEST_DATABASE_URL (created through its `postgres` database), so the PG tests' `reset_schema` never collide."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), postgres_url()
    if worker and url and not hasattr(config, "_bab_worker_database"):
        base = make_url(url)
        own = base.set(database=f"{base.database}_{worker}")
        asyncio.run(_recreate_database(base, own.database))
        config._bab_worker_database = (base, own.database)  # type: ignore[attr-defined]
        os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "_bab_worker_database"):
        base, name = config._bab_worker_database
        asyncio.run(_recreate_database(base, name, create=False))


async def _recreate_database(base: URL, name: str | None, create: bool = True) -> None:
    import asyncpg

    server = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def postgres_url() -> str | None:
    """The PostgreSQL database for the PG tests (TEST_DATABASE_URL), or None to skip them."""
    return os.environ.get("TEST_DATABASE_URL") or None


async def prepare_postgres(url: str) -> None:
    """An empty PostgreSQL test database brought to the latest schema, with the directory loaded."""
    await reset_schema(url)
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await load_directory(create_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
async def pg_settings(settings: Settings) -> Settings:
    """Like `settings`, on the PostgreSQL test database (migrated, directory loaded); skipped without it."""
    url = postgres_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    await prepare_postgres(url)
    return dataclasses.replace(settings, database_url=url)


@pytest.fixture
async def pg_bab(pg_settings: Settings, clock: FixedClock,
                 template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    """A Bab on the PostgreSQL test database; skipped when TEST_DATABASE_URL is unset."""
    app = await build(pg_settings, clock=clock, directory=template_db[1])
    yield app
    await app.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest) -> Settings:
    """The storage tests' settings, once on SQLite and once on PostgreSQL (skipped when TEST_DATABASE_URL is unset)."""
    found: Settings = request.getfixturevalue("settings" if request.param == "sqlite" else "pg_settings")
    return found


@pytest.fixture
async def db_bab(db_settings: Settings, clock: FixedClock,
                 template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    """A Bab on each backend in turn (see `db_settings`)."""
    app = await build(db_settings, clock=clock, directory=template_db[1])
    yield app
    await app.close()


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


class WebUser:
    """A browser on the web chat: keeps its cookie, posts messages and taps buttons, reads delivered replies."""

    def __init__(self, client: Any, bab: Bab) -> None:
        self.client = client
        self.bab = bab
        self.last_id = 0
        self.messages: list[dict[str, Any]] = []

    async def open(self) -> None:
        response = await self.client.get("/")
        assert response.status == 200

    async def replies(self) -> list[dict[str, Any]]:
        await self.bab.dispatcher.dispatch_once()
        response = await self.client.get(f"/api/messages?after={self.last_id}&wait=0")
        assert response.status == 200
        body = await response.json()
        self.last_id = body["last_id"]
        self.messages.extend(body["messages"])
        return list(body["messages"])

    async def say(self, text: str) -> list[dict[str, Any]]:
        response = await self.client.post("/api/messages", json={"text": text})
        assert response.status == 202, await response.text()
        return await self.replies()

    @property
    def prompt(self) -> dict[str, Any]:
        """The latest bot message that carries a version (the current question)."""
        return next(message for message in reversed(self.messages) if message["version"] is not None)

    def option_ids(self) -> list[str]:
        return [option["id"] for option in self.prompt["options"]]

    async def tap(self, option_id: str, version: int | None = None) -> list[dict[str, Any]]:
        prompt = self.prompt
        assert version is not None or option_id in self.option_ids(), (option_id, self.option_ids())
        response = await self.client.post("/api/messages", json={
            "choice": {"id": option_id, "version": prompt["version"] if version is None else version}})
        assert response.status == 202, await response.text()
        return await self.replies()

    async def tap_first(self) -> list[dict[str, Any]]:
        return await self.tap(self.option_ids()[0])

    def text(self) -> str:
        return "\n".join(message["text"] for message in self.messages)


@pytest.fixture
async def web_user(bab: Bab, aiohttp_client: Any) -> WebUser:
    from bot.app import web_app

    # The test drains the outbox itself (WebUser.replies) so that every turn's replies are complete.
    client = await aiohttp_client(web_app(bab, dispatch=False))
    user = WebUser(client, bab)
    await user.open()
    return user
