"""Fixtures: the fake Graph API, a Bab whose WhatsApp channel talks to it, and citizens who post signed webhooks."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bab, build, web_app
from bot.config import Settings
from bot.domain.directory import Directory
from bot.handlers.whatsapp import WEBHOOK_PATH
from bot.services.clock import FixedClock
from bot.services.pacing import Pace
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.whatsapp_api import Call, FakeGraphAPI

VERIFY_TOKEN = "bab-verify-token"
FAST = Pace(per_second=10_000, burst=10_000, recipient_interval=0.0001, recipient_burst=100)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphAPI]:
    api = FakeGraphAPI(phone_number_id=wp.PHONE_NUMBER_ID)
    await api.start()
    yield api
    await api.close()


def wa_settings(settings: Settings, graph: FakeGraphAPI, **extra: Any) -> Settings:
    return dataclasses.replace(settings, whatsapp_token=graph.token, whatsapp_phone_number_id=wp.PHONE_NUMBER_ID,
                               whatsapp_app_secret=wp.APP_SECRET, whatsapp_verify_token=VERIFY_TOKEN,
                               whatsapp_api_base_url=graph.base_url, **extra)


async def make_bab(settings: Settings, clock: FixedClock, directory: Directory) -> Bab:
    bab = await build(settings, clock=clock, directory=directory)
    assert bab.whatsapp is not None
    bab.whatsapp.sender.pace = FAST  # tests send dozens of messages a second: keep the logic, not the pace
    return bab


@pytest.fixture
async def wa_bab(settings: Settings, graph: FakeGraphAPI, clock: FixedClock,
                 template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    bab = await make_bab(wa_settings(settings, graph), clock, template_db[1])
    yield bab
    await bab.close()


@pytest.fixture
async def wa_client(wa_bab: Bab, aiohttp_client: Any) -> Any:
    """The real aiohttp server with the webhook; the test drains processing and the outbox itself."""
    return await aiohttp_client(web_app(wa_bab, dispatch=False))


class WhatsAppCitizen:
    """A person writing to Bab's number: Meta posts their messages (signed) to the webhook; reads what Bab sent."""

    def __init__(self, graph: FakeGraphAPI, bab: Bab, client: Any, user: wp.WaUser, clock: FixedClock) -> None:
        self.graph = graph
        self.bab = bab
        self.client = client
        self.user = user
        self.clock = clock
        self.seen = 0

    async def post(self, *items: dict[str, Any], status: int = 200) -> None:
        body, headers = wp.signed(wp.envelope(*items))
        response = await self.client.post(WEBHOOK_PATH, data=body, headers=headers)
        assert response.status == status, await response.text()

    async def replies(self) -> list[Call]:
        """Process what the webhook stored, deliver the outbox, then what reached this person since last look."""
        assert self.bab.whatsapp is not None
        await self.bab.whatsapp.process_pending(self.bab.conversations)
        await self.bab.dispatcher.dispatch_once()
        sent = [call for call in self.graph.messages_to(self.user.address) if call.kind not in ("read", "typing")]
        new, self.seen = sent[self.seen:], len(sent)
        return new

    async def send(self, *items: dict[str, Any]) -> list[Call]:
        self.graph.user_wrote(self.user.address)
        await self.post(*items)
        return await self.replies()

    async def say(self, words: str) -> list[Call]:
        return await self.send(wp.text(self.user, words, at=self.clock.now()))

    @property
    def prompt(self) -> Call:
        """The latest message with buttons or a list (the current question)."""
        return next(call for call in reversed(self.graph.messages_to(self.user.address))
                    if call.button_ids or call.row_ids)

    def option_ids(self) -> list[str]:
        return [choice.partition("|")[2] for choice in self.prompt.button_ids + self.prompt.row_ids]

    async def tap(self, option_id: str) -> list[Call]:
        prompt = self.prompt
        found = [choice for choice in prompt.button_ids + prompt.row_ids if choice.partition("|")[2] == option_id]
        assert found, (option_id, prompt.button_ids + prompt.row_ids)
        title = dict(zip(prompt.button_ids + prompt.row_ids, prompt.button_titles + prompt.row_titles,
                         strict=True))[found[0]]
        if found[0] in prompt.button_ids:
            return await self.send(wp.button_reply(self.user, found[0], title, at=self.clock.now()))
        return await self.send(wp.list_reply(self.user, found[0], title, at=self.clock.now()))

    @staticmethod
    def texts(calls: list[Call]) -> str:
        return "\n".join(call.text for call in calls)


@pytest.fixture
def amina(graph: FakeGraphAPI, wa_bab: Bab, wa_client: Any, clock: FixedClock) -> WhatsAppCitizen:
    return WhatsAppCitizen(graph, wa_bab, wa_client, wp.AMINA, clock)
