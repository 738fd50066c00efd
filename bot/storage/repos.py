"""Queries and writes over the tables. Functions take a session inside a transaction and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Alias, Collectivity
from bot.domain.values import Outbound, Profile, RequestView
from bot.storage import tables

# How stale `last_seen_at` may get before a turn writes it again: to the minute, so that a conversation's turns
# do not each pay an UPDATE of the identity.
SEEN_GRANULARITY = timedelta(minutes=1)


@dataclass(slots=True)
class Turn:
    """What one inbound message starts from: the identity, its conversation row, whether an active staff member
    acts from it and whether messages wait for it (a closed WhatsApp window)."""

    identity: tables.Identity
    conversation: tables.Conversation | None
    staff: bool
    waiting: bool
    objections: frozenset[str] = frozenset()  # the optional data the citizen objected to (citizens.objections)


def _open_turn() -> Select[tables.Identity, tables.Conversation, bool, bool, str | None]:
    """`open_turn`'s query, built once (building it cost a third of a millisecond a turn)."""
    staff = select(tables.Staff.id).where(tables.Staff.identity_id == tables.Identity.id,
                                          tables.Staff.revoked_at.is_(None))
    waiting = select(tables.OutboxMessage.id).where(tables.OutboxMessage.identity_id == tables.Identity.id,
                                                    tables.OutboxMessage.status == "waiting")
    # In the same query: the forms need them at every step, and a turn's statements are counted.
    objections = select(tables.Citizen.objections).where(tables.Citizen.id == tables.Identity.citizen_id)
    return (
        select(tables.Identity, tables.Conversation, exists(staff), exists(waiting), objections.scalar_subquery())
        .outerjoin(tables.Conversation, tables.Conversation.identity_id == tables.Identity.id)
        .where(tables.Identity.channel == bindparam("channel"), tables.Identity.external_id == bindparam("external_id"))
        .with_for_update(of=tables.Identity)
    )


_OPEN_TURN = _open_turn()


async def open_turn(session: AsyncSession, channel: str, external_id: str, now: datetime) -> Turn:
    """The identity for (channel, external_id) (created with a new citizen on first contact) with its conversation,
    in one query; the identity row is locked until the end of the transaction (FOR UPDATE on PostgreSQL), which
    orders one person's concurrent messages."""
    query, parameters = _OPEN_TURN, {"channel": channel, "external_id": tables.identity_key(channel, external_id)}
    found = (await session.execute(query, parameters)).first()
    if found is None:
        # First contact: create the identity, or find the one a racing first message committed meanwhile (and
        # its conversation), then read it as any other turn does, locked.
        await identity_for(session, channel, external_id, now)
        found = (await session.execute(query, parameters)).one()
    identity, conversation, is_staff, is_waiting, objections = found
    _seen(identity, now)
    return Turn(identity, conversation, bool(is_staff), bool(is_waiting),
                frozenset(filter(None, (objections or "").split(","))))


async def mark_unreachable(session: AsyncSession, channel: str, external_id: str) -> None:
    """Flag the identity (until it writes again: `_seen`), and fail what is queued for it: it said it wants none."""
    identity_ids = select(tables.Identity.id).where(
        tables.Identity.channel == channel, tables.Identity.external_id == tables.identity_key(channel, external_id))
    await session.execute(update(tables.Identity).where(tables.Identity.id.in_(identity_ids))
                          .values(unreachable=True))
    await session.execute(update(tables.OutboxMessage).where(
        tables.OutboxMessage.status == "pending", tables.OutboxMessage.identity_id.in_(identity_ids))
        .values(status="failed", last_error="unreachable"))


def _seen(identity: tables.Identity, now: datetime) -> None:
    """Note that the person wrote (to the minute); the channel works again (e.g. they unblocked the bot)."""
    if now - identity.last_seen_at >= SEEN_GRANULARITY:
        identity.last_seen_at = now
    if identity.unreachable:
        identity.unreachable = False


async def identity_for(session: AsyncSession, channel: str, external_id: str, now: datetime,
                       locale: str | None = None) -> tables.Identity:
    """The identity for (channel, external_id), created with a new citizen on first contact (keyed by
    `tables.identity_key`, the id kept encrypted in `address` where that key is its hash)."""
    found = await find_identity(session, channel, external_id)
    if found is not None:
        _seen(found, now)
        return found
    try:
        # A savepoint, so that two first messages racing on PostgreSQL end with one identity, not an error.
        async with session.begin_nested():
            citizen = tables.Citizen(locale=locale, created_at=now)
            session.add(citizen)
            await session.flush()
            key = tables.identity_key(channel, external_id)
            identity = tables.Identity(citizen_id=citizen.id, channel=channel, external_id=key,
                                       address=external_id if key != external_id else None,
                                       unreachable=False, created_at=now, last_seen_at=now)
            session.add(identity)
            await session.flush()
    except IntegrityError:
        raced = await find_identity(session, channel, external_id)
        if raced is None:
            raise
        return raced
    return identity


