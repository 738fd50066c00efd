"""`/mydata`: everything Bab holds about one citizen, gathered from their own rows only, said in plain words and
written as two files sent in the chat (JSON for machines, HTML to read).

Only the citizen's identities, requests (with their events), files, messages and conversations are read; staff
are named by their role, never by name or id, and internal notes of the collectivity are left out.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.directory import Directory
from bot.flows.labels import kind_label, status_label
from bot.flows.places import local_name
from bot.flows.privacy_texts import OPTIONAL_NAMES
from bot.flows.spec import FileRef, Outbound, ShowMyData
from bot.i18n import N_, Translator, translator
from bot.services import media
from bot.services.privacy import (
    ERASED_REF,
    EVENT_FACTS,
    delete_files,
    dumps,
    objections_of,
)
from bot.storage import repos, tables

log = logging.getLogger(__name__)

EXPORT_KIND = "export"  # the attachments that are /mydata files: replaced by each new export, never listed
# Internal to the collectivity (a clerk's note, who it was assigned to): not data the citizen gave or was sent.
INTERNAL_EVENTS = frozenset({"note", "assigned"})


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _by(actor: str) -> str:
    """Who did it, without naming anyone else: the citizen, the collectivity, or Bab itself."""
    if actor.startswith("citizen:"):
        return "you"
    if actor.startswith("staff:"):
        return "collectivity"
    return "bab"


def _masked(channel: str, external_id: str) -> str:
    """An account's id as the person knows it (their Telegram chat id); a web chat's, the hash of the browser's
    secret cookie, only as its last characters."""
    return f"…{external_id[-4:]}" if channel == "web" else external_id


async def collect(session: AsyncSession, citizen_id: int, directory: Directory) -> dict[str, Any]:
    """Everything held about the citizen, as JSON-ready data."""
    citizen = await session.get(tables.Citizen, citizen_id)
    identities = list(await session.scalars(select(tables.Identity).where(tables.Identity.citizen_id == citizen_id)
                                            .order_by(tables.Identity.id)))
    identity_ids = [row.id for row in identities]
    requests = list(await session.scalars(select(tables.Request).where(tables.Request.citizen_id == citizen_id)
                                          .order_by(tables.Request.id)))
    references = {row.id: row.reference for row in requests}
    events: dict[int, list[dict[str, Any]]] = {row.id: [] for row in requests}
    if requests:
        for event in await session.scalars(select(tables.RequestEvent).where(
                tables.RequestEvent.request_id.in_(list(references))).order_by(tables.RequestEvent.id)):
            data = {} if event.kind in INTERNAL_EVENTS else {
                key: value for key, value in (event.data or {}).items()
                if key in EVENT_FACTS - {"files"} or key in ("text", "reason_text")}
            events[event.request_id].append({"at": _at(event.at), "what": event.kind, "by": _by(event.actor),
                                             **({"data": data} if data else {})})
    files = list(await session.scalars(select(tables.Attachment).where(
        or_(tables.Attachment.identity_id.in_(identity_ids), tables.Attachment.request_id.in_(list(references))),
        tables.Attachment.kind != EXPORT_KIND).order_by(tables.Attachment.id)))
    received = list(await session.scalars(select(tables.InboundMessage).where(
        tables.InboundMessage.identity_id.in_(identity_ids)).order_by(tables.InboundMessage.id)))
    sent = list(await session.scalars(select(tables.OutboxMessage).where(
        tables.OutboxMessage.identity_id.in_(identity_ids)).order_by(tables.OutboxMessage.id)))
    conversations = list(await session.scalars(select(tables.Conversation).where(
        tables.Conversation.identity_id.in_(identity_ids))))
    contacts = {row.identity_id: row for row in await session.scalars(select(tables.WhatsAppContact).where(
        tables.WhatsAppContact.identity_id.in_(identity_ids)))}
    _, profile = await repos.citizen_requests(session, citizen_id)
    places = {row.collectivity_code: found.name_fr for row in requests
              if (found := directory.get(row.collectivity_code)) is not None}
    return {
        "citizen": {"since": _at(citizen.created_at) if citizen else None, "language": citizen.locale if citizen else None,
                    # What they objected to (law 09-08): the forms no longer ask for it.
                    "objections": list(objections_of(citizen)) if citizen else []},
        "identities": [{
            "channel": row.channel, "id": _masked(row.channel, repos.address_of(row)), "since": _at(row.created_at),
            "last_seen": _at(row.last_seen_at),
            **({"whatsapp": {"number": contacts[row.id].wa_id, "user_id": contacts[row.id].bsuid,
                             "username": contacts[row.id].username}} if row.id in contacts else {}),
        } for row in identities],
        "profile": {"name": profile.name, "id_number": profile.id_number, "contact": profile.contact}
        if profile else None,
        "requests": [{
            "reference": row.reference, "kind": row.kind, "status": row.status,
            "collectivity": {"code": row.collectivity_code, "name": places.get(row.collectivity_code)},
            "subject": row.subject, "service": row.service, "delivery": row.delivery, "urgent": row.urgent,
            "name": row.requester_name, "id_number": row.id_number, "contact": row.contact,
            "location": {"lat": row.lat, "lon": row.lon} if row.lat is not None else None,
            "received_at": _at(row.received_at), "due_on": row.due_on.isoformat(), "answered_at": _at(row.answered_at),
            "closed_at": _at(row.closed_at), "rating": row.rating, "events": events[row.id],
        } for row in requests],
        "files": [{
            "id": row.id, "kind": row.kind, "type": row.mime, "size": row.size, "received_at": _at(row.created_at),
            "request": references.get(row.request_id or 0), "from": "you" if row.identity_id in identity_ids
            else "collectivity", "erased": row.ref == ERASED_REF,
        } for row in files],
        "messages_from_you": [{"at": _at(row.created_at), "kind": row.kind, "text": row.text} for row in received],
        "messages_to_you": [{"at": _at(row.created_at), "text": str(row.payload.get("text") or "")} for row in sent],
        "conversations": [{"flow": (row.state or {}).get("flow"), "step": (row.state or {}).get("step"),
                           "answers": (row.state or {}).get("answers") or {},
                           # forms left for a notice's button (bot/flows/engine.py `suspend`), kept to continue
                           "kept_forms": [draft.get("answers") or {} for draft in
                                          (row.state or {}).get("suspended") or []]} for row in conversations],
    }


def summary(t: Translator, data: dict[str, Any], directory: Directory) -> str:
    """The data held, in plain words, for the chat message that carries the files."""
    lines = [t(N_("Here is what Bab holds about you:"))]
    channels = {"web": N_("the web chat"), "telegram": N_("your Telegram account"),
                "whatsapp": N_("your WhatsApp number"), "console": N_("the terminal chat")}
    lines.append(t(N_("• Accounts: {channels}"), channels=", ".join(
        t(channels.get(row["channel"], row["channel"])) for row in data["identities"])))
    profile = data["profile"]
    if profile:
        lines.append(t(N_("• Your details: {name}, card {id_number}, contact {contact}"), **profile))
    objected = data["citizen"].get("objections") or []
    if objected:
        lines.append(t(N_("• Not asked any more, as you objected: {what}"),
                       what=", ".join(t(OPTIONAL_NAMES[what]) for what in objected if what in OPTIONAL_NAMES)))
    for request in data["requests"]:
        place = directory.get(request["collectivity"]["code"])
        lines.append(t(N_("• {reference}: {kind} to {place}, {status}; {events} steps recorded"),
                       reference=request["reference"], kind=kind_label(request["kind"], t),
                       place=local_name(place, t) if place else request["collectivity"]["code"],
                       status=status_label(request["status"], t), events=len(request["events"])))
    if not data["requests"]:
        lines.append(t(N_("• Requests: none")))
    lines.append(t(N_("• Files: {count}"), count=sum(1 for row in data["files"] if not row["erased"])))
    lines.append(t(N_("• Messages kept: {received} from you, {sent} from Bab"),
                   received=len(data["messages_from_you"]), sent=len(data["messages_to_you"])))
    lines.append(t(N_("The two files attached hold all of it: the JSON one for a computer, the HTML one to read. "
                      "Nothing about anyone else is in them.")))
    return "\n".join(lines)


def _html_value(value: Any) -> str:
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{html.escape(str(key))}</th><td>{_html_value(item)}</td></tr>"
                       for key, item in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        return "<ol>" + "".join(f"<li>{_html_value(item)}</li>" for item in value) + "</ol>" if value else "—"
    return "—" if value is None else html.escape(str(value))


def to_html(t: Translator, data: dict[str, Any]) -> str:
    """A self-contained page to read (every value escaped, no script allowed to run)."""
    sections = {
        "identities": N_("Accounts"), "citizen": N_("Your profile"), "profile": N_("Your details"),
        "requests": N_("Requests"), "files": N_("Files"), "messages_from_you": N_("Messages you sent"),
        "messages_to_you": N_("Messages Bab sent you"), "conversations": N_("Conversation in progress"),
    }
    body = "".join(f"<h2>{html.escape(t(title))}</h2>{_html_value(data.get(key))}" for key, title in sections.items())
    title = html.escape(t(N_("Your data held by Bab")))
    return (f'<!doctype html><html lang="{t.locale}" dir="{t.direction}"><head><meta charset="utf-8">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{title}</title><style>body{{font-family:sans-serif;max-width:60em;margin:auto}}"
            "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2em .4em;text-align:start;"
            f"vertical-align:top}}</style></head><body><h1>{title}</h1>{body}</body></html>")


@dataclass(frozen=True, slots=True)
class Export:
    """Writes the /mydata files into the uploads folder and sends them with the summary."""

    directory: Directory
    uploads_dir: Path | None

    async def show(self, session: AsyncSession, identity: tables.Identity, effect: ShowMyData, now: datetime) -> None:
        """Queue the summary, with the two files when there is an uploads folder to keep them in."""
        t = translator(effect.locale)
        data = {"generated_at": now.isoformat(), **await collect(session, identity.citizen_id, self.directory)}
        files: tuple[FileRef, ...] = ()
        if self.uploads_dir is not None:
            await self.drop_old(session, identity.id)
            files = (await self.write(session, identity, "json", "application/json", dumps(data), now),
                     await self.write(session, identity, "html", "text/html; charset=utf-8", to_html(t, data), now))
        await repos.enqueue(session, identity.id, identity.channel,
                            Outbound(text=summary(t, data, self.directory), locale=t.locale, files=files), now)
        log.info("data shown citizen=%s requests=%d files=%d", identity.citizen_id, len(data["requests"]), len(files))

    async def write(self, session: AsyncSession, identity: tables.Identity, extension: str, mime: str, text: str,
                    now: datetime) -> FileRef:
        assert self.uploads_dir is not None
        content = text.encode("utf-8")
        name = media.write(self.uploads_dir, content, extension)
        row = tables.Attachment(identity_id=identity.id, kind=EXPORT_KIND, ref=f"file:{name}", mime=mime,
                                size=len(content), created_at=now)
        session.add(row)
        await session.flush()
        return FileRef(id=row.id, kind="document", ref=row.ref, mime=mime, name=f"bab-my-data.{extension}")

    async def drop_old(self, session: AsyncSession, identity_id: int) -> None:
        """An earlier export is a copy of the data kept for nothing: its files go when a new one is made."""
        rows = list(await session.scalars(select(tables.Attachment).where(
            tables.Attachment.identity_id == identity_id, tables.Attachment.kind == EXPORT_KIND,
            tables.Attachment.ref != ERASED_REF)))
        assert self.uploads_dir is not None
        delete_files(self.uploads_dir, [row.ref for row in rows])
        for row in rows:
            await session.delete(row)
