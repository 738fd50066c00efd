"""Fixtures: the fake Bot API, a Bab whose Telegram channel talks to it, and a citizen on Telegram."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bab, build, web_app
from bot.config import Settings
from bot.domain.directory import Directory
from bot.handlers.telegram import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
)
from bot.services.clock import FixedClock
from bot.services.pacing import Pace
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import Call, FakeTelegramAPI


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error under our filterwarnings) when RetryAfter.retry_after is read as an int;
    # opting in to timedelta, as PTB 23 will do, silences that.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeTelegramAPI]:
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.close()


@pytest.fixture
def tg_settings(settings: Settings, fake_api: FakeTelegramAPI) -> Settings:
    return dataclasses.replace(settings, telegram_bot_token=fake_api.token,
                               telegram_api_base_url=fake_api.base_url)


# Tests send dozens of messages in a second: the dispatcher still paces them, at a pace no test waits for.
FAST = Pace(per_second=10_000, burst=10_000, recipient_interval=0.0001, recipient_burst=100)


def fast(channel: TelegramChannel) -> TelegramChannel:
    """Keep the pacing logic, drop its real-world pace."""
    channel.sender.pace = FAST
    channel.poll_timeout = 1
    return channel


async def make_bab(settings: Settings, clock: FixedClock, directory: Directory) -> Bab:
    bab = await build(settings, clock=clock, directory=directory)
    assert bab.telegram is not None
    fast(bab.telegram)
    return bab


@pytest.fixture
async def tg_bab(tg_settings: Settings, clock: FixedClock,
                 template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    """A Bab in polling mode (no public URL); polling is started by the `citizen` fixture."""
    bab = await make_bab(tg_settings, clock, template_db[1])
    yield bab
    await bab.close()


class TelegramCitizen:
    """A person in a private chat with the bot: sends updates, taps inline buttons, reads what the bot sent."""

    def __init__(self, api: FakeTelegramAPI, bab: Bab, chat_id: int = 5550001, language_code: str = "fr",
                 client: Any = None) -> None:
        self.api = api
        self.bab = bab
        self.chat_id = chat_id
        self.language_code = language_code
        self.client = client  # an aiohttp test client in webhook mode; None means polling
        self.seen = 0

    async def deliver(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Hand an update to the bot the way the mode does, and wait until it was handled."""
        if self.client is None:
            update_id = await self.api.push(update, update_id)
            await self.api.wait_confirmed(update_id)
            return update_id
        update_id = update_id if update_id is not None else self.api.new_update_id()
        assert self.bab.telegram is not None
        response = await self.client.post(WEBHOOK_PATH, json={"update_id": update_id, **update},
                                          headers={SECRET_HEADER: self.bab.telegram.secret})
        assert response.status == 200, await response.text()
        return update_id

    async def replies(self) -> list[Call]:
        """Deliver the outbox, then what reached this chat since the last look."""
        await self.bab.dispatcher.dispatch_once()
        sent = self.api.sent_to(self.chat_id)
        new, self.seen = sent[self.seen:], len(sent)
        return new

    async def send(self, update: dict[str, Any]) -> list[Call]:
        await self.deliver(update)
        return await self.replies()

    async def say(self, words: str) -> list[Call]:
        return await self.send(tg.text(self.chat_id, words, self.language_code))

    @property
    def prompt(self) -> Call:
        """The latest message with buttons (the current question)."""
        return next(call for call in reversed(self.api.sent_to(self.chat_id)) if call.buttons)

    def option_ids(self) -> list[str]:
        return [button["callback_data"].partition("|")[2] for button in self.prompt.buttons]

    def button_data(self, option_id: str, prompt: Call | None = None) -> str:
        prompt = prompt or self.prompt
        found = [button["callback_data"] for button in prompt.buttons
                 if button["callback_data"].partition("|")[2] == option_id]
        assert found, (option_id, [button["callback_data"] for button in prompt.buttons])
        return found[0]

    async def tap(self, option_id: str, prompt: Call | None = None) -> list[Call]:
        return await self.send(tg.callback(self.chat_id, self.button_data(option_id, prompt), self.language_code))

    def texts(self, calls: list[Call]) -> str:
        return "\n".join(str(call.params.get("text", "")) for call in calls)


@pytest.fixture
async def citizen(tg_bab: Bab, fake_api: FakeTelegramAPI) -> AsyncIterator[TelegramCitizen]:
    """A citizen talking to a polling bot."""
    assert tg_bab.telegram is not None
    task = tg_bab.telegram.start(tg_bab.conversations)
    await fake_api.wait_for("getUpdates")
    assert not task.done()
    yield TelegramCitizen(fake_api, tg_bab)


@pytest.fixture
async def webhook_bab(tg_settings: Settings, clock: FixedClock,
                      template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    bab = await make_bab(dataclasses.replace(tg_settings, public_url="https://bab.example.ma"), clock,
                         template_db[1])
    yield bab
    await bab.close()


@pytest.fixture
async def webhook_citizen(webhook_bab: Bab, fake_api: FakeTelegramAPI, aiohttp_client: Any) -> TelegramCitizen:
    """A citizen whose updates Telegram posts to our aiohttp server."""
    client = await aiohttp_client(web_app(webhook_bab, dispatch=False))
    return TelegramCitizen(fake_api, webhook_bab, client=client)