async def find_identity(session: AsyncSession, channel: str, external_id: str) -> tables.Identity | None:
    """The identity for (channel, external_id), if it exists."""
    return await session.scalar(select(tables.Identity).where(
        tables.Identity.channel == channel, tables.Identity.external_id == tables.identity_key(channel, external_id)))


def address_of(identity: tables.Identity) -> str:
    """The channel's own id of `identity`, to send to it: its decrypted `address` on a hashed channel."""
    return identity.address or identity.external_id


async def inbound_seen(session: AsyncSession, channel: str, external_id: str) -> bool:
    """True when the channel already delivered a message with this id (checked before fetching its file)."""
    return await session.scalar(select(tables.InboundMessage.id).where(
        tables.InboundMessage.channel == channel, tables.InboundMessage.external_id == external_id)) is not None


async def record_inbound(session: AsyncSession, identity_id: int, channel: str, kind: str, text: str | None,
                         external_id: str | None, now: datetime) -> bool:
    """Store an inbound message; False when the channel already delivered this external id (a redelivery).

    One statement: the unique index on (channel, external_id) decides, so two workers given the same redelivery
    cannot both apply it."""
    values = dict(identity_id=identity_id, channel=channel, external_id=external_id, kind=kind, text=text,
                  created_at=now)
    if external_id is None:
        await session.execute(insert(tables.InboundMessage).values(**values))
        return True
    result = await session.execute(_RECORD_ONCE[session.get_bind().dialect.name], values)
    return bool(getattr(result, "rowcount", 0))


# Insert-or-nothing on the unique (channel, external_id), built once per dialect; the table's own columns, so
# that SQLAlchemy takes the row as a plain INSERT whose rowcount says whether it went in.
_INBOUND = cast(Table, tables.InboundMessage.__table__)
_RECORD_ONCE = {
    "postgresql": pg_insert(_INBOUND).on_conflict_do_nothing(
        index_elements=["channel", "external_id"]),
    "sqlite": sqlite_insert(_INBOUND).on_conflict_do_nothing(
        index_elements=["channel", "external_id"]),
}


async def save_conversation(session: AsyncSession, identity_id: int, row: tables.Conversation | None,
                            state: dict[str, Any], version: int, now: datetime) -> None:
    """Write the new state; the version only ever grows."""
    if row is None:
        session.add(tables.Conversation(identity_id=identity_id, state=state, version=version, updated_at=now))
    else:
        row.state, row.version, row.updated_at = state, version, now
    await session.flush()


async def citizen_requests(session: AsyncSession, citizen_id: int) -> tuple[tuple[RequestView, ...], Profile | None]:
    """The citizen's own requests, newest first, and the requester details of the latest access request (one
    query: a turn needs both)."""
    rows = list(await session.scalars(
        select(tables.Request).where(tables.Request.citizen_id == citizen_id).order_by(tables.Request.id.desc())
    ))
    references = {row.id: row.reference for row in rows}
    views = tuple(
        RequestView(reference=row.reference, kind=row.kind, status=row.status,
                    collectivity_code=row.collectivity_code, subject=row.subject,
                    received_on=row.received_at.astimezone(CASABLANCA).date(), due_on=row.due_on,
                    answered_on=row.answered_at.astimezone(CASABLANCA).date() if row.answered_at else None,
                    parent_reference=references.get(row.parent_id) if row.parent_id else None,
                    rating=row.rating)
        for row in rows
    )
    latest = next((row for row in rows if row.kind == "access"), None)
    if latest is None or not (latest.requester_name and latest.id_number and latest.contact):
        return views, None
    return views, Profile(name=latest.requester_name, id_number=latest.id_number, contact=latest.contact)


async def reference_taken(session: AsyncSession, reference: str) -> bool:
    """True when a request already has this reference."""
    return await session.scalar(select(tables.Request.id).where(tables.Request.reference == reference)) is not None


async def request_by_reference(session: AsyncSession, reference: str) -> tables.Request | None:
    """The request with this reference, locked for the transaction."""
    return await session.scalar(
        select(tables.Request).where(tables.Request.reference == reference).with_for_update()
    )


async def append_event(session: AsyncSession, request_id: int, kind: str, actor: str, now: datetime,
                       data: dict[str, Any] | None = None) -> None:
    """Add one entry to a request's history (never updated or deleted); a refusal's ground is also kept apart."""
    ground = (data or {}).get("ground")
    session.add(tables.RequestEvent(request_id=request_id, at=now, kind=kind, actor=actor, data=data or {},
                                    ground=str(ground) if ground else None))


async def enqueue(session: AsyncSession, identity_id: int, channel: str, message: Outbound, now: datetime) -> None:
    """Queue a message for delivery in the current transaction."""
    session.add(tables.OutboxMessage(identity_id=identity_id, channel=channel, payload=message.to_payload(),
                                     status="pending", attempts=0, next_attempt_at=now, created_at=now))


