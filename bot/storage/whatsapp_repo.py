"""WhatsApp's own records: verified webhook bodies waiting to be processed, contacts (business-scoped user id,
phone number, 24-hour window) and the delivery receipts of what was sent. Functions never commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import crypto, repos, tables

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3}  # "failed" is final, outside the ranks


@dataclass(frozen=True, slots=True)
class Address:
    """How to write to one WhatsApp identity, and when it last wrote."""

    wa_id: str | None
    bsuid: str | None
    last_inbound_at: datetime | None


async def store_delivery(session: AsyncSession, body: bytes, now: datetime) -> int:
    """Keep a verified webhook body until it is processed; returns its id."""
    row = tables.WebhookDelivery(channel=CHANNEL, body=body, received_at=now, next_attempt_at=now, attempts=0)
    session.add(row)
    await session.flush()
    return row.id


async def claim_deliveries(session: AsyncSession, now: datetime, lease: timedelta,
                           limit: int = 100) -> list[tables.WebhookDelivery]:
    """Unprocessed bodies whose turn has come, oldest first, leased to this worker."""
    rows = list(await session.scalars(
        select(tables.WebhookDelivery)
        .where(tables.WebhookDelivery.channel == CHANNEL, tables.WebhookDelivery.processed_at.is_(None),
               tables.WebhookDelivery.next_attempt_at <= now)
        .order_by(tables.WebhookDelivery.id).limit(limit).with_for_update(skip_locked=True)))
    for row in rows:
        row.next_attempt_at = now + lease
        row.attempts += 1
    await session.flush()
    return rows


async def finish_delivery(session: AsyncSession, delivery_id: int, now: datetime, error: str | None = None,
                          retry_at: datetime | None = None) -> None:
    """Mark a body processed, or (with `retry_at`) leave it for another try with the error that stopped it."""
    values: dict[str, object] = ({"processed_at": now, "last_error": error} if retry_at is None
                                 else {"next_attempt_at": retry_at, "last_error": (error or "")[:200]})
    await session.execute(update(tables.WebhookDelivery).where(tables.WebhookDelivery.id == delivery_id)
                          .values(**values))


async def _contact_by(session: AsyncSession, bsuid: str | None, wa_id: str | None) -> list[tables.WhatsAppContact]:
    found: list[tables.WhatsAppContact] = []
    if bsuid:
        row = await session.scalar(select(tables.WhatsAppContact).where(tables.WhatsAppContact.bsuid == bsuid))
        if row is not None:
            found.append(row)
    if wa_id:
        row = await session.scalar(select(tables.WhatsAppContact)
                                   .where(tables.WhatsAppContact.wa_id_hash == crypto.keyed_hash(wa_id)))
        if row is not None and row not in found:
            found.append(row)
    return found


async def resolve_contact(session: AsyncSession, bsuid: str | None, wa_id: str | None, username: str | None,
                          wrote_at: datetime | None, now: datetime) -> str:
    """The identity key (external id) of the person with these identifiers, creating or linking as needed.

    Keyed by the business-scoped user id when there is one, the phone number's keyed hash otherwise (a number
    is never a key in the clear); the key never changes afterwards, so a new number or a new BSUID keeps the
    person's conversation and requests.
    """
    if not (bsuid or wa_id):
        raise ValueError("a WhatsApp contact needs a business-scoped user id or a phone number")
    found = await _contact_by(session, bsuid, wa_id)
    if not found:
        identity = await repos.identity_for(session, CHANNEL, bsuid or crypto.keyed_hash(wa_id or ""), now)
        contact = await session.get(tables.WhatsAppContact, identity.id)
        if contact is None:  # an identity may exist without a contact row (raced, or created by a test)
            contact = tables.WhatsAppContact(identity_id=identity.id, updated_at=now)
            session.add(contact)
        found = [contact]
    contact = found[0]
    if len(found) == 2:  # the BSUID and the number were known apart: one person, so one citizen
        await merge_contacts(session, keep=contact, other=found[1], now=now)
    if bsuid and contact.bsuid != bsuid:
        contact.bsuid = bsuid
    if wa_id and contact.wa_id != wa_id:
        contact.wa_id = wa_id
    if username:
        contact.username = username[:64]
    if wrote_at is not None and (contact.last_inbound_at is None or wrote_at > contact.last_inbound_at):
        contact.last_inbound_at = wrote_at
    contact.updated_at = now
    await session.flush()
    identity_row = await session.get(tables.Identity, contact.identity_id)
    assert identity_row is not None
    return identity_row.external_id


async def merge_contacts(session: AsyncSession, keep: tables.WhatsAppContact, other: tables.WhatsAppContact,
                         now: datetime) -> None:
    """Fold `other` into `keep`: its requests and identity join keep's citizen, its identifiers move over."""
    kept = await session.get(tables.Identity, keep.identity_id)
    moved = await session.get(tables.Identity, other.identity_id)
    assert kept is not None and moved is not None
    if moved.citizen_id != kept.citizen_id:
        await session.execute(update(tables.Request).where(tables.Request.citizen_id == moved.citizen_id)
                              .values(citizen_id=kept.citizen_id))
        moved.citizen_id = kept.citizen_id
    wa_id, bsuid = other.wa_id, other.bsuid
    other.wa_id = other.bsuid = None  # the unique identifiers now belong to `keep`
    await session.flush()
    keep.wa_id = keep.wa_id or wa_id
    keep.bsuid = keep.bsuid or bsuid
    if other.last_inbound_at and (keep.last_inbound_at is None or other.last_inbound_at > keep.last_inbound_at):
        keep.last_inbound_at = other.last_inbound_at
    log.info("whatsapp contacts merged identity=%s into identity=%s", moved.id, kept.id)


