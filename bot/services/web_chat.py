"""What the web chat page shows of a visitor's conversation: the transcript on load, and the messages delivered
since the last poll. Read only, each call in its own short session; the handler renders what it gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.spec import InboundKind
from bot.storage import repos

CHANNEL = "web"
TRANSCRIPT_LIMIT = 500  # messages each way shown when the page loads
# What stands for a thing the visitor sent that is not text.
SENT_SYMBOLS = {"photo": "📷", "document": "📄", "location": "📍"}


@dataclass(frozen=True, slots=True)
class Delivered:
    """A bot message the dispatcher delivered: its outbox id and payload."""

    id: int
    payload: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Said:
    """Something the visitor sent, as the transcript shows it (the label of a tapped button, a symbol for a photo)."""

    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Transcript:
    """The conversation in order (the visitor's line before the bot's at the same moment), and the last bot id."""

    lines: tuple[Delivered | Said, ...]
    last_id: int


class WebChat:
    """The web visitor's side of the outbox and the inbound log."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def transcript(self, visitor: str) -> Transcript:
        """The visitor's latest messages both ways; empty for a visitor who never wrote."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, CHANNEL, visitor)
            if identity is None:
                return Transcript((), 0)
            sent = await repos.sent_messages(session, identity.id, 0, limit=TRANSCRIPT_LIMIT)
            received = await repos.inbound_messages(session, identity.id, limit=TRANSCRIPT_LIMIT)
        items: list[tuple[str, int, Delivered | Said]] = [
            (row.created_at.isoformat(), 1, Delivered(row.id, row.payload, row.created_at)) for row in sent]
        for inbound in received:
            text = inbound.text or ""
            if inbound.kind == InboundKind.CHOICE.value:
                # Show the label the visitor tapped, found on the latest bot message that offered it.
                text = next((option["label"] for message in reversed(sent) if message.created_at <= inbound.created_at
                             for option in message.payload.get("options", []) if option.get("id") == inbound.text),
                            "")
            elif inbound.kind != InboundKind.TEXT.value:
                text = SENT_SYMBOLS.get(inbound.kind, "…")
            if text:
                items.append((inbound.created_at.isoformat(), 0, Said(text, inbound.created_at)))
        items.sort(key=lambda item: (item[0], item[1]))
        return Transcript(tuple(item[2] for item in items), sent[-1].id if sent else 0)

    async def delivered(self, visitor: str, after: int) -> list[Delivered]:
        """Bot messages delivered to the visitor with an id above `after`, oldest first (none before they wrote)."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, CHANNEL, visitor)
            if identity is None:  # a visitor may poll before their first message created the identity
                return []
            rows = await repos.sent_messages(session, identity.id, after)
        return [Delivered(row.id, row.payload, row.created_at) for row in rows]
