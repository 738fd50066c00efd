"""The citizen's rights over their data, carried out: erasure primitives (idempotent, shared with the retention
purge), correction, withdrawal of consent for optional data, and forgetting a citizen.

Erasure sets fields to None or empty through the ORM (so it works whatever the column types encrypt), deletes the
files of the uploads folder, and keeps a request's anonymous facts: collectivity, kind, status, dates, deadline
rule, refusal ground. Logs carry ids and counts, never the values erased.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.directory import Directory
from bot.domain.lifecycle import Action, allowed
from bot.domain.requests import FEEDBACK_KINDS, OPEN_STATUSES, Kind
from bot.domain.staff import request_handlers
from bot.flows import privacy_texts
from bot.flows.privacy import OBJECTIONS
from bot.flows.spec import CorrectDetail, Forget, Outbound, WithdrawConsent
from bot.i18n import Translator, translator
from bot.services import media
from bot.services.lifecycle import Lifecycle
from bot.storage import repos, staff_repo, tables

log = logging.getLogger(__name__)

ERASED_REF = "erased"  # an attachment's ref once its file is gone
# The keys of a request event's data that are anonymous facts (statuses, rules, dates, grounds, ids of files and
# staff): every other key (the texts of answers, clarifications, replies, notes, refusal reasons) is erased.
EVENT_FACTS = frozenset({"from", "to", "rule", "start", "due_on", "skipped", "ground", "exception", "reason",
                         "rating", "files", "from_code", "to_code", "fields", "what"})
MIN_SCRUB = 4  # shorter values ("oui", "1") are not cut out of staff messages: they would mangle every text
FIELDS = {"name": "requester_name", "id_number": "id_number", "contact": "contact"}


def delete_files(uploads_dir: Path, refs: Iterable[str]) -> int:
    """Remove the uploads-folder files of these refs ('file:<name>'); others and missing ones are skipped."""
    removed = 0
    for ref in refs:
        path = media.path_of(uploads_dir, ref)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def erase_attachment_rows(rows: Iterable[tables.Attachment], uploads_dir: Path) -> int:
    """Delete the files of these attachments and forget their refs; returns how many files were removed.

    Files go before the transaction commits: should it roll back, the rows still point at files already gone,
    which errs on the side of the erasure asked for."""
    rows = list(rows)
    removed = delete_files(uploads_dir, [row.ref for row in rows if row.ref != ERASED_REF])
    for row in rows:
        if row.ref != ERASED_REF or row.mime is not None or row.size is not None:
            row.ref, row.mime, row.size = ERASED_REF, None, None
    return removed


def redact_event_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """An event's data with only its anonymous facts (`EVENT_FACTS`)."""
    return {key: value for key, value in (data or {}).items() if key in EVENT_FACTS}


def erase_loaded_personal(request: tables.Request, events: Iterable[tables.RequestEvent], now: datetime, *,
                          keep_subject: bool = False) -> None:
    """Erase the requester details, location and texts of a loaded request and its loaded events, keeping the
    anonymous facts and, with `keep_subject`, what it asks (the retention purge calls this on whole batches)."""
    request.requester_name = request.id_number = request.contact = None
    request.lat = request.lon = None
    request.access_code_hash = None
    if not keep_subject:
        if request.subject:
            request.subject = ""
        # The retention purge (bot/services/retention.py) then has nothing left to do on this request.
        request.personal_purged_at = request.personal_purged_at or now
    for event in events:
        kept = redact_event_data(event.data)
        if kept != (event.data or {}):
            event.data = kept


async def erase_request_personal(session: AsyncSession, request: tables.Request, now: datetime,
                                 uploads_dir: Path | None = None, *, keep_subject: bool = False) -> None:
    """Erase what concerns the person in one request and its history (requester details, location, texts, files
    when `uploads_dir` is given), keeping its anonymous facts and, with `keep_subject`, what it asks."""
    events = await session.scalars(select(tables.RequestEvent).where(tables.RequestEvent.request_id == request.id))
    erase_loaded_personal(request, events, now, keep_subject=keep_subject)
    if uploads_dir is not None:
        erase_attachment_rows(await session.scalars(
            select(tables.Attachment).where(tables.Attachment.request_id == request.id)), uploads_dir)
        request.files_purged_at = request.files_purged_at or now