async def claim_attachment(session: AsyncSession, attachment_id: int, identity_id: int, request_id: int) -> bool:
    """Link the identity's own attachment to a request; False when it is not theirs."""
    result = await session.execute(
        update(tables.Attachment)
        .where(tables.Attachment.id == attachment_id, tables.Attachment.identity_id == identity_id)
        .values(request_id=request_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def add_attachment(session: AsyncSession, identity_id: int, kind: str, ref: str, mime: str | None,
                         size: int | None, now: datetime) -> int:
    """Store an attachment's reference; returns its id."""
    row = tables.Attachment(identity_id=identity_id, kind=kind, ref=ref, mime=mime, size=size, created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def collectivity_count(session: AsyncSession) -> int:
    """How many collectivities the directory holds."""
    return int(await session.scalar(select(func.count()).select_from(tables.Collectivity)) or 0)


async def load_directory_rows(session: AsyncSession) -> tuple[list[Collectivity], list[Alias], set[str]]:
    """Everything needed to build the in-memory Directory, plus the codes that answer on Bab."""
    rows = (await session.scalars(select(tables.Collectivity))).all()
    places = [
        Collectivity(code=row.code, level=row.level, name_fr=row.name_fr, name_ar=row.name_ar,
                     parent_code=row.parent_code, population=row.population, lat=row.lat, lon=row.lon,
                     province_type=row.province_type, commune_type=row.commune_type)
        for row in rows
    ]
    aliases = [Alias(code=row.code, alias=row.alias, kind=row.kind)
               for row in (await session.scalars(select(tables.CollectivityAlias))).all()]
    return places, aliases, {row.code for row in rows if row.on_bab}


async def upsert_directory(session: AsyncSession, places: list[Collectivity], aliases: list[Alias]) -> int:
    """Insert or update every collectivity and alias (parents first); returns how many rows changed."""
    existing = {row.code: row for row in (await session.scalars(select(tables.Collectivity))).all()}
    order = {"region": 0, "province": 1, "commune": 2}
    changed = 0
    for place in sorted(places, key=lambda p: order.get(p.level, 3)):
        values = dict(level=place.level, name_fr=place.name_fr, name_ar=place.name_ar, parent_code=place.parent_code,
                      province_type=place.province_type, commune_type=place.commune_type,
                      population=place.population, lat=place.lat, lon=place.lon)
        row = existing.get(place.code)
        if row is None:
            session.add(tables.Collectivity(code=place.code, on_bab=False, **values))
            changed += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            changed += 1
    await session.flush()  # rows of one table are inserted in the order added: parents before children
    codes = existing.keys() | {place.code for place in places}
    known = {(row.code, row.alias) for row in (await session.scalars(select(tables.CollectivityAlias))).all()}
    for alias in aliases:
        if (alias.code, alias.alias) not in known and alias.code in codes:
            session.add(tables.CollectivityAlias(code=alias.code, alias=alias.alias, kind=alias.kind))
            known.add((alias.code, alias.alias))
            changed += 1
    await session.flush()
    return changed



async def sent_messages(session: AsyncSession, identity_id: int, after_id: int = 0,
                        limit: int = 200) -> list[tables.OutboxMessage]:
    """Delivered messages to the identity with an id above `after_id`, oldest first."""
    rows = await session.scalars(
        select(tables.OutboxMessage)
        .where(tables.OutboxMessage.identity_id == identity_id, tables.OutboxMessage.status == "sent",
               tables.OutboxMessage.id > after_id)
        .order_by(tables.OutboxMessage.id)
        .limit(limit)
    )
    return list(rows)


async def inbound_messages(session: AsyncSession, identity_id: int, limit: int = 200) -> list[tables.InboundMessage]:
    """The identity's latest inbound messages, oldest first."""
    rows = await session.scalars(
        select(tables.InboundMessage).where(tables.InboundMessage.identity_id == identity_id)
        .order_by(tables.InboundMessage.id.desc()).limit(limit)
    )
    return list(reversed(list(rows)))


async def attachment_with_request(session: AsyncSession,
                                  file_id: int) -> tuple[tables.Attachment, tables.Request | None] | None:
    """An attachment and the request it belongs to (if any)."""
    found = await session.get(tables.Attachment, file_id)
    if found is None:
        return None
    return found, (await session.get(tables.Request, found.request_id) if found.request_id else None)


async def release_waiting(session: AsyncSession, identity_id: int, now: datetime) -> int:
    """Messages that waited for the person to write again (a closed WhatsApp window) go now, marked with when
    they started waiting so the channel can say so; returns how many."""
    rows = list(await session.scalars(select(tables.OutboxMessage).where(
        tables.OutboxMessage.identity_id == identity_id, tables.OutboxMessage.status == "waiting")))
    for row in rows:
        waited = (row.waited_at or now).isoformat()
        row.payload = {**row.payload, "waited_at": waited}
        row.status, row.next_attempt_at = "pending", now
    return len(rows)
