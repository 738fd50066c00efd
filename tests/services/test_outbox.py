"""The outbox dispatcher: retries with backoff, order per identity (two workers too), unreachable users, and
the live loop."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Bab, build, web_app
from bot.config import Settings
from bot.flows.spec import Inbound, InboundKind, Outbound
from bot.services.clock import FixedClock
from bot.services.outbox import DeliveryError, Unreachable
from bot.storage import repos, tables
from tests.conftest import MONDAY_MORNING, postgres_url, reset_schema


@pytest.fixture
def bab(db_bab: Bab) -> Bab:
    """Every test here runs on SQLite and on PostgreSQL (tests/conftest.py `db_settings`)."""
    return db_bab


class FlakySender:
    """A channel whose first `failures` sends fail; records what got through, in order."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or DeliveryError("HTTP 500")
        self.delivered: list[tuple[str, str]] = []

    async def send(self, external_id: str, message: Outbound) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.delivered.append((external_id, message.text))


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


async def test_a_failure_gives_back_the_messages_claimed_behind_it_unsent(bab: Bab, clock: FixedClock) -> None:
    sender = FlakySender(failures=1)
    bab.dispatcher.senders["flaky"] = sender
    await bab.conversations.handle("flaky", "u4", Inbound(kind=InboundKind.TEXT, text="Bonjour"))
    assert await bab.dispatcher.dispatch_once() == 1  # the menu was claimed behind the greeting, not tried
    async with bab.sessions() as session:
        rows = (await session.scalars(select(tables.OutboxMessage).order_by(tables.OutboxMessage.id))).all()
    assert [(row.status, row.attempts) for row in rows] == [("pending", 1), ("pending", 0)]
    assert rows[1].next_attempt_at <= clock.now()  # due, but behind the greeting
    clock.advance(seconds=2)
    assert await bab.dispatcher.dispatch_once() == 2
    assert len(sender.delivered) == 2 and await statuses(bab) == ["sent", "sent"]


class TimedSender:
    """Records when each message reached the channel (loop time)."""

    def __init__(self) -> None:
        self.at: list[tuple[float, str, str]] = []

    async def send(self, external_id: str, message: Outbound) -> None:
        self.at.append((asyncio.get_running_loop().time(), external_id, message.text))


async def test_a_reply_leaves_within_milliseconds_of_the_turn(bab: Bab) -> None:
    sender = TimedSender()
    bab.dispatcher.senders["timed"] = sender
    stop = asyncio.Event()
    runner = asyncio.create_task(bab.dispatcher.run(stop, idle=30))  # only wake() can explain a quick reply
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(0.05)
        latencies = []
        for number in range(5):
            started = loop.time()
            await bab.conversations.handle("timed", f"u{number}", Inbound(kind=InboundKind.TEXT, text="Bonjour"))
            async with asyncio.timeout(5):
                while not any(external_id == f"u{number}" for _, external_id, _ in sender.at):
                    await asyncio.sleep(0.001)
            latencies.append(next(at for at, external_id, _ in sender.at if external_id == f"u{number}") - started)
    finally:
        stop.set()
        bab.dispatcher.wake()
        await runner
    # A few ms on a quiet machine. What this checks is that the commit wakes the dispatcher (without wake() it
    # would idle 30 s), not how fast: benchmarks/bench_pacing.py measures that. 1 s holds on a loaded machine.
    assert sorted(latencies)[2] < 1.0, latencies


@pytest.mark.skipif(postgres_url() is None, reason="TEST_DATABASE_URL is not set")
async def test_two_workers_deliver_each_person_s_messages_once_and_in_order(tmp_path: Path) -> None:
    """Two processes' dispatchers on one PostgreSQL database: SKIP LOCKED and 'no earlier pending' keep order."""
    url = postgres_url()
    assert url is not None
    await reset_schema(url)
    clock = FixedClock(MONDAY_MORNING)
    settings = Settings(data_dir=tmp_path, database_url=url, default_locale="fr")
    first, second = await build(settings, clock=clock), await build(settings, clock=clock, migrate=False)
    try:
        delivered: list[tuple[str, str]] = []
        workers: set[str] = set()

        class Slow:
            def __init__(self, name: str) -> None:
                self.name = name

            async def send(self, external_id: str, message: Outbound) -> None:
                await asyncio.sleep(random.random() / 200)
                delivered.append((external_id, message.text))
                workers.add(self.name)

        for bab, name in ((first, "a"), (second, "b")):
            bab.dispatcher.senders["slow"] = Slow(name)
            bab.dispatcher.followers = 3  # small, so that the workers take turns within one person's queue
            bab.dispatcher.batch = 3
        async with first.sessions() as session, session.begin():
            for person in range(8):
                identity = await repos.identity_for(session, "slow", f"p{person}", clock.now())
                for number in range(15):
                    await repos.enqueue(session, identity.id, "slow", Outbound(text=f"{person}:{number}", locale="fr"),
                                        clock.now())
        stop = asyncio.Event()
        runners = [asyncio.create_task(bab.dispatcher.run(stop, idle=0.01)) for bab in (first, second)]
        try:
            async with asyncio.timeout(20):
                while len(delivered) < 8 * 15:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # nothing more comes (no message twice)
        finally:
            stop.set()
            await asyncio.gather(*runners)
        for person in range(8):
            assert [text for external_id, text in delivered if external_id == f"p{person}"] == [
                f"{person}:{number}" for number in range(15)]
        assert len(delivered) == 8 * 15 and workers == {"a", "b"}
    finally:
        await first.close()
        await second.close()