async def erase_identity_texts(session: AsyncSession, identity_id: int, uploads_dir: Path | None = None) -> None:
    """Erase what one identity's conversation left: the texts it sent, every message sent to it (outbox and web
    transcript), its conversation's answers, its WhatsApp profile name and processed webhook bodies, and
    (with `uploads_dir`) the files it sent. The identity itself stays, so the person can go on writing."""
    await session.execute(update(tables.InboundMessage).where(tables.InboundMessage.identity_id == identity_id,
                                                              tables.InboundMessage.text.is_not(None))
                          .values(text=None).execution_options(synchronize_session=False))
    # Outbox rows are emptied, not deleted: their ids stay, so the next ones still come after a page's cursor.
    for message in await session.scalars(select(tables.OutboxMessage)
                                         .where(tables.OutboxMessage.identity_id == identity_id)):
        if message.payload.get("erased"):
            continue
        message.payload = {"text": "", "locale": message.payload.get("locale"), "options": [], "version": None,
                           "erased": True}
        if message.status in ("pending", "waiting"):  # nothing left to deliver
            message.status, message.last_error = "failed", "erased"
    await session.execute(delete(tables.WebTranscript).where(tables.WebTranscript.identity_id == identity_id))
    row = await session.get(tables.Conversation, identity_id)
    if row is not None:
        state = row.state or {}
        row.state = {"flow": None, "step": None, "answers": {}, "scratch": {}, "history": [],
                     "locale": state.get("locale"), "locale_confirmed": bool(state.get("locale_confirmed")),
                     "version": row.version + 1}
        row.version += 1  # buttons shown before the erasure are stale
    contact = await session.get(tables.WhatsAppContact, identity_id)
    if contact is not None:
        contact.username = None
        await erase_webhook_bodies(session, [value for value in (contact.wa_id, contact.bsuid) if value])
    if uploads_dir is not None:
        erase_attachment_rows(await session.scalars(
            select(tables.Attachment).where(tables.Attachment.identity_id == identity_id)), uploads_dir)


async def erase_webhook_bodies(session: AsyncSession, addresses: Collection[str]) -> int:
    """Delete the processed webhook bodies that name one of these WhatsApp addresses (each message from a person
    carries their number or user id); returns how many."""
    needles = [address.encode() for address in addresses if address]
    if not needles:
        return 0
    rows = await session.execute(select(tables.WebhookDelivery.id, tables.WebhookDelivery.body)
                                 .where(tables.WebhookDelivery.processed_at.is_not(None)))
    doomed = [row_id for row_id, body in rows if any(needle in bytes(body) for needle in needles)]
    if doomed:
        await session.execute(delete(tables.WebhookDelivery).where(tables.WebhookDelivery.id.in_(doomed)))
    return len(doomed)


def scrub(value: Any, secrets: Collection[str]) -> Any:
    """`value` (JSON) with every occurrence of the secrets cut out of its strings."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "…")
        return value
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    return value


async def scrub_staff_copies(session: AsyncSession, secrets: Collection[str]) -> int:
    """Cut these values out of what staff were sent or have in their conversations (the inbox shows a request's
    details); returns how many rows changed."""
    ordered = sorted({secret for secret in secrets if len(secret) >= MIN_SCRUB}, key=len, reverse=True)
    if not ordered:
        return 0
    staff = select(tables.Staff.identity_id).where(tables.Staff.identity_id.is_not(None))
    changed = 0
    outbox = await session.scalars(select(tables.OutboxMessage).where(tables.OutboxMessage.identity_id.in_(staff)))
    # A clerk on the web sees their messages again from the transcript table: it is scrubbed too.
    shown = await session.scalars(select(tables.WebTranscript).where(tables.WebTranscript.identity_id.in_(staff)))
    rows: list[tables.OutboxMessage | tables.WebTranscript] = [*outbox, *shown]
    for row in rows:
        payload = scrub(row.payload, ordered)
        if payload != row.payload:
            row.payload, changed = payload, changed + 1
    for conversation in await session.scalars(select(tables.Conversation)
                                              .where(tables.Conversation.identity_id.in_(staff))):
        state = scrub(conversation.state, ordered)
        if state != conversation.state:
            conversation.state, changed = state, changed + 1
    return changed


def _texts(value: Any) -> Iterable[str]:
    """The strings inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)


