"""The web transcript: bot messages as the web chat shows them again, apart from the outbox that delivered them.

Functions take a session inside a transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import tables

# Channels whose page shows the citizen's own messages again (the web transcript): elsewhere the chat app keeps
# them, the conversation state holds the answers, and an inbound row keeps only its kind and channel id.
TEXT_KEPT_CHANNELS = frozenset({"web"})


async def copy_delivered(session: AsyncSession, outbox_ids: Sequence[int]) -> int:
    """Copy the outbox rows `outbox_ids` (just delivered by a local sender) into the transcript, with their ids."""
    if not outbox_ids:
        return 0
    outbox = tables.OutboxMessage
    rows = (await session.execute(select(outbox.id, outbox.identity_id, outbox.payload, outbox.created_at)
                                  .where(outbox.id.in_(list(outbox_ids))))).all()
    session.add_all(tables.WebTranscript(id=row_id, identity_id=identity_id, payload=payload, at=at)
                    for row_id, identity_id, payload, at in rows)
    await session.flush()
    return len(rows)


async def lines_after(session: AsyncSession, identity_id: int, after_id: int = 0,
                      limit: int = 200) -> list[tables.WebTranscript]:
    """The identity's transcript lines with an id above `after_id`, oldest first."""
    rows = await session.scalars(
        select(tables.WebTranscript)
        .where(tables.WebTranscript.identity_id == identity_id, tables.WebTranscript.id > after_id)
        .order_by(tables.WebTranscript.id).limit(limit))
    return list(rows)


async def latest_lines(session: AsyncSession, identity_id: int, limit: int) -> list[tables.WebTranscript]:
    """The identity's latest `limit` transcript lines, oldest first."""
    rows = list(await session.scalars(
        select(tables.WebTranscript).where(tables.WebTranscript.identity_id == identity_id)
        .order_by(tables.WebTranscript.id.desc()).limit(limit)))
    return list(reversed(rows))


def without_code(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload without its receipt card's follow-up code; None when it has none."""
    card = payload.get("card")
    if isinstance(card, dict) and "code" in card:
        return {**payload, "card": {key: value for key, value in card.items() if key != "code"}}
    return None


async def forget_codes(session: AsyncSession, identity_id: int) -> None:
    """Wipe the receipt codes from the identity's transcript and outbox rows (a visitor leaving a device)."""
    rows: list[tables.WebTranscript | tables.OutboxMessage] = [
        *await session.scalars(select(tables.WebTranscript).where(tables.WebTranscript.identity_id == identity_id)),
        *await session.scalars(select(tables.OutboxMessage).where(tables.OutboxMessage.identity_id == identity_id))]
    for row in rows:
        stripped = without_code(row.payload)
        if stripped is not None:
            row.payload = stripped
