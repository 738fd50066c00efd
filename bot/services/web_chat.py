"""What the web chat page shows of a visitor's conversation: the transcript on load (the `web_transcript` table,
apart from the outbox, and the texts the visitor typed), the messages delivered since the last poll, leaving a shared device, and reopening one's requests on another device with a receipt's code.
Each call in its own short session; the handler renders what it gets."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.access_codes import code_matches
from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.requests import find_reference
from bot.flows.places import local_name
from bot.flows.spec import InboundKind
from bot.i18n import translator
from bot.services.clock import Clock
from bot.storage import repos, tables, transcript_repo

CHANNEL = "web"
TRANSCRIPT_LIMIT = 500  # messages each way shown when the page loads
# What stands for a thing the visitor sent that is not text, when it cannot be shown again.
SENT_SYMBOLS = {"photo": "📷", "document": "📄", "location": "📍"}
REOPEN_TRIES = 5  # wrong codes per reference (and per visitor) in REOPEN_WINDOW seconds
REOPEN_WINDOW = 15 * 60.0


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


class Attempts:
    """Wrong reopen codes counted per key over a sliding window, in this process."""

    def __init__(self, limit: int = REOPEN_TRIES, window: float = REOPEN_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        """Whether any key used up its tries."""
        now = time.monotonic()
        for key in keys:
            failures = self._failures.get(key)
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if failures is not None and len(failures) >= self.limit:
                return True
        return False

    def failed(self, *keys: str) -> None:
        """Count one wrong try against each key."""
        for key in keys:
            self._failures[key].append(time.monotonic())


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

    async def reopen(self, visitor: str, reference: str, code: str) -> Reopened | None:
        """The request if `code` is its receipt's code; this browser then follows the requests of the citizen
        who filed it (when it has none of its own). None for a wrong pair or after too many wrong tries."""
        reference = find_reference(reference[:40]) or ""
        if self.attempts.blocked(f"ref:{reference}", f"visitor:{visitor}"):
            return None
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            request = await repos.request_by_reference(session, reference) if reference else None
            if request is None or not code_matches(request.reference, code, request.access_code_hash):
                self.attempts.failed(f"ref:{reference}", f"visitor:{visitor}")
                return None
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
