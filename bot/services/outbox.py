"""The outbox dispatcher: delivers queued messages through each channel's sender, in order, with retries.

A message is claimed by pushing its next attempt past a lease, sent outside any transaction, then marked sent,
rescheduled with backoff, or failed for good. A crash mid-send means the lease expires and it is sent again:
delivery is at least once, and in order per identity (a later message waits for an earlier one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.services.clock import Clock
from bot.storage import tables

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)


class DeliveryError(Exception):
    """A send failed; `retry_after` (seconds) when the channel said when to come back."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Unreachable(Exception):
    """The recipient cannot be reached on this channel any more (blocked the bot, number gone): do not retry."""


class Sender(Protocol):
    async def send(self, external_id: str, payload: dict[str, Any]) -> None:
        """Deliver one message or raise DeliveryError / Unreachable."""
        ...


def backoff(attempts: int, cap: float = 900) -> timedelta:
    """2, 4, 8 … seconds (1 for no attempt yet), capped at `cap` seconds (15 minutes by default)."""
    return timedelta(seconds=min(2 ** max(attempts, 0), cap))


class Dispatcher:
    """Sends due outbox rows for the channels it has senders for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], senders: Mapping[str, Sender], clock: Clock,
                 max_attempts: int = 8, batch: int = 50,
                 on_delivered: Callable[[str, str], None] = lambda channel, external_id: None) -> None:
        self.sessions = sessions
        self.on_delivered = on_delivered
        self.senders = dict(senders)
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self._wake = asyncio.Event()
        self.only: dict[str, str] = {}  # channel -> the one recipient this process may deliver to (the console)

    def wake(self) -> None:
        """Ask the loop to look at the outbox now (called after a commit that queued messages)."""
        self._wake.set()

    async def claim(self, now: datetime) -> list[tuple[int, str, str, dict[str, Any], int]]:
        """Claim the first due message of each identity; returns (id, channel, external id, payload, attempts)."""
        earlier = aliased(tables.OutboxMessage)
        outbox = tables.OutboxMessage
        async with self.sessions() as session, session.begin():
            query = (
                select(outbox.id, outbox.channel, tables.Identity.external_id, outbox.payload, outbox.attempts)
                .join(tables.Identity, tables.Identity.id == outbox.identity_id)
                .where(
                    outbox.status == "pending",
                    outbox.next_attempt_at <= now,
                    outbox.channel.in_(self.senders.keys()),
                    # Someone who blocked the bot is not tried again until they write again (repos.identity_for).
                    tables.Identity.unreachable.is_(False),
                    ~exists().where(and_(earlier.identity_id == outbox.identity_id, earlier.id < outbox.id,
                                         earlier.status == "pending")),
                    *(or_(outbox.channel != channel, tables.Identity.external_id == external_id)
                      for channel, external_id in self.only.items()),
                )
                .order_by(outbox.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True, of=outbox)
            )
            rows = (await session.execute(query)).all()
            if rows:
                await session.execute(
                    update(outbox).where(outbox.id.in_([row[0] for row in rows]))
                    .values(next_attempt_at=now + LEASE, attempts=outbox.attempts + 1)
                )
        return [(row[0], row[1], row[2], row[3], row[4] + 1) for row in rows]

    async def deliver(self, message_id: int, channel: str, external_id: str, payload: dict[str, Any],
                      attempts: int) -> None:
        """Send one claimed message and record the outcome."""
        values: dict[str, Any]
        try:
            await self.senders[channel].send(external_id, payload)
            values = {"status": "sent", "sent_at": self.clock.now(), "last_error": None}
        except Unreachable as error:
            log.warning("outbox unreachable message=%s channel=%s", message_id, channel)
            values = {"status": "failed", "last_error": f"unreachable: {error}"[:200]}
            await self.mark_unreachable(channel, external_id)
        except DeliveryError as error:
            delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else backoff(attempts)
            failed = attempts >= self.max_attempts
            log.warning("outbox retry message=%s channel=%s attempt=%s failed=%s", message_id, channel, attempts,
                        failed)
            values = {"status": "failed" if failed else "pending", "next_attempt_at": self.clock.now() + delay,
                      "last_error": error.reason[:200]}
        except Exception as error:  # a bug in a sender must not kill the loop nor lose the message
            log.exception("outbox sender crashed message=%s channel=%s", message_id, channel)
            values = {"status": "failed" if attempts >= self.max_attempts else "pending",
                      "next_attempt_at": self.clock.now() + backoff(attempts), "last_error": type(error).__name__}
        async with self.sessions() as session, session.begin():
            await session.execute(update(tables.OutboxMessage).where(tables.OutboxMessage.id == message_id)
                                  .values(**values))
        if values["status"] == "sent":
            self.on_delivered(channel, external_id)

    async def mark_unreachable(self, channel: str, external_id: str) -> None:
        """Flag the identity, and fail what was already queued for it: it told us it does not want it."""
        async with self.sessions() as session, session.begin():
            identity_ids = select(tables.Identity.id).where(
                tables.Identity.channel == channel, tables.Identity.external_id == external_id)
            await session.execute(update(tables.Identity).where(tables.Identity.id.in_(identity_ids))
                                  .values(unreachable=True))
            await session.execute(update(tables.OutboxMessage).where(
                tables.OutboxMessage.status == "pending", tables.OutboxMessage.identity_id.in_(identity_ids))
                .values(status="failed", last_error="unreachable"))

    async def dispatch_once(self) -> int:
        """Deliver everything due now, round after round; returns how many messages were attempted."""
        total = 0
        while True:
            claimed = await self.claim(self.clock.now())
            if not claimed:
                return total
            await asyncio.gather(*(self.deliver(*row) for row in claimed))
            total += len(claimed)

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Dispatch until `stop` is set, waking early when `wake()` is called."""
        while not stop.is_set():
            self._wake.clear()  # before dispatching, so that a wake() during the round is not lost
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("outbox round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle)
            except TimeoutError:
                pass
