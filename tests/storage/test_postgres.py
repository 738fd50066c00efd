"""The same migrations and a full conversation on this machine's PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from datetime import timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select

from bot.app import build
from bot.config import Settings
from bot.flows.spec import Inbound, InboundKind
from bot.services.clock import FixedClock
from bot.storage import tables
from bot.storage.migrate import alembic_config
from tests.conftest import MONDAY_MORNING, postgres_url, reset_schema

pytestmark = pytest.mark.skipif(postgres_url() is None, reason="TEST_DATABASE_URL is not set")


async def test_conversation_and_receipt_on_postgres(tmp_path: Path) -> None:
    url = postgres_url()
    assert url is not None
    await reset_schema(url)
    clock = FixedClock(MONDAY_MORNING)
    bab = await build(Settings(data_dir=tmp_path, database_url=url, default_locale="fr"), clock=clock)
    try:
        async with bab.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(tables.Collectivity)) == 1590

        async def send(text: str | None = None, choice: str | None = None) -> None:
            async with bab.sessions() as session:
                row = await session.scalar(select(tables.Conversation))
                version = row.version if row else 0
            inbound = (Inbound(kind=InboundKind.TEXT, text=text) if choice is None
                       else Inbound(kind=InboundKind.CHOICE, choice_id=choice, version=version))
            await bab.conversations.handle("test", "pg-user", inbound)

        await send("Bonjour")
        await send(choice="feedback")
        await send(choice="observation")
        await send("Fès")
        await send(choice="03.231.01.0")
        await send(choice="markets")
        await send("Le marché couvert de la médina ferme trop tôt le samedi.")
        await send(choice="skip")
        await send(choice="skip")
        await send(choice="send")
        async with bab.sessions() as session:
            request = await session.scalar(select(tables.Request))
            assert request is not None and request.kind == "observation"
            assert request.received_at == MONDAY_MORNING.astimezone(timezone.utc)
            assert request.received_at.tzinfo is not None
            pending = await session.scalar(select(func.count()).select_from(tables.OutboxMessage))
            assert pending and pending >= 10
    finally:
        await bab.close()


async def test_first_messages_racing_make_one_identity(tmp_path: Path) -> None:
    url = postgres_url()
    assert url is not None
    await reset_schema(url)
    bab = await build(Settings(data_dir=tmp_path, database_url=url, default_locale="fr"),
                      clock=FixedClock(MONDAY_MORNING))
    try:
        hello = Inbound(kind=InboundKind.TEXT, text="Bonjour")
        await asyncio.gather(*(bab.conversations.handle("test", "same-person", hello) for _ in range(5)))
        async with bab.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(tables.Identity)) == 1
            assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 5
    finally:
        await bab.close()


def test_models_match_migrations_on_postgres() -> None:
    url = postgres_url()
    assert url is not None
    asyncio.run(reset_schema(url))
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrations disagree
    command.downgrade(config, "base")
    command.upgrade(config, "head")

