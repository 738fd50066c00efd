"""The outbox dispatcher: delivers queued messages through each channel's sender, in order, paced, with retries.

A message is claimed by pushing its next attempt past a lease, sent outside any transaction, then marked sent,
rescheduled with backoff, failed for good, or left waiting. A crash mid-send means the lease expires and it is
sent again: delivery is at least once, and in order per identity (a later message waits for an earlier one).

Each claim takes the first due message of each identity (SKIP LOCKED, and only when no earlier message of that
identity is pending, which is what keeps two workers in order) together with the few due messages queued right
behind it. Every identity's claimed messages are then delivered by a task of their own: for each message the
task waits until the recipient's own budget allows it, reserves a slot in its channel's `Pacer` (the channel's
`pace`, when its sender declares one), sleeps until that slot, sends, and records the outcome (outcomes that
come together share one transaction). No task waits for another, so a chat held to one message a second delays
nobody else; when a recipient would have to wait anyway, consecutive messages are merged into one send if the
sender knows how. A channel with more than `horizon` seconds of sends already reserved is not claimed for until
it drains, and a recipient whose next slot lies beyond it goes back to the outbox until then, so a lease never
expires on a message that is only waiting for its slot.

Repeats are kept rare: a sender that fails after some of a message's calls went says what is left (`rest`), which
the row keeps (payload key "resume") so that a retry does not send those calls again; a sender whose channel echoes
a tag of ours in its receipts (`send_tagged`, WhatsApp) says when a failed call may have gone (`proof`), and the
row waits the sender's grace delay for a receipt that would prove it (see `WhatsAppInbox.receipt`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import (
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.domain.values import Outbound
from bot.services.channel_locks import ChannelLocks
from bot.services.clock import Clock
from bot.services.pacing import Pace, Pacer
from bot.storage import repos, tables, transcript_repo

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
LEASE_MARGIN = 15.0  # seconds of lease a task keeps in hand: past that, what it has not sent goes back
HORIZON = 5.0  # seconds of reserved sends beyond which a channel is not claimed for, nor a recipient served
FOLLOWERS = 10  # messages claimed behind an identity's first one
MAX_IN_FLIGHT = 256  # identities being delivered to at once
# The outbox seen again in the claim's subqueries, made once: SQLAlchemy memoises an alias's columns on the alias,
# and a fresh one per claim cost milliseconds of column adaptation on every message.
_EARLIER = aliased(tables.OutboxMessage)
_LATER = aliased(tables.OutboxMessage)


def _firsts() -> Select[Any]:
    """Each identity's first due message (with whether more are pending behind it, and the identity's address),
    for `Dispatcher.claim`.

    Built once with bound parameters (now, channels, busy, limit): building it anew cost about 1 ms of Python
    per claim, which is on the path of every reply.
    """
    earlier, later, outbox = _EARLIER, _LATER, tables.OutboxMessage
    more = exists().where(and_(later.identity_id == outbox.identity_id, later.id > outbox.id,
                               later.status == "pending"))
    return (
        select(outbox.id, outbox.identity_id, outbox.channel, tables.Identity.external_id, outbox.payload,
               outbox.attempts, more.label("more"), tables.Identity.address, outbox.last_error)
        .join(tables.Identity, tables.Identity.id == outbox.identity_id)
        .where(
            outbox.status == "pending",
            outbox.next_attempt_at <= bindparam("now"),
            outbox.channel.in_(bindparam("channels", expanding=True)),
            # Someone who blocked the bot is not tried again until they write again (repos.identity_for).
            tables.Identity.unreachable.is_(False),
            ~exists().where(and_(earlier.identity_id == outbox.identity_id, earlier.id < outbox.id,
                                 earlier.status == "pending")),
            outbox.identity_id.not_in(bindparam("busy", expanding=True)),  # this process delivers to them
        )
        .order_by(outbox.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=outbox)
    )


def _behind() -> Select[Any]:
    """The first `rank` pending messages of each of `identities`, in order (a claimed first one's followers)."""
    outbox = tables.OutboxMessage
    rank = func.row_number().over(partition_by=outbox.identity_id, order_by=outbox.id).label("rank")
    ranked = (select(outbox.id, outbox.identity_id, outbox.payload, outbox.attempts, outbox.next_attempt_at,
                     outbox.last_error, rank)
              .where(outbox.identity_id.in_(bindparam("identities", expanding=True)), outbox.status == "pending")
              .subquery())
    return (select(ranked.c.id, ranked.c.identity_id, ranked.c.payload, ranked.c.attempts, ranked.c.next_attempt_at,
                   ranked.c.last_error)
            .where(ranked.c.rank <= bindparam("rank", type_=Integer))
            .order_by(ranked.c.identity_id, ranked.c.id))


_FIRSTS, _BEHIND = _firsts(), _behind()
# The mark of a claimed row until its outcome is written: a row claimed again with it still there was left by a
# sender that stopped (killed, or its outcome not written) after its call may have gone.
IN_FLIGHT = "in flight"
# Claimed messages: leased `until` then, another attempt counted, marked in flight.
_LEASED = (update(tables.OutboxMessage).where(tables.OutboxMessage.id.in_(bindparam("ids", expanding=True)))
           .values(next_attempt_at=bindparam("until"), attempts=tables.OutboxMessage.attempts + 1,
                   last_error=IN_FLIGHT))


@dataclass(frozen=True, slots=True)
class Proof:
    """A call whose answer was lost (it may have gone): the reference the channel echoes in its receipts for it,
    and what is left to send once a receipt proves it went (None: nothing, the message is then delivered)."""

    ref: str
    after: Outbound | None


class DeliveryError(Exception):
    """A send failed; `retry_after` (seconds) when the channel said when to come back.

    `scope="channel"` when the whole channel is throttled (a bot or number over its rate, e.g. WhatsApp 130429):
    the channel's pacer pauses, and the message is tried again then without counting it as a failed attempt.
    `rest`: what is left to send when the message's first parts went out (None: try it whole), so that a retry
    does not repeat them. `proof`: the failed call may have gone, and a receipt carrying `proof.ref` would say so.
    """

    def __init__(self, reason: str, retry_after: float | None = None, *,
                 scope: Literal["recipient", "channel"] = "recipient", rest: Outbound | None = None,
                 proof: Proof | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.scope = scope
        self.rest = rest
        self.proof = proof


class Unreachable(Exception):
    """The recipient cannot be reached on this channel any more (blocked the bot, number gone): do not retry."""


class WaitForWindow(Exception):
    """The channel may not send this now; keep it until the person writes again (WhatsApp's 24-hour window).

    The message gets the status "waiting" (and `waited_at`); the attempt does not count as a failure.
    """


class Sender(Protocol):
    """A channel's delivery. Optional members, read with getattr (see `PacedSender`): `pace`, `cost`, `merge`."""

    async def send(self, external_id: str, message: Outbound) -> Sequence[str] | None:
        """Deliver one message; returns the ids the channel gave its messages (None when it gives none).

        Raises DeliveryError (retry), Unreachable (never again) or WaitForWindow (when the person writes).
        """
        ...


class TaggedSender(Sender, Protocol):
    """A sender whose channel echoes a reference of ours in its receipts (WhatsApp's biz_opaque_callback_data)."""

    async def send_tagged(self, external_id: str, message: Outbound, ref: str) -> Sequence[str] | None:
        """`send`, with `ref` (ids only: 'outbox id:attempt') carried by every call, a part number appended."""
        ...


class LocalSender(Sender, Protocol):
    """A sender whose delivery is a database row (the web chat): the dispatcher marks its messages sent when it
    claims them and copies them into the web transcript in that transaction, and never calls `send`."""

    in_database: bool


class PacedSender(Sender, Protocol):
    """A sender with limits (Telegram, WhatsApp): what the dispatcher looks for on every sender."""

    # The channel's limits; None (or no attribute) means unpaced, like the web chat and the console.
    pace: Pace | None

    def cost(self, message: Outbound) -> int:
        """How many API calls `message` takes (text pieces, files); 1 when the sender has no `cost`."""
        ...

    def merge(self, messages: Sequence[Outbound]) -> Outbound | None:
        """Consecutive messages for one recipient as one, or None when they cannot be merged."""
        ...


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed outbox row; `attempts` counts this attempt."""

    id: int
    identity_id: int
    channel: str
    external_id: str
    payload: Outbound  # the typed message, read from the row's JSON when it was claimed (what is left of it)
    attempts: int
    stored: Mapping[str, Any] = field(default_factory=dict)  # the row's JSON as read
    stranded: bool = False  # its last attempt's sender stopped before writing the outcome (see IN_FLIGHT)

    @property
    def resumed(self) -> bool:
        """Whether the row holds a remainder or a proof to wait for (cleared once it is delivered)."""
        return RESUME in self.stored or PROOF in self.stored


RESUME = "resume"  # payload key: what is left to send of a message whose first parts went out
PROOF = "proof"  # payload key: {"ref", "after"} of a call whose answer was lost (see `Proof`)


def claimed_payload(payload: Mapping[str, Any]) -> Outbound:
    """The message to send for a stored row: what is left of it when its first parts went out, else all of it."""
    rest = payload.get(RESUME)
    return Outbound.from_payload(rest if isinstance(rest, dict) else dict(payload))


def _claimed(row_id: int, identity_id: int, channel: str, external_id: str, payload: dict[str, Any],
             attempts: int, stranded: bool = False) -> Claimed:
    return Claimed(row_id, identity_id, channel, external_id, claimed_payload(payload), attempts, payload, stranded)


def without_progress(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The stored message without its remainder and proof (the row is delivered, or sent again whole)."""
    return {key: value for key, value in payload.items() if key not in (RESUME, PROOF)}


@dataclass
class _Outcome:
    """What a send's outcome writes: rows marked sent (by primary key), other updates, the channel's ids."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    statements: list[Update] = field(default_factory=list)
    receipts: list[tables.ChannelMessage] = field(default_factory=list)


def backoff(attempts: int, cap: float = 900) -> timedelta:
    """2, 4, 8 … seconds (1 for no attempt yet), capped at `cap` seconds (15 minutes by default)."""
    return timedelta(seconds=min(2 ** max(attempts, 0), cap))


def _cost(sender: Sender, payload: Outbound) -> int:
    cost = getattr(sender, "cost", None)
    return max(int(cost(payload)), 1) if callable(cost) else 1


class Dispatcher:
    """Sends due outbox rows for the channels it has senders for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], senders: Mapping[str, Sender], clock: Clock,
                 max_attempts: int = 8, batch: int = 50,
                 on_delivered: Callable[[str, str], None] = lambda channel, external_id: None,
                 horizon: float = HORIZON, followers: int = FOLLOWERS, max_in_flight: int = MAX_IN_FLIGHT,
                 locks: ChannelLocks | None = None) -> None:
        self.sessions = sessions
        self.locks = locks  # several workers on one PostgreSQL: one sends on each paced channel at a time
        self.on_delivered = on_delivered
        self.senders = dict(senders)
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self.horizon = horizon
        self.followers = followers
        self.max_in_flight = max_in_flight
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._pacers: dict[str, Pacer] = {}
        self._outcomes: list[tuple[_Outcome, asyncio.Future[None]]] = []  # waiting for the writer
        self._writer: asyncio.Task[None] | None = None
        self._in_flight: dict[int, asyncio.Task[bool]] = {}  # identity id -> the task delivering to it
        self._wakes = 0  # wake() calls so far: one during a delivery may be for the identity it holds
        self._held = False  # the last claim left due messages behind (no room, or a channel's backlog full)
        self.attempted = 0  # messages whose send was attempted (merged ones each count), since start
        self.only: dict[str, str] = {}  # channel -> the one recipient this process may deliver to (the console)

    def wake(self) -> None:
        """Ask the loop to look at the outbox now (called after a commit that queued messages)."""
        self._wakes += 1
        self._wake.set()

    def pacer(self, channel: str) -> Pacer | None:
        """The channel's pacer, made from its sender's `pace` (remade when that changes); None when unpaced."""
        pace = getattr(self.senders.get(channel), "pace", None)
        if not isinstance(pace, Pace):
            self._pacers.pop(channel, None)
            return None
        pacer = self._pacers.get(channel)
        if pacer is None or pacer.pace != pace:
            pacer = self._pacers[channel] = Pacer(pace)
        return pacer

    # --- claiming --------------------------------------------------------------------------------------------

    def _open_channels(self, at: float) -> list[str]:
        """The channels worth claiming for: unpaced, or with less than `horizon` of sends already reserved."""
        found = []
        for channel in self.senders:
            pacer = self.pacer(channel)
            if pacer is None or pacer.backlog(at) <= self.horizon:
                found.append(channel)
            else:
                self._held = True
        return found

    async def claim(self, now: datetime, limit: int | None = None) -> list[list[Claimed]]:
        """Claim the first due message of up to `limit` identities, each with the due ones queued behind it.

        Returns one list per identity, in order. Identities this process is delivering to are left alone.
        """
        channels = self._open_channels(asyncio.get_running_loop().time())
        if self.locks is not None:
            paced = [channel for channel in channels if self.pacer(channel) is not None]
            mine = await self.locks.held(paced)
            channels = [channel for channel in channels if channel in mine or channel not in paced]
        if not channels:
            return []
        outbox = tables.OutboxMessage
        query = _FIRSTS
        for channel, external_id in self.only.items():
            query = query.where(or_(outbox.channel != channel,
                                    tables.Identity.external_id == tables.identity_key(channel, external_id)))
        parameters = {"now": now, "channels": channels, "busy": list(self._in_flight),
                      "limit": self.batch if limit is None else limit}
        async with self.sessions() as session, session.begin():
            firsts = (await session.execute(query, parameters)).all()
            if not firsts:
                return []
            # The sender gets the channel's own id: the decrypted address where the key is its hash (Telegram).
            batches = {row[1]: [_claimed(row[0], row[1], row[2], row[7] or row[3], row[4], row[5] + 1,
                                         row[8] == IN_FLIGHT)]
                       for row in firsts}
            if self.followers > 0 and any(row[6] for row in firsts):
                # The pending rows right behind each first one (its own first in line): no lock needed, the
                # first row's lease keeps every other worker away from them ("no earlier pending").
                behind = await session.execute(_BEHIND, {"identities": list(batches), "rank": self.followers + 1})
                stopped: set[int] = set()
                for row_id, identity_id, payload, attempts, due, last_error in behind.all():
                    batch = batches[identity_id]
                    if row_id <= batch[0].id or identity_id in stopped:
                        continue
                    if due > now:  # not due yet: it and everything after it wait their turn
                        stopped.add(identity_id)
                        continue
                    head = batch[0]
                    batch.append(_claimed(row_id, identity_id, head.channel, head.external_id, payload,
                                          attempts + 1, last_error == IN_FLIGHT))
            # A channel whose delivery is the row itself (the web chat: the browser reads delivered rows) is
            # delivered here, in the claim's transaction: no lease that a crash would leave to expire.
            here = [batch for batch in batches.values() if getattr(self.senders.get(batch[0].channel),
                                                                     "in_database", False)]
            done = {message.id for batch in here for message in batch}
            claimed = [message.id for batch in batches.values() for message in batch if message.id not in done]
            if claimed:
                await session.execute(_LEASED, {"ids": claimed, "until": now + LEASE})
            if done:
                await session.execute(
                    update(outbox).where(outbox.id.in_(list(done)))
                    .values(status="sent", sent_at=now, attempts=outbox.attempts + 1, last_error=None)
                )
                # What the page shows again lives apart, so the retention purge can delete delivered rows.
                await transcript_repo.copy_delivered(session, sorted(done))
        for batch in here:
            self.on_delivered(batch[0].channel, batch[0].external_id)
        if here:
            self._wake.set()  # more may be queued behind those (a claim takes a few per identity)
        return [batches[row[1]] for row in firsts if row[0] not in done]

    async def _fill(self) -> int:
        """Claim what is due and start a delivery task per identity; returns how many identities were started."""
        self._held = False
        room = self.max_in_flight - len(self._in_flight)
        if room <= 0:
            self._held = True
            return 0
        limit = min(self.batch, room)
        wakes = self._wakes
        batches = await self.claim(self.clock.now(), limit)
        for batch in batches:
            identity_id = batch[0].identity_id
            task = asyncio.create_task(self._deliver_all(batch), name=f"outbox-{identity_id}")
            self._in_flight[identity_id] = task
            task.add_done_callback(functools.partial(self._finished, identity_id, wakes))
        if len(batches) == limit:
            self._held = True
            self._wake.set()  # there may be more: claim again at once
        return len(batches)

    def _finished(self, identity_id: int, wakes: int, task: asyncio.Task[bool]) -> None:
        """A delivery ended: claim again if that may find something (not after every send: each claim writes)."""
        if self._in_flight.get(identity_id) is task:
            del self._in_flight[identity_id]
        more = True
        if task.cancelled():
            pass
        elif task.exception() is not None:
            log.error("outbox task failed identity=%s", identity_id, exc_info=task.exception())
        else:
            more = task.result()
        # Its identity may have more (it gave some back, took all it could, or something was queued meanwhile,
        # which the claims left alone while it was busy), or the last claim had to leave some behind.
        if more or self._held or self._wakes != wakes:
            self._wake.set()

    # --- delivering ------------------------------------------------------------------------------------------

    async def _deliver_all(self, batch: list[Claimed]) -> bool:
        """Deliver one identity's claimed messages in order; what is left unsent goes back, behind any failure.

        Returns True when its identity may have more to claim now (some given back, or a full batch taken).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEASE.total_seconds() - LEASE_MARGIN
        index = 0
        release_at: datetime | None = None
        try:
            while index < len(batch) and not self._closing.is_set() and loop.time() < deadline:
                slot = await self._slot(batch, index, deadline)
                if isinstance(slot, datetime):  # beyond the horizon: back to the outbox until then
                    release_at = slot
                    break
                if slot is None:  # closing
                    break
                group, payload = slot
                try:
                    ok = await self.deliver(group, payload)
                finally:  # had recording failed, the group stays leased: it may have gone, the lease decides
                    index += len(group)
                if not ok:
                    break
        finally:
            if index < len(batch):
                await self._release(batch[index:], release_at or self.clock.now())
        return index < len(batch) or len(batch) > self.followers

    async def _slot(self, batch: list[Claimed], index: int, deadline: float
                    ) -> tuple[list[Claimed], Outbound] | datetime | None:
        """Wait for the send slot of batch[index] (merged with what follows when it would wait).

        Returns the messages to send and their payload; or, when the slot lies beyond the horizon (or the
        `deadline`, loop time), the time to put them back in the outbox for; or None when closing.
        """
        first = batch[index]
        sender = self.senders[first.channel]
        loop = asyncio.get_running_loop()
        group, payload = [first], first.payload
        merged = False
        while True:
            pacer = self.pacer(first.channel)
            if pacer is None:
                return group, payload
            now = loop.time()
            cost = _cost(sender, payload)
            earliest = pacer.earliest(first.external_id, cost, now)
            ready = pacer.recipient_earliest(first.external_id, cost, now)
            # Back to the outbox until its slot when the recipient's own budget is spent beyond the horizon
            # (a flood of messages to one person), or when the channel is paused past this claim's lease. A
            # wait for the channel's backlog stays: claiming stops at the horizon, which bounds it.
            if ready - now > self.horizon or earliest > deadline:
                log.info("outbox paced back message=%s channel=%s wait=%.1fs", first.id, first.channel,
                         earliest - now)
                return self.clock.now() + timedelta(seconds=earliest - now)
            if earliest > now and not merged and index + 1 < len(batch):
                merged = True  # it would wait anyway: what queued behind it may go in the same send
                group, payload = self._merged(sender, batch, index)
                continue
            if ready > now:
                # The recipient's own slot first, reserving nothing: the channel's budget is a queue in time
                # order, and a slot taken ahead of time would hold it for everyone else until then.
                if not await self._sleep(ready - now):
                    return None
                continue
            generation = pacer.generation
            delay = pacer.reserve(first.external_id, cost, now) - now
            if delay > 0 and not await self._sleep(delay):
                return None
            if pacer.generation == generation:
                late = pacer.start(first.external_id, cost, loop.time())  # woken late, behind others on time?
                if late > 0 and not await self._sleep(late):
                    return None
                return group, payload
            # The channel was paused while this waited: its slot may lie inside the pause, so ask again.

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, unless the dispatcher is closing (then False, at once)."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
            return False
        except TimeoutError:
            return True

    @staticmethod
    def _merged(sender: Sender, batch: list[Claimed], index: int) -> tuple[list[Claimed], Outbound]:
        """batch[index] with as many of the messages after it as the sender can merge into one payload."""
        merge = getattr(sender, "merge", None)
        group, payload = [batch[index]], batch[index].payload
        if not callable(merge):
            return group, payload
        for end in range(index + 2, len(batch) + 1):
            merged = merge([message.payload for message in batch[index:end]])
            if not isinstance(merged, Outbound):
                break
            group, payload = batch[index:end], merged
        return group, payload

    async def deliver(self, group: Sequence[Claimed], payload: Outbound) -> bool:
        """Send claimed messages (one, or several merged in `payload`) and record the outcome; True when sent."""
        first = group[0]
        channel, external_id = first.channel, first.external_id
        outbox = tables.OutboxMessage
        self.attempted += len(group)
        now = self.clock.now()
        values: dict[str, Any]
        ids: Sequence[str] | None = None
        waiting = False
        progress: DeliveryError | None = None  # a failure after which part of the message is known, or may be, sent
        sender = self.senders[channel]
        tagged = getattr(sender, "send_tagged", None)
        stranded = getattr(sender, "stranded", None)
        try:
            if first.stranded and callable(stranded):
                # The last attempt's sender stopped after its call may have gone: wait for a receipt of that
                # attempt's tag, as after a lost answer, instead of sending it again at once.
                raise stranded(payload, f"{first.id}:{first.attempts - 1}")
            if callable(tagged):  # ids only: the row and the attempt, never what the message says
                ids = await tagged(external_id, payload, f"{first.id}:{first.attempts}")
            else:
                ids = await sender.send(external_id, payload)
            values = {"status": "sent", "sent_at": self.clock.now(), "last_error": None}
        except Unreachable as error:
            log.warning("outbox unreachable message=%s channel=%s", first.id, channel)
            values = {"status": "failed", "last_error": f"unreachable: {error}"[:200]}
            await self.mark_unreachable(channel, external_id)
        except WaitForWindow as error:
            log.info("outbox waiting message=%s channel=%s", first.id, channel)
            waiting = True
            values = {"status": "waiting", "waited_at": now, "attempts": outbox.attempts - 1,
                      "last_error": str(error)[:200] or None}
        except DeliveryError as error:
            if error.scope == "channel":
                pause = error.retry_after if error.retry_after is not None else 1.0
                pacer = self.pacer(channel)
                if pacer is not None:
                    pacer.pause_channel(pause, asyncio.get_running_loop().time())
                log.warning("outbox channel throttled message=%s channel=%s pause=%.1fs", first.id, channel, pause)
                # Not the message's fault: tried again after the pause without spending an attempt.
                values = {"status": "pending", "next_attempt_at": now + timedelta(seconds=pause),
                          "attempts": outbox.attempts - 1, "last_error": error.reason[:200]}
            else:
                delay = (timedelta(seconds=error.retry_after) if error.retry_after is not None
                         else backoff(first.attempts))
                failed = first.attempts >= self.max_attempts
                log.warning("outbox retry message=%s channel=%s attempt=%s failed=%s partial=%s unsure=%s",
                            first.id, channel, first.attempts, failed, error.rest is not None,
                            error.proof is not None)
                values = {"status": "failed" if failed else "pending", "next_attempt_at": now + delay,
                          "last_error": error.reason[:200]}
            if error.rest is not None or error.proof is not None:
                progress = error
        except Exception as error:  # a bug in a sender must not kill the loop nor lose the message
            log.exception("outbox sender crashed message=%s channel=%s", first.id, channel)
            values = {"status": "failed" if first.attempts >= self.max_attempts else "pending",
                      "next_attempt_at": now + backoff(first.attempts), "last_error": type(error).__name__}
        sent = bool(values["status"] == "sent")
        outcome = _Outcome()
        if progress is not None:
            self._progress(outcome, group, payload, progress, values, now)
        elif sent:  # merged messages share the outcome
            outcome.sent = [{"id": message.id, **values} for message in group]
            outcome.statements += [update(outbox).where(outbox.id == message.id)
                                   .values(payload=without_progress(message.stored))
                                   .execution_options(synchronize_session=False)  # an encrypted column
                                   for message in group if message.resumed]
            stamp = self.clock.now()
            outcome.receipts = [tables.ChannelMessage(outbox_id=first.id, channel=channel, external_id=str(one),
                                                      status="accepted", updated_at=stamp) for one in ids or ()]
        else:  # waiting, they all wait; otherwise only the first one had the outcome, the others go back
            together = [message.id for message in group] if waiting else [first.id]
            outcome.statements.append(update(outbox).where(outbox.id.in_(together)).values(**values))
            if not waiting and len(group) > 1:
                outcome.statements.append(self._release_statement(group[1:], now))
        await self._record(outcome)
        if sent:
            self.on_delivered(channel, external_id)
        return sent

    def _progress(self, outcome: _Outcome, group: Sequence[Claimed], payload: Outbound, error: DeliveryError,
                  values: dict[str, Any], now: datetime) -> None:
        """A failure after part of the message went, or may have: the first row keeps what is left to send
        (and the proof to wait for), so a retry does not repeat what went; merged rows behind it are folded in."""
        outbox = tables.OutboxMessage
        first = group[0]
        stored = dict(first.stored) or first.payload.to_payload()  # a Claimed built without its row's JSON
        rest = error.rest if error.rest is not None else payload
        stored[RESUME] = rest.to_payload()
        stored.pop(PROOF, None)
        if error.proof is not None:
            after = error.proof.after
            stored[PROOF] = {"ref": error.proof.ref, "after": after.to_payload() if after is not None else None}
        outcome.statements.append(update(outbox).where(outbox.id == first.id).values(payload=stored, **values)
                                  .execution_options(synchronize_session=False))  # an encrypted column
        if len(group) > 1:  # their words are in the first row's remainder now: it sends them, or fails for them
            outcome.statements.append(update(outbox).where(outbox.id.in_([message.id for message in group[1:]]))
                                      .values(status="sent", sent_at=now, last_error=f"merged into {first.id}"))

    async def _record(self, outcome: _Outcome) -> None:
        """Write an outcome; outcomes of sends that end together share one transaction (a write lock each)."""
        done = asyncio.get_running_loop().create_future()
        self._outcomes.append((outcome, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="outbox-writer")
        await done

    async def _write(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                async with self.sessions() as session, session.begin():
                    sent = [row for outcome, _ in batch for row in outcome.sent]
                    if sent:  # one statement for all of them (an UPDATE by primary key, executemany)
                        await session.execute(update(tables.OutboxMessage), sent)
                    for outcome, _ in batch:
                        for statement in outcome.statements:
                            await session.execute(statement)
                        session.add_all(outcome.receipts)
            except Exception as error:  # each send's task learns it failed: its messages stay leased
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _release(self, messages: Sequence[Claimed], at: datetime) -> None:
        """Give claimed messages back unsent, due at `at`; their attempt is not counted."""
        outcome = _Outcome()
        outcome.statements.append(self._release_statement(messages, at))
        await self._record(outcome)

    @staticmethod
    def _release_statement(messages: Sequence[Claimed], at: datetime) -> Update:
        outbox = tables.OutboxMessage
        return (update(outbox).where(outbox.id.in_([message.id for message in messages]), outbox.status == "pending")
                .values(next_attempt_at=at, attempts=outbox.attempts - 1, last_error=None))

    async def mark_unreachable(self, channel: str, external_id: str) -> None:
        """Flag the identity, and fail what was already queued for it: it told us it does not want it."""
        async with self.sessions() as session, session.begin():
            await repos.mark_unreachable(session, channel, external_id)

    # --- loops -----------------------------------------------------------------------------------------------

    async def dispatch_once(self) -> int:
        """Deliver everything due now and wait until it is done; returns how many messages were attempted."""
        before = self.attempted
        while True:
            started = await self._fill()
            if not started and not self._in_flight:
                return self.attempted - before
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Dispatch until `stop` is set: claim when woken, when a delivery ends, or every `idle` seconds."""
        try:
            while not stop.is_set():
                self._wake.clear()  # before claiming, so that a wake() during the claim is not lost
                try:
                    await self._fill()
                except Exception:
                    log.exception("outbox round failed")
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=idle)
                except TimeoutError:
                    pass
        finally:
            await self.drain()

    async def drain(self) -> None:
        """Let the deliveries in flight finish their current send; what they have not sent goes back."""
        self._closing.set()
        try:
            while self._in_flight:
                await asyncio.wait(list(self._in_flight.values()))
        finally:
            self._closing.clear()