async def secrets_of(session: AsyncSession, requests: list[tables.Request], identity_ids: list[int],
                     keep_subjects: Collection[int] = ()) -> set[str]:
    """The values of a person that staff may have been shown: requester details, subjects (but those kept), the
    texts of their requests' events, the refs of their files (staff never see the raw messages)."""
    found: set[str] = set()
    for request in requests:
        found.update(value for value in (request.requester_name, request.id_number, request.contact) if value)
        if request.id not in keep_subjects and request.subject:
            found.add(request.subject)
    request_ids = [request.id for request in requests]
    if request_ids:
        for event in await session.scalars(select(tables.RequestEvent)
                                           .where(tables.RequestEvent.request_id.in_(request_ids))):
            data = event.data or {}
            found.update(_texts({key: value for key, value in data.items() if key not in EVENT_FACTS}))
    owned = select(tables.Attachment.ref).where(
        (tables.Attachment.identity_id.in_(identity_ids)) | (tables.Attachment.request_id.in_(request_ids)))
    found.update(ref for ref in await session.scalars(owned) if ref != ERASED_REF)
    return found


class Privacy:
    """Correction, consent withdrawal and forgetting, in the turn's transaction, with the notices they call for."""

    def __init__(self, directory: Directory, lifecycle: Lifecycle, uploads_dir: Path | None,
                 default_locale: str) -> None:
        self.directory = directory
        self.lifecycle = lifecycle
        self.uploads_dir = uploads_dir
        self.default_locale = default_locale

    async def requests_of(self, session: AsyncSession, citizen_id: int) -> list[tables.Request]:
        return list(await session.scalars(select(tables.Request).where(tables.Request.citizen_id == citizen_id)
                                          .order_by(tables.Request.id).with_for_update()))

    async def tell_handlers(self, session: AsyncSession, request: tables.Request, now: datetime,
                            build: Callable[[Translator], Outbound]) -> None:
        """Tell the staff handling the request (assigned member, else its clerks, else coordinators)."""
        members = request_handlers(await staff_repo.active_members(session), self.directory,
                                   request.collectivity_code, request.assigned_staff_id)
        await self.lifecycle.tell_staff(session, members, now, build)

    async def correct(self, session: AsyncSession, identity: tables.Identity, effect: CorrectDetail,
                      now: datetime) -> None:
        """Replace the field on every request of the citizen that holds one; the open ones' handlers are told."""
        column = FIELDS.get(effect.field)
        if column is None:
            return
        t = translator(effect.locale)
        count = told = 0
        for request in await self.requests_of(session, identity.citizen_id):
            # The card number belongs on access requests only (the form asks it there alone).
            if getattr(request, column) is None or (effect.field == "id_number" and request.kind != Kind.ACCESS):
                continue
            count += 1
            if getattr(request, column) == effect.value:
                continue
            setattr(request, column, effect.value)
            await self.lifecycle.record(session, request, "details_corrected", f"citizen:{identity.citizen_id}",
                                        now, {"fields": [effect.field]})
            if request.status in OPEN_STATUSES:
                told += 1
                await self.tell_handlers(session, request, now, partial(
                    privacy_texts.staff_corrected, reference=request.reference, field=effect.field))
        log.info("details corrected citizen=%s field=%s requests=%d told=%d", identity.citizen_id, effect.field,
                 count, told)
        await repos.enqueue(session, identity.id, identity.channel, privacy_texts.corrected(t, effect.field, count,
                                                                                            told), now)

    async def withdraw_consent(self, session: AsyncSession, identity: tables.Identity, effect: WithdrawConsent,
                               now: datetime) -> None:
        """Object to one kind of optional data: erased from the citizen's requests (the open ones' handlers are
        told) and remembered on the citizen, so that no form asks for it again; `restore` lifts the objection."""
        if effect.what not in OBJECTIONS:
            return
        t = translator(effect.locale)
        citizen = await session.get(tables.Citizen, identity.citizen_id)
        if citizen is None:
            return
        kept = set(objections_of(citizen))
        if effect.restore:
            kept.discard(effect.what)
            citizen.objections = ",".join(what for what in OBJECTIONS if what in kept) or None
            log.info("objection lifted citizen=%s what=%s", identity.citizen_id, effect.what)
            await repos.enqueue(session, identity.id, identity.channel,
                                privacy_texts.objection_lifted(t, effect.what), now)
            return
        kept.add(effect.what)
        citizen.objections = ",".join(what for what in OBJECTIONS if what in kept)
        count = told = 0
        for request in await self.requests_of(session, identity.citizen_id):
            if not await self.erase_optional(session, request, effect.what):
                continue
            count += 1
            await self.lifecycle.record(session, request, "consent_withdrawn", f"citizen:{identity.citizen_id}",
                                        now, {"what": effect.what})
            if request.status in OPEN_STATUSES:
                told += 1
                await self.tell_handlers(session, request, now, partial(
                    privacy_texts.staff_optional_erased, reference=request.reference, what=effect.what))
        log.info("consent withdrawn citizen=%s what=%s requests=%d told=%d", identity.citizen_id, effect.what,
                 count, told)
        await repos.enqueue(session, identity.id, identity.channel,
                            privacy_texts.optional_erased(t, effect.what, count, told), now)

    async def erase_optional(self, session: AsyncSession, request: tables.Request, what: str) -> bool:
        """Erase the optional `what` from one request; False when it held none."""
        if what == "contact":  # optional on complaints, observations and suggestions only; required for access
            if request.kind not in FEEDBACK_KINDS or request.contact is None:
                return False
            request.contact = None
            return True
        if what == "location":
            if request.lat is None and request.lon is None:
                return False
            request.lat = request.lon = None
            return True
        if what == "photos" and self.uploads_dir is not None:
            rows = [row for row in await session.scalars(select(tables.Attachment).where(
                tables.Attachment.request_id == request.id, tables.Attachment.identity_id == request.identity_id,
                tables.Attachment.ref != ERASED_REF))]
            erase_attachment_rows(rows, self.uploads_dir)
            return bool(rows)
        return False

    async def forget(self, session: AsyncSession, identity: tables.Identity, effect: Forget, now: datetime) -> None:
        """Erase the citizen but the anonymous facts of their requests; open ones are withdrawn or kept (and stay
        answerable here); every identity of theirs moves to a new, empty citizen."""
        old = await session.get(tables.Citizen, identity.citizen_id, with_for_update=True)
        if old is None:
            return
        requests = await self.requests_of(session, old.id)
        identities = list(await session.scalars(select(tables.Identity).where(tables.Identity.citizen_id == old.id)))
        withdrawn: list[str] = []
        kept: list[tables.Request] = []
        actor = f"citizen:{old.id}"
        for request in requests:
            if request.status not in OPEN_STATUSES:
                continue
            withdraw = effect.open_requests == "withdraw" and Action.WITHDRAW in allowed(request.kind, request.status)
            if withdraw:
                await self.lifecycle.apply(session, request, Action.WITHDRAW, actor, now)
                request.closed_at = now
                withdrawn.append(request.reference)
            else:
                kept.append(request)
            await self.tell_handlers(session, request, now, partial(
                privacy_texts.staff_forgotten, reference=request.reference, withdrawn=withdraw))
        keep = {request.id for request in kept}
        secrets = await secrets_of(session, requests, [row.id for row in identities], keep)
        for request in requests:
            await erase_request_personal(session, request, now, self.uploads_dir, keep_subject=request.id in keep)
        for row in identities:
            await erase_identity_texts(session, row.id, self.uploads_dir)
        await scrub_staff_copies(session, secrets)
        fresh = tables.Citizen(locale=old.locale, created_at=now)
        session.add(fresh)
        await session.flush()
        for row in identities:
            row.citizen_id = fresh.id
        for request in kept:  # still theirs: the answer, its rating and the remedies reach them here
            request.citizen_id = fresh.id
        old.locale, old.forgotten_at = None, now
        log.info("citizen forgotten citizen=%s new=%s identities=%d requests=%d withdrawn=%d kept=%d", old.id,
                 fresh.id, len(identities), len(requests), len(withdrawn), len(kept))
        t = translator(effect.locale)
        await repos.enqueue(session, identity.id, identity.channel,
                            privacy_texts.forgotten(t, withdrawn, [request.reference for request in kept]), now)


def objections_of(citizen: tables.Citizen) -> tuple[str, ...]:
    """The optional data the citizen objected to, in OBJECTIONS order."""
    stored = set((citizen.objections or "").split(","))
    return tuple(what for what in OBJECTIONS if what in stored)


def dumps(value: Any) -> str:
    """JSON as the export files write it (UTF-8 text, readable)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
