"""What the WhatsApp channel keeps in the database, each in its own short transaction: the webhook bodies to
process, who people are and when they last wrote, and the receipts of what was sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.spec import Inbound, InboundKind
from bot.services.clock import Clock
from bot.services.outbox import PROOF, RESUME, backoff, without_progress
from bot.storage import repos, whatsapp_repo
from bot.storage.whatsapp_repo import Address

log = logging.getLogger(__name__)
CHANNEL = whatsapp_repo.CHANNEL
LEASE = timedelta(seconds=60)  # a worker's hold on the bodies it processes


@dataclass(frozen=True, slots=True)
class Delivery:
    """A stored webhook body claimed for processing."""

    id: int
    body: bytes
    received_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Person:
    """The person a message came from, as the conversation knows them."""

    key: str  # the identity's external id
    seen: bool  # this message id was handled already (a redelivery)
    inbound: Inbound | None


class WhatsAppInbox:
    """The channel's records; every method commits its own transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    async def store(self, body: bytes) -> int:
        """Keep a verified webhook body (before 200 is answered); returns its id."""
        async with self.sessions() as session, session.begin():
            return await whatsapp_repo.store_delivery(session, body, self.clock.now())

    async def claim(self) -> list[Delivery]:
        """Bodies whose turn has come, oldest first, leased to this worker."""
        async with self.sessions() as session, session.begin():
            rows = await whatsapp_repo.claim_deliveries(session, self.clock.now(), LEASE)
            return [Delivery(row.id, row.body, row.received_at, row.attempts) for row in rows]

    async def finish(self, deliveries: list[Delivery], failed: dict[int, str], not_yet: set[int]) -> None:
        """Done, or tried again later: with backoff after a failure, in seconds when a receipt came early."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            for delivery in deliveries:
                if delivery.id in failed:
                    await whatsapp_repo.finish_delivery(session, delivery.id, now, failed[delivery.id],
                                                        retry_at=now + backoff(delivery.attempts, cap=3600))
                elif delivery.id in not_yet:
                    await whatsapp_repo.finish_delivery(session, delivery.id, now, "receipt before its message",
                                                        retry_at=now + timedelta(seconds=5))
                else:
                    await whatsapp_repo.finish_delivery(session, delivery.id, now)

    async def person(self, bsuid: str | None, wa_id: str | None, username: str | None, wrote_at: datetime,
                     message_id: str, inbound: Inbound | None) -> Person:
        """Link the person's identifiers, open their window, and read a bare number as the choice it names."""
        async with self.sessions() as session, session.begin():
            key = await whatsapp_repo.resolve_contact(session, bsuid, wa_id, username, wrote_at, self.clock.now())
            seen = await repos.inbound_seen(session, CHANNEL, message_id)
            if inbound is not None and inbound.kind is InboundKind.TEXT and inbound.text.strip().isdigit():
                inbound = await self._numbered(session, key, inbound)
        return Person(key, seen, inbound)

    @staticmethod
    async def _proved(session: AsyncSession, outbox_id: int, attempt: int, callback: str, wamid: str,
                      now: datetime) -> bool:
        """Apply the proof that the call tagged `callback` (of attempt `attempt` of row `outbox_id`) went.

        False when the row is not ours, or when the attempt that made the call is still being recorded (the
        status overtook the send's outcome): the status is looked at again in a few seconds, by then the row
        holds the proof it waits for, or the wamid.
        """
        row = await whatsapp_repo.outbox_row(session, outbox_id)
        if row is None:
            return False
        proof = row.payload.get(PROOF)
        matches = isinstance(proof, dict) and proof.get("ref") == callback
        if row.status == "pending" and not matches and attempt == row.attempts:
            return False  # in flight: its outcome is not written yet
        await whatsapp_repo.add_receipt(session, outbox_id, wamid, now)  # its later statuses find it by wamid
        if row.status != "pending" or not isinstance(proof, dict) or not matches:
            return True  # sent again already (its status came late), or an older call: known, nothing to undo
        after = proof.get("after")
        if isinstance(after, dict):  # that call went; what followed it goes now
            row.payload = {**without_progress(row.payload), RESUME: after}
            row.next_attempt_at = now
            log.info("whatsapp lost answer proved outbox=%s: the rest goes now", outbox_id)
        else:
            row.payload = without_progress(row.payload)
            row.status, row.sent_at, row.last_error = "sent", now, None
            log.info("whatsapp lost answer proved outbox=%s: delivered, not sent again", outbox_id)
        return True

    @staticmethod
    async def _numbered(session: AsyncSession, key: str, inbound: Inbound) -> Inbound:
        """A number answering the latest message's choices presses that choice (the numbered menu)."""
        identity = await repos.find_identity(session, CHANNEL, key)
        prompt = await whatsapp_repo.last_prompt(session, identity.id) if identity else None
        if prompt is None:
            return inbound
        options = prompt.payload.get("options") or []
        number = int(inbound.text.strip())
        if not 1 <= number <= len(options):
            return inbound
        version = prompt.payload.get("version")
        return Inbound(kind=InboundKind.CHOICE, choice_id=str(options[number - 1].get("id")),
                       version=version if isinstance(version, int) else None)

    async def moved(self, old_bsuid: str | None, old_wa_id: str | None, new_bsuid: str | None,
                    new_wa_id: str | None) -> bool:
        """A new number or BSUID for a known person; False when the old ones are unknown."""
        async with self.sessions() as session, session.begin():
            return await whatsapp_repo.change_identifiers(session, old_bsuid, old_wa_id, new_bsuid, new_wa_id,
                                                          self.clock.now())

    async def address(self, key: str) -> Address | None:
        """Where to write to the identity with this key, and when it last wrote."""
        async with self.sessions() as session:
            return await whatsapp_repo.address_of(session, key)

    async def receipt(self, wamid: str, status: str, error_code: int | None, callback: str | None = None,
                      tag: tuple[int, int] | None = None) -> bool:
        """Record a delivery status; a message refused for the window waits again. False if not known (yet).

        A status for a wamid Bab never learnt (the send's answer was lost) is placed by its callback data, which
        names the outbox row and attempt (`tag`) and the call: if that row waits for proof of that very call, the call
        went, so the row is delivered (or what is left of it goes now) instead of being sent again.
        """
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            row = await whatsapp_repo.record_status(session, wamid, status, error_code, now)
            if row is None and tag is not None and callback is not None and status != "failed":
                if await self._proved(session, *tag, callback, wamid, now):
                    row = await whatsapp_repo.record_status(session, wamid, status, error_code, now)
            if row is None:
                return False
            if status == "failed":
                log.warning("whatsapp message failed outbox=%s code=%s", row.outbox_id, error_code)
                if error_code == 131047:  # accepted, then refused for the window after all
                    await whatsapp_repo.wait_again(session, row.outbox_id, now)
        return True
