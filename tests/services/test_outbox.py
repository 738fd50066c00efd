"""The outbox dispatcher: retries with backoff, order per identity, unreachable users, and the live loop."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from bot.app import Bab, web_app
from bot.flows.spec import Inbound, InboundKind
from bot.services.clock import FixedClock
from bot.services.outbox import DeliveryError, Unreachable
from bot.storage import tables


class FlakySender:
    """A channel whose first `failures` sends fail; records what got through, in order."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or DeliveryError("HTTP 500")
        self.delivered: list[tuple[str, str]] = []

    async def send(self, external_id: str, payload: dict[str, Any]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.delivered.append((external_id, payload["text"]))


async def statuses(bab: Bab) -> list[str]:
    async with bab.sessions() as session:
        return list((await session.scalars(select(tables.OutboxMessage.status).order_by(tables.OutboxMessage.id))).all())


async def test_failed_sends_are_retried_with_backoff_in_order(bab: Bab, clock: FixedClock) -> None:
    sender = FlakySender(failures=2)
    bab.dispatcher.senders["flaky"] = sender
    await bab.conversations.handle("flaky", "u1", Inbound(kind=InboundKind.TEXT, text="Bonjour"))
    await bab.dispatcher.dispatch_once()
    assert sender.delivered == [] and await statuses(bab) == ["pending", "pending"]
    clock.advance(seconds=2)  # first backoff: 2 s
    await bab.dispatcher.dispatch_once()
    assert sender.delivered == []  # second failure: next try in 4 s
    clock.advance(seconds=3)
    await bab.dispatcher.dispatch_once()
    assert sender.delivered == []
    clock.advance(seconds=1)
    await bab.dispatcher.dispatch_once()
    texts = [text for _, text in sender.delivered]
    assert len(texts) == 2 and "Bab" in texts[0]  # the greeting first, then the menu
    assert await statuses(bab) == ["sent", "sent"]


async def test_unreachable_user_is_marked_and_not_retried(bab: Bab, clock: FixedClock) -> None:
    sender = FlakySender(failures=1, error=Unreachable("blocked the bot"))
    bab.dispatcher.senders["flaky"] = sender
    await bab.conversations.handle("flaky", "u2", Inbound(kind=InboundKind.TEXT, text="Bonjour"))
    await bab.dispatcher.dispatch_once()
    assert (await statuses(bab))[0] == "failed"
    async with bab.sessions() as session:
        identity = await session.scalar(select(tables.Identity).where(tables.Identity.external_id == "u2"))
        assert identity is not None and identity.unreachable
    # The message queued behind it is dropped, not tried once more; nothing was delivered.
    assert await statuses(bab) == ["failed", "failed"] and sender.delivered == []
    # Writing again makes them reachable: the reply is delivered.
    await bab.conversations.handle("flaky", "u2", Inbound(kind=InboundKind.TEXT, text="menu"))
    await bab.dispatcher.dispatch_once()
    assert len(sender.delivered) == 1 and (await statuses(bab))[-1] == "sent"


async def test_gives_up_after_max_attempts(bab: Bab, clock: FixedClock) -> None:
    sender = FlakySender(failures=100)
    bab.dispatcher.senders["flaky"] = sender
    bab.dispatcher.max_attempts = 3
    await bab.conversations.handle("flaky", "u3", Inbound(kind=InboundKind.TEXT, text="Bonjour"))
    for _ in range(5):
        await bab.dispatcher.dispatch_once()
        clock.advance(minutes=20)
    # Each message gets its three attempts; a dead message does not block the ones after it for ever.
    assert await statuses(bab) == ["failed", "failed"]
    assert sender.failures == 100 - 6


async def test_live_dispatcher_and_long_poll_through_the_server(bab: Bab, aiohttp_client: Any) -> None:
    client = await aiohttp_client(web_app(bab))  # with the background dispatcher, as `bab run` serves it
    await client.get("/")
    poll = asyncio.create_task(client.get("/api/messages?after=0&wait=10"))
    await asyncio.sleep(0.05)
    response = await client.post("/api/messages", json={"text": "Bonjour"})
    assert response.status == 202
    body = await (await asyncio.wait_for(poll, 10)).json()
    assert body["messages"] and body["messages"][0]["from"] == "bot"
    health = await (await client.get("/healthz")).json()
    assert health == {"ok": True, "collectivities": 1590}