async def change_identifiers(session: AsyncSession, old_bsuid: str | None, old_wa_id: str | None,
                             new_bsuid: str | None, new_wa_id: str | None, now: datetime) -> bool:
    """A person changed number (or WhatsApp gave them a new BSUID): same identity, new address. False if unknown."""
    found = await _contact_by(session, old_bsuid, old_wa_id)
    if not found:
        return False
    contact = found[0]
    for clash in await _contact_by(session, new_bsuid, new_wa_id):
        if clash.identity_id != contact.identity_id:  # the new number was someone's before: it is theirs no more
            await merge_contacts(session, keep=contact, other=clash, now=now)
    if new_wa_id:
        contact.wa_id = new_wa_id
    if new_bsuid:
        contact.bsuid = new_bsuid
    contact.updated_at = now
    await session.flush()
    return True


async def address_of(session: AsyncSession, external_id: str) -> Address | None:
    """Where to send to the identity with this key, and when it last wrote."""
    row = (await session.execute(
        select(tables.WhatsAppContact.wa_id, tables.WhatsAppContact.bsuid, tables.WhatsAppContact.last_inbound_at)
        .join(tables.Identity, tables.Identity.id == tables.WhatsAppContact.identity_id)
        .where(tables.Identity.channel == CHANNEL, tables.Identity.external_id == external_id))).first()
    if row is None:
        return None
    return Address(wa_id=row[0], bsuid=row[1], last_inbound_at=row[2])


async def record_status(session: AsyncSession, wamid: str, status: str, error_code: int | None,
                        now: datetime) -> tables.ChannelMessage | None:
    """Apply a delivery receipt: statuses only move forward and `failed` is final. None for an unknown wamid."""
    row = await session.scalar(select(tables.ChannelMessage).where(
        tables.ChannelMessage.channel == CHANNEL, tables.ChannelMessage.external_id == wamid).with_for_update())
    if row is None:
        return None
    if row.status == "failed":
        return row
    if status == "failed" or STATUS_RANK.get(status, -1) > STATUS_RANK.get(row.status, -1):
        row.status, row.error_code, row.updated_at = status, error_code, now
        parts = list(await session.scalars(select(tables.ChannelMessage.status)
                                           .where(tables.ChannelMessage.outbox_id == row.outbox_id)))
        # The outbox row shows its least advanced part: "read" only once every bubble was read.
        summary = ("failed" if "failed" in parts
                   else min(parts, key=lambda part: STATUS_RANK.get(part, 0)))
        await session.execute(update(tables.OutboxMessage).where(tables.OutboxMessage.id == row.outbox_id)
                              .values(delivery_status=summary))
    return row


async def wait_again(session: AsyncSession, outbox_id: int, now: datetime) -> None:
    """A message WhatsApp refused after accepting it (window closed): back to waiting for the person."""
    await session.execute(update(tables.OutboxMessage).where(tables.OutboxMessage.id == outbox_id)
                          .values(status="waiting", waited_at=now, last_error="whatsapp: window closed"))


async def last_prompt(session: AsyncSession, identity_id: int) -> tables.OutboxMessage | None:
    """The latest message sent to the identity, if it offered choices (a numbered menu answers to numbers)."""
    row = await session.scalar(
        select(tables.OutboxMessage)
        .where(tables.OutboxMessage.identity_id == identity_id, tables.OutboxMessage.status == "sent")
        .order_by(tables.OutboxMessage.id.desc()).limit(1))
    return row if row is not None and row.payload.get("options") else None


async def outbox_row(session: AsyncSession, outbox_id: int) -> tables.OutboxMessage | None:
    """A WhatsApp outbox row, locked for the change a status brings; None if there is none of that id."""
    row = await session.scalar(select(tables.OutboxMessage).where(tables.OutboxMessage.id == outbox_id,
                                                                  tables.OutboxMessage.channel == CHANNEL)
                               .with_for_update())
    return row


async def add_receipt(session: AsyncSession, outbox_id: int, wamid: str, now: datetime) -> None:
    """Remember a wamid Bab learnt from a status instead of the send's answer (which was lost)."""
    known = await session.scalar(select(tables.ChannelMessage.id).where(
        tables.ChannelMessage.channel == CHANNEL, tables.ChannelMessage.external_id == wamid))
    if known is None:
        session.add(tables.ChannelMessage(outbox_id=outbox_id, channel=CHANNEL, external_id=wamid,
                                          status="accepted", updated_at=now))
        await session.flush()
