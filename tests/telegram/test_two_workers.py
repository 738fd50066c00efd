"""Two `bab run` on one PostgreSQL share one Telegram bot: one of them sends at a time, the other takes over."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.app import Bab
from bot.config import Settings
from bot.domain.directory import Directory
from bot.flows.spec import Outbound
from bot.services.channel_locks import lock_key
from bot.services.clock import FixedClock
from bot.storage import repos, tables
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.conftest import make_bab

CHATS = (5550101, 5550102, 5550103)


async def queue(bab: Bab, label: str, now: datetime) -> None:
    async with bab.sessions() as session, session.begin():
        for chat in CHATS:
            identity = await repos.identity_for(session, "telegram", str(chat), now)
            await repos.enqueue(session, identity.id, "telegram", Outbound(text=f"{label} {chat}", locale="fr"), now)


async def test_one_worker_sends_on_the_bot_and_the_other_takes_over_when_it_goes(
        pg_settings: Settings, fake_api: FakeTelegramAPI, clock: FixedClock,
        template_db: tuple[Path, Directory]) -> None:
    settings = dataclasses.replace(pg_settings, telegram_bot_token=fake_api.token,
                                   telegram_api_base_url=fake_api.base_url)
    first = await make_bab(settings, clock, template_db[1])
    second = await make_bab(settings, clock, template_db[1])
    try:
        await queue(first, "one", clock.now())
        assert await first.dispatcher.dispatch_once() == 3  # the first to ask holds the bot's lock
        await queue(first, "two", clock.now())
        assert await second.dispatcher.dispatch_once() == 0  # the other worker leaves the bot alone…
        async with second.sessions() as session:
            waiting = list(await session.scalars(select(tables.OutboxMessage.id)
                                                 .where(tables.OutboxMessage.status == "pending")))
        assert len(waiting) == 3
        await first.close()  # …until the first one stops (or dies: its connection, and so its lock, goes)
        assert second.dispatcher.locks is not None
        second.dispatcher.locks.every = 0.0  # ask again now rather than in five seconds
        assert await second.dispatcher.dispatch_once() == 3
        for chat in CHATS:
            assert [call.params["text"] for call in fake_api.sent_to(chat)] == [f"one {chat}", f"two {chat}"]
    finally:
        await first.close()
        await second.close()


def test_the_lock_key_is_stable_and_per_channel() -> None:
    assert lock_key("telegram") == lock_key("telegram") != lock_key("whatsapp")
    assert -2 ** 63 <= lock_key("telegram") < 2 ** 63
