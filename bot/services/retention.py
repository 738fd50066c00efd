"""The daily retention purge (law 09-08: data kept only as long as its purpose needs, then destroyed).

What is due, counted from a request's last change once it is no longer open (closing, answering, refusing or
withdrawing it is that change; a later note only postpones its purge):
- personal fields, `retention_personal_days` after: name, card number, contact, location, subject, and the texts
  of its events (clarifications, answers, notes); the anonymous facts stay (collectivity, kind, dates, status,
  refusal ground, rating) for the statistics and the transparency page;
- files, `retention_files_days` after: its photos and documents, on disk and their rows;
- messages, `retention_messages_days` after the citizen's last request stopped being open (or after they were
  written, for someone with no request): the web transcript lines and the texts typed on the web; files sent
  in a conversation but never attached to a request, after as long; and the unfinished forms of a conversation
  (answers typed, forms kept for later) once it has been idle as long, the language kept;
- delivered or failed outbox rows, `retention_outbox_days` after they were queued (a delivery job, not a record:
  the web keeps its own transcript, the other channels' apps their own copy);
- audit events (ids only: who viewed whose request, what was refused), `retention_audit_days` after they happened.

Idempotent like the deadline sweeps: a request's purge is recorded on its row (`personal_purged_at`,
`files_purged_at`) in the transaction that erases it, and every other kind is gone once purged, so a second run,
a run after downtime or two processes at once end in the same state. Each kind reads only what is due, through
an index. A dry run selects the same rows and changes nothing. Logs carry counts and ids, never contents.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.privacy_facts import RetentionSettings
from bot.flows.spec import State
from bot.services.privacy import delete_files, erase_loaded_personal
from bot.storage import tables
from bot.storage.inbox_repo import OPEN

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction: a first purge of years of data never holds one long lock


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """What one purge erased (or, in a dry run, would erase), per kind."""

    personal: int = 0  # requests whose personal fields were erased
    files: int = 0  # attachments deleted, with their files
    transcript: int = 0  # web transcript lines deleted
    texts: int = 0  # typed texts cleared from inbound messages
    outbox: int = 0  # delivered or failed outbox rows deleted
    audit: int = 0  # audit events deleted
    conversations: int = 0  # idle conversations whose unfinished forms were cleared

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def closed_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    """Requests no longer open whose last change is before `cutoff`."""
    return [tables.Request.status.not_in(OPEN), tables.Request.updated_at < cutoff]


def citizen_settled(cutoff: datetime) -> ColumnElement[bool]:
    """The identity's citizen has no request open, nor one closed at or after `cutoff` (correlated on
    `tables.Identity`)."""
    request = tables.Request
    return ~exists().where(request.citizen_id == tables.Identity.citizen_id,
                           or_(request.status.in_(OPEN), request.updated_at >= cutoff))


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


class Retention:
    """The purge over one database and its uploads folder."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], uploads_dir: Path,
                 settings: RetentionSettings | None = None) -> None:
        self.sessions = sessions
        self.uploads_dir = uploads_dir
        self.settings = settings or RetentionSettings()

    def _cutoff(self, now: datetime, days: int) -> datetime:
        return now - timedelta(days=days)

    # ---- what is due --------------------------------------------------------------------------------------------

    def due_personal(self, now: datetime) -> Select[Any]:
        """Ids of the requests whose personal fields are due."""
        request = tables.Request
        return select(request.id).where(request.personal_purged_at.is_(None),
                                        *closed_before(self._cutoff(now, self.settings.personal_days)))

    def due_file_requests(self, now: datetime) -> Select[Any]:
        """Ids of the requests whose files are due."""
        request = tables.Request
        return select(request.id).where(request.files_purged_at.is_(None),
                                        *closed_before(self._cutoff(now, self.settings.files_days)))

    def due_loose_files(self, now: datetime) -> Select[Any]:
        """Ids of the files sent in a conversation and never attached to a request, past the messages' period."""
        attachment = tables.Attachment
        return select(attachment.id).where(attachment.request_id.is_(None),
                                           attachment.created_at < self._cutoff(now, self.settings.messages_days))

    def due_transcript(self, now: datetime) -> Select[Any]:
        """Ids of the web transcript lines that are due."""
        cutoff = self._cutoff(now, self.settings.messages_days)
        line = tables.WebTranscript
        return (select(line.id).join(tables.Identity, tables.Identity.id == line.identity_id)
                .where(line.at < cutoff, citizen_settled(cutoff)))

    def due_texts(self, now: datetime) -> Select[Any]:
        """Ids of the inbound messages whose typed text is due."""
        cutoff = self._cutoff(now, self.settings.messages_days)
        inbound = tables.InboundMessage
        return (select(inbound.id).join(tables.Identity, tables.Identity.id == inbound.identity_id)
                .where(inbound.text.is_not(None), inbound.created_at < cutoff, citizen_settled(cutoff)))

    def due_outbox(self, now: datetime) -> Select[Any]:
        """Ids of the delivered or failed outbox rows that are due."""
        outbox = tables.OutboxMessage
        return select(outbox.id).where(outbox.status.in_(("sent", "failed")),
                                       outbox.created_at < self._cutoff(now, self.settings.outbox_days))

    def due_conversations(self, now: datetime) -> Select[Any]:
        """Ids (identities) of the conversations idle past the messages' period. A cleared one counts as new from
        then, so each is read again only after another such period."""
        conversation = tables.Conversation
        return select(conversation.identity_id).where(
            conversation.updated_at < self._cutoff(now, self.settings.messages_days))

    def due_audit(self, now: datetime) -> Select[Any]:
        """Ids of the audit events past their period."""
        event = tables.AuditEvent
        return select(event.id).where(event.at < self._cutoff(now, self.settings.audit_days))

    # ---- the purge ----------------------------------------------------------------------------------------------

    async def purge(self, now: datetime, dry_run: bool = False) -> PurgeCounts:
        """Erase everything due at `now` (nothing with `dry_run`); returns the counts, the same either way."""
        if dry_run:
            counts = await self.plan(now)
        else:
            counts = PurgeCounts(personal=await self._personal(now), files=await self._files(now),
                                 transcript=await self._delete_each(self.due_transcript(now), tables.WebTranscript),
                                 texts=await self._texts(now), outbox=await self._outbox(now),
                                 audit=await self._delete_each(self.due_audit(now), tables.AuditEvent),
                                 conversations=await self._conversations(now))
        log.info("retention purge at %s dry_run=%s counts=%s", now.isoformat(), dry_run, counts.as_dict())
        return counts

    async def plan(self, now: datetime) -> PurgeCounts:
        """What `purge(now)` would erase, counted without changing anything."""
        async with self.sessions() as session:
            attachment = tables.Attachment
            files = await _count(session, select(attachment.id).where(
                attachment.request_id.in_(self.due_file_requests(now))))
            return PurgeCounts(personal=await _count(session, self.due_personal(now)),
                               files=files + await _count(session, self.due_loose_files(now)),
                               transcript=await _count(session, self.due_transcript(now)),
                               texts=await _count(session, self.due_texts(now)),
                               outbox=await _count(session, self.due_outbox(now)),
                               audit=await _count(session, self.due_audit(now)),
                               conversations=await _count(session, self.due_conversations(now)))

    async def _batches(self, query: Select[Any]) -> list[int]:
        async with self.sessions() as session:
            return list(await session.scalars(query.order_by(None).limit(BATCH)))

    async def _personal(self, now: datetime) -> int:
        done = 0
        while ids := await self._batches(self.due_personal(now)):
            async with self.sessions() as session, session.begin():
                # Re-read under lock: another process may have purged (or a citizen touched) them meanwhile.
                rows = list(await session.scalars(self.due_personal(now).with_only_columns(tables.Request)
                                                  .where(tables.Request.id.in_(ids)).with_for_update()))
                events = list(await session.scalars(select(tables.RequestEvent).where(
                    tables.RequestEvent.request_id.in_([row.id for row in rows]))))
                for row in rows:
                    erase_loaded_personal(row, [event for event in events if event.request_id == row.id], now)
            if rows:
                log.info("retention personal fields erased requests=%s", [row.id for row in rows])
            done += len(rows)
            if not rows:
                break
        return done

    async def _files(self, now: datetime) -> int:
        done = 0
        while ids := await self._batches(self.due_file_requests(now)):
            async with self.sessions() as session, session.begin():
                locked = list(await session.scalars(self.due_file_requests(now).where(
                    tables.Request.id.in_(ids)).with_for_update()))
                done += await self._remove_attachments(session, tables.Attachment.request_id.in_(locked))
                await session.execute(update(tables.Request).where(tables.Request.id.in_(locked))
                                      .values(files_purged_at=now))
            if not locked:
                break
        while ids := await self._batches(self.due_loose_files(now)):
            async with self.sessions() as session, session.begin():
                removed = await self._remove_attachments(session, tables.Attachment.id.in_(ids))
            done += removed
            if not removed:
                break
        return done

    async def _remove_attachments(self, session: AsyncSession, where: ColumnElement[bool]) -> int:
        """Delete the matching attachments' files, then their rows (a crash between leaves rows whose file is
        already gone, which the next run deletes)."""
        rows = list(await session.execute(select(tables.Attachment.id, tables.Attachment.ref).where(where)))
        delete_files(self.uploads_dir, [ref for _row_id, ref in rows])
        if rows:
            await session.execute(delete(tables.Attachment).where(tables.Attachment.id.in_([r[0] for r in rows])))
            log.info("retention files deleted attachments=%s", [r[0] for r in rows])
        return len(rows)

    async def _delete_each(self, due: Select[Any], table: type[tables.WebTranscript] | type[tables.AuditEvent]) -> int:
        done = 0
        while ids := await self._batches(due):
            async with self.sessions() as session, session.begin():
                result = await session.execute(delete(table).where(table.id.in_(due.where(table.id.in_(ids)))))
            removed = int(getattr(result, "rowcount", 0) or 0)
            done += removed
            if not removed:
                break
        return done

    async def _texts(self, now: datetime) -> int:
        done = 0
        inbound = tables.InboundMessage
        while ids := await self._batches(self.due_texts(now)):
            async with self.sessions() as session, session.begin():
                result = await session.execute(update(inbound).where(
                    inbound.id.in_(self.due_texts(now).where(inbound.id.in_(ids)))).values(text=None)
                    .execution_options(synchronize_session=False))
            cleared = int(getattr(result, "rowcount", 0) or 0)
            done += cleared
            if not cleared:
                break
        return done

    async def _conversations(self, now: datetime) -> int:
        """Clear the idle conversations' forms: where the person stood, their answers and the forms kept for
        later go; the language stays, and the version grows, so a button of the old form is answered as stale."""
        done = 0
        conversation = tables.Conversation
        while ids := await self._batches(self.due_conversations(now)):
            async with self.sessions() as session, session.begin():
                rows = list(await session.scalars(self.due_conversations(now).with_only_columns(conversation)
                                                  .where(conversation.identity_id.in_(ids)).with_for_update()))
                for row in rows:
                    state = State.from_json(row.state)
                    version = max(row.version, state.version) + 1
                    row.state = State(locale=state.locale, locale_confirmed=state.locale_confirmed,
                                      version=version).to_json()
                    row.version, row.updated_at = version, now
            if rows:
                log.info("retention forms cleared identities=%s", [row.identity_id for row in rows])
            done += len(rows)
            if not rows:
                break
        return done

    async def _outbox(self, now: datetime) -> int:
        done = 0
        outbox = tables.OutboxMessage
        while ids := await self._batches(self.due_outbox(now)):
            async with self.sessions() as session, session.begin():
                # Their channel receipts first (the only rows pointing at them); a late receipt then matches none.
                await session.execute(delete(tables.ChannelMessage).where(tables.ChannelMessage.outbox_id.in_(ids)))
                result = await session.execute(delete(outbox).where(outbox.id.in_(ids),
                                                                    outbox.status.in_(("sent", "failed"))))
            removed = int(getattr(result, "rowcount", 0) or 0)
            done += removed
            if not removed:
                break
        return done
