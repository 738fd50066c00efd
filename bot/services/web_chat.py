"""What the web chat page shows of a visitor's conversation: the transcript on load (the `web_transcript` table,
apart from the outbox, and the texts the visitor typed), the messages delivered since the last poll, leaving a shared device, and reopening one's requests on another device with a receipt's code.
Each call in its own short session; the handler renders what it gets.

Wrong reopen codes are counted in the `reopen_failures` table, so every worker sees them and a restart forgets
none: a browser, and a client address, get `VISITOR_TRIES` / `ADDRESS_TRIES` wrong pairs in `VISITOR_WINDOW`; a
reference tried wrongly `REFERENCE_TRIES` times by anyone is locked for `REFERENCE_LOCK`, tries during a lock
are not counted, and a reference is locked at most `REFERENCE_LOCKS_PER_DAY` times a day, so that whoever knows
a reference can keep its citizen out a few minutes at most, never for good."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.access_codes import code_matches
from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.requests import find_reference
from bot.flows.places import local_name
from bot.flows.spec import InboundKind
from bot.i18n import translator
from bot.services.clock import Clock
from bot.storage import crypto, repos, tables, transcript_repo

log = logging.getLogger(__name__)

CHANNEL = "web"
TRANSCRIPT_LIMIT = 500  # messages each way shown when the page loads
# What stands for a thing the visitor sent that is not text, when it cannot be shown again.
SENT_SYMBOLS = {"photo": "📷", "document": "📄", "location": "📍"}
VISITOR_TRIES = 5  # wrong pairs per browser in VISITOR_WINDOW
# Per client address: a little more, since a mobile operator's NAT puts many phones behind one address.
ADDRESS_TRIES = 10
VISITOR_WINDOW = timedelta(minutes=15)
REFERENCE_TRIES = 10  # wrong codes for one reference, from anyone, in VISITOR_WINDOW before it is locked
REFERENCE_LOCK = timedelta(minutes=5)
REFERENCE_LOCKS_PER_DAY = 3  # beyond these the reference is not locked again that day (the other limits stay)
FAILURES_KEPT = timedelta(days=1)  # older rows of reopen_failures are deleted


@dataclass(frozen=True, slots=True)
class Delivered:
    """A bot message the dispatcher delivered: its outbox id and payload."""

    id: int
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Said:
    """Something the visitor sent, as the transcript shows it: a text, the label of a tapped button, a photo
    (`file_id`) or a location (`lat`, `lon` and the nearest commune's name)."""

    text: str
    at: datetime
    kind: str = "text"
    file_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    place: str | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """The conversation in order, and the last bot id."""

    lines: tuple[Delivered | Said, ...]
    last_id: int


@dataclass(frozen=True, slots=True)
class Reopened:
    """A request found again with its reference and code."""

    reference: str
    kind: str
    status: str
    place_code: str
    received_on: date
    due_on: date


def merge(sent: list[Delivered], said: list[tuple[datetime, Said]]) -> list[Delivered | Said]:
    """Both sides in order: each keeps its own sequence (outbox ids, inbound ids), and a visitor's line goes
    before the bot's messages stamped at the same moment or later (those of the turn it started)."""
    lines: list[Delivered | Said] = []
    i = j = 0
    while i < len(sent) or j < len(said):
        if j < len(said) and (i >= len(sent) or said[j][0] <= sent[i].at):
            lines.append(said[j][1])
            j += 1
        else:
            lines.append(sent[i])
            i += 1
    return lines


def parse_location(text: str | None) -> tuple[float, float] | None:
    """The 'lat,lon' an inbound location is stored as, or None."""
    try:
        lat, lon = (float(part) for part in (text or "").split(","))
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


@dataclass(frozen=True, slots=True)
class Refused:
    """A reopen refused: a wrong pair (`retry_at` None), or too many of them, until `retry_at`."""

    retry_at: datetime | None = None


def address_key(address: str | None) -> str | None:
    """The counting key of a client address: a keyed hash (no address is stored), IPv6 by its /64 network (one
    subscriber's share), None when there is no usable address."""
    try:
        found = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        found = found.ipv4_mapped
    network = str(ipaddress.ip_network(f"{found}/64", strict=False)) if found.version == 6 else str(found)
    return "addr:" + crypto.keyed_hash(f"reopen:{network}")


class Attempts:
    """Wrong reopen pairs, counted in the database per browser, client address and reference."""

    def __init__(self, visitor_tries: int = VISITOR_TRIES, address_tries: int = ADDRESS_TRIES,
                 reference_tries: int = REFERENCE_TRIES) -> None:
        self.visitor_tries, self.address_tries, self.reference_tries = visitor_tries, address_tries, reference_tries

    async def _times(self, session: AsyncSession, key: str, since: datetime) -> Sequence[datetime]:
        return (await session.scalars(select(tables.ReopenFailure.at).where(
            tables.ReopenFailure.key == key, tables.ReopenFailure.at > since).order_by(tables.ReopenFailure.at))).all()

    async def _locks(self, session: AsyncSession, reference: str, now: datetime) -> Sequence[datetime]:
        return await self._times(session, f"lock:{reference}", now - FAILURES_KEPT)

    async def retry_at(self, session: AsyncSession, now: datetime, reference: str, visitor: str,
                       address: str | None) -> datetime | None:
        """When this visitor may try again, or None if they may now."""
        waits: list[datetime] = []
        for key, limit in ((f"visitor:{visitor}", self.visitor_tries), (address, self.address_tries)):
            if key is None:
                continue
            times = await self._times(session, key, now - VISITOR_WINDOW)
            if len(times) >= limit:  # free again when the oldest of the last `limit` leaves the window
                waits.append(times[-limit] + VISITOR_WINDOW)
        locks = await self._locks(session, reference, now) if reference else ()
        if locks and now < locks[-1] + REFERENCE_LOCK:
            waits.append(locks[-1] + REFERENCE_LOCK)
        return max(waits) if waits else None

    async def failed(self, session: AsyncSession, now: datetime, reference: str, visitor: str,
                     address: str | None) -> None:
        """Count one wrong pair against the browser, the address and the reference; lock the reference when it
        has had too many since its last lock ended (a bounded number of times a day); forget day-old rows."""
        keys = [f"visitor:{visitor}", *([address] if address else []), *([f"ref:{reference}"] if reference else [])]
        session.add_all(tables.ReopenFailure(key=key, at=now) for key in keys)
        await session.flush()
        if reference:
            locks = await self._locks(session, reference, now)
            since = max([now - VISITOR_WINDOW, *(lock + REFERENCE_LOCK for lock in locks[-1:])])
            count = await session.scalar(select(func.count()).where(
                tables.ReopenFailure.key == f"ref:{reference}", tables.ReopenFailure.at >= since))
            if (count or 0) >= self.reference_tries and len(locks) < REFERENCE_LOCKS_PER_DAY:
                session.add(tables.ReopenFailure(key=f"lock:{reference}", at=now))
                log.info("web reopen reference=%s locked for %d s (lock %d today)", reference,
                         REFERENCE_LOCK.total_seconds(), len(locks) + 1)
        await session.execute(delete(tables.ReopenFailure).where(tables.ReopenFailure.at < now - FAILURES_KEPT))


class WebChat:
    """The web visitor's side of the outbox and the inbound log."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, clock: Clock) -> None:
        self.sessions = sessions
        self.directory = directory
        self.clock = clock
        self.attempts = Attempts()

    async def transcript(self, visitor: str) -> Transcript:
        """The visitor's latest messages both ways; empty for a visitor who never wrote."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, CHANNEL, visitor)
            if identity is None:
                return Transcript((), 0)
            sent_rows = await transcript_repo.latest_lines(session, identity.id, TRANSCRIPT_LIMIT)
            received = await repos.inbound_messages(session, identity.id, limit=TRANSCRIPT_LIMIT)
            photos = list(await session.scalars(select(tables.Attachment.id).where(
                tables.Attachment.identity_id == identity.id, tables.Attachment.kind == "photo")
                .order_by(tables.Attachment.id)))
        sent = [Delivered(row.id, row.payload, row.at) for row in sent_rows]
        t = translator(str(sent[-1].payload.get("locale") or "fr") if sent else "fr")
        # Photos and their inbound lines are written in the same turn, one each, in the same order.
        first_photo = sum(1 for inbound in received if inbound.kind == InboundKind.PHOTO.value)
        photo_ids = iter(photos[-first_photo:] if first_photo else [])
        said: list[tuple[datetime, Said]] = []
        for inbound in received:
            line: Said | None = None
            if inbound.kind == InboundKind.CHOICE.value:
                # Show the label the visitor tapped, found on the latest bot message that offered it.
                label = next((option["label"] for message in reversed(sent) if message.at <= inbound.created_at
                              for option in message.payload.get("options", []) if option.get("id") == inbound.text),
                             "")
                line = Said(label, inbound.created_at) if label else None
            elif inbound.kind == InboundKind.PHOTO.value:
                line = Said(SENT_SYMBOLS["photo"], inbound.created_at, kind="photo", file_id=next(photo_ids, None))
            elif inbound.kind == InboundKind.LOCATION.value:
                where = parse_location(inbound.text)
                nearest = self.directory.nearest_communes(*where, limit=1) if where else []
                line = Said(SENT_SYMBOLS["location"], inbound.created_at, kind="location",
                            lat=where[0] if where else None, lon=where[1] if where else None,
                            place=local_name(nearest[0], t) if nearest else None)
            elif inbound.kind != InboundKind.TEXT.value:
                line = Said(SENT_SYMBOLS.get(inbound.kind, "…"), inbound.created_at, kind=inbound.kind)
            elif inbound.text:
                line = Said(inbound.text, inbound.created_at)
            if line is not None:
                said.append((inbound.created_at, line))
        return Transcript(tuple(merge(sent, said)), sent[-1].id if sent else 0)

    async def delivered(self, visitor: str, after: int) -> list[Delivered]:
        """Bot messages delivered to the visitor with an id above `after`, oldest first (none before they wrote)."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, CHANNEL, visitor)
            if identity is None:  # a visitor may poll before their first message created the identity
                return []
            rows = await transcript_repo.lines_after(session, identity.id, after)
        return [Delivered(row.id, row.payload, row.at) for row in rows]

    async def leave(self, visitor: str) -> int | None:
        """Detach this browser from its conversation: the old cookie no longer opens anything, and the codes
        shown on its receipts are wiped from the stored messages. Returns the identity id (None if none)."""
        async with self.sessions() as session, session.begin():
            identity = await repos.find_identity(session, CHANNEL, visitor)
            if identity is None:
                return None
            identity.external_id = f"left:{identity.id}:{secrets.token_hex(8)}"
            await transcript_repo.forget_codes(session, identity.id)
            return identity.id

    async def reopen(self, visitor: str, reference: str, code: str,
                     address: str | None = None) -> Reopened | Refused:
        """The request if `code` is its receipt's code; this browser then follows the requests of the citizen
        who filed it (when it has none of its own). Refused for a wrong pair, or with the time to try again after
        too many (from this browser, this client `address`, or on this reference)."""
        reference = find_reference(reference[:40]) or ""
        now = self.clock.now()
        address = address_key(address)
        async with self.sessions() as session, session.begin():
            # Before the code is checked: a locked visitor learns nothing, not even from the time a check takes.
            retry_at = await self.attempts.retry_at(session, now, reference, visitor, address)
            if retry_at is not None:
                return Refused(retry_at)
            request = await repos.request_by_reference(session, reference) if reference else None
            if request is None or not code_matches(request.reference, code, request.access_code_hash):
                await self.attempts.failed(session, now, reference, visitor, address)
                return Refused(await self.attempts.retry_at(session, now, reference, visitor, address))
            identity = await repos.identity_for(session, CHANNEL, visitor, now)
            if identity.citizen_id != request.citizen_id:
                own = await session.scalar(select(tables.Request.id).where(
                    tables.Request.citizen_id == identity.citizen_id).limit(1))
                if own is None:
                    await session.execute(update(tables.Identity).where(tables.Identity.id == identity.id)
                                          .values(citizen_id=request.citizen_id))
            return Reopened(request.reference, request.kind, request.status, request.collectivity_code,
                            request.received_at.astimezone(CASABLANCA).date(), request.due_on)

    def place(self, code: str, locale: str) -> str | None:
        """The collectivity's name in the reader's language, or None for an unknown code."""
        found = self.directory.get(code)
        return local_name(found, translator(locale)) if found else None

    async def has_conversation(self, visitor: str) -> bool:
        """Whether this browser has written to Bab (its language is then the conversation's)."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, CHANNEL, visitor)
            return identity is not None and await session.get(tables.Conversation, identity.id) is not None
