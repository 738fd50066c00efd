"""One person of a transcript on one channel: writes, taps a button by its option id, reads what Bab sent.

Each channel wraps the test users the channel's own tests use (WebUser, TelegramCitizen, WhatsAppCitizen), so
a transcript goes through the real server, the real python-telegram-bot and the real WhatsApp webhook.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.app import Bab, web_app
from bot.services.clock import FixedClock
from tests.conftest import WebUser
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.whatsapp_api import FakeGraphAPI
from tests.golden.transcript import Reply
from tests.telegram.conftest import TelegramCitizen
from tests.whatsapp.conftest import WhatsAppCitizen


class Player(Protocol):
    async def say(self, words: str) -> None: ...

    async def tap(self, option_id: str) -> None: ...

    async def fetch(self, actor: str) -> list[Reply]:
        """Deliver the outbox; what reached this person since the last fetch."""
        ...


class Channel(Protocol):
    name: str
    bab: Bab
    labels: bool  # whether the channel shows the labels as Bab wrote them

    async def person(self, index: int) -> Player: ...


class WebPlayer:
    def __init__(self, user: WebUser) -> None:
        self.user = user
        self.seen = 0

    async def say(self, words: str) -> None:
        await self.user.say(words)

    async def tap(self, option_id: str) -> None:
        await self.user.tap(option_id)

    async def fetch(self, actor: str) -> list[Reply]:
        await self.user.replies()
        new, self.seen = self.user.messages[self.seen:], len(self.user.messages)
        return [Reply(actor, message["text"], [(option["id"], option["label"]) for option in message["options"]])
                for message in new]


class WebChannel:
    labels = True

    def __init__(self, name: str, bab: Bab, aiohttp_server: Any, aiohttp_client: Any) -> None:
        self.name = name
        self.bab = bab
        self.aiohttp_server = aiohttp_server
        self.aiohttp_client = aiohttp_client
        self.server: Any = None
        self.users: list[WebUser] = []

    async def person(self, index: int) -> Player:
        if self.server is None:  # one server; one browser (its own cookie) per person
            self.server = await self.aiohttp_server(web_app(self.bab, dispatch=False))
        user = WebUser(await self.aiohttp_client(self.server), self.bab)
        await user.open()
        self.users.append(user)
        return WebPlayer(user)


class TelegramPlayer:
    def __init__(self, user: TelegramCitizen) -> None:
        self.user = user
        self.seen = 0

    async def say(self, words: str) -> None:
        await self.user.say(words)

    async def tap(self, option_id: str) -> None:
        await self.user.tap(option_id)

    async def fetch(self, actor: str) -> list[Reply]:
        await self.user.bab.dispatcher.dispatch_once()
        sent = self.user.api.sent_to(self.user.chat_id)
        new, self.seen = sent[self.seen:], len(sent)
        return [Reply(actor, str(call.params.get("text", "")),
                      [(button["callback_data"].partition("|")[2], button["text"]) for button in call.buttons])
                for call in new]


class TelegramChannel:
    name = "telegram"
    labels = True

    def __init__(self, citizen: TelegramCitizen) -> None:
        self.first = citizen
        self.bab = citizen.bab
        self.api: FakeTelegramAPI = citizen.api

    async def person(self, index: int) -> Player:
        user = self.first if index == 0 else TelegramCitizen(self.api, self.bab, chat_id=5550001 + index)
        user.language_code = None  # like the web chat: no language hint, Bab reads the words
        return TelegramPlayer(user)


class WhatsAppPlayer:
    def __init__(self, user: WhatsAppCitizen) -> None:
        self.user = user
        self.seen = 0

    async def say(self, words: str) -> None:
        await self.user.say(words)

    async def tap(self, option_id: str) -> None:
        await self.user.tap(option_id)

    async def fetch(self, actor: str) -> list[Reply]:
        await self.user.replies()
        sent = [call for call in self.user.graph.messages_to(self.user.user.address)
                if call.kind not in ("read", "typing")]
        new, self.seen = sent[self.seen:], len(sent)
        return [Reply(actor, call.text, [(choice.partition("|")[2], title) for choice, title in
                                         zip(call.button_ids + call.row_ids, call.button_titles + call.row_titles,
                                             strict=True)])
                for call in new]


class WhatsAppChannel:
    name = "whatsapp"
    labels = False  # WhatsApp limits button titles to 20 characters and list rows to 24: Bab shortens them

    def __init__(self, amina: WhatsAppCitizen) -> None:
        self.first = amina
        self.bab = amina.bab
        self.graph: FakeGraphAPI = amina.graph

    async def person(self, index: int) -> Player:
        if index == 0:
            return WhatsAppPlayer(self.first)
        clock = self.first.clock
        assert isinstance(clock, FixedClock)
        return WhatsAppPlayer(WhatsAppCitizen(self.graph, self.bab, self.first.client, wp.user(100 + index), clock))
