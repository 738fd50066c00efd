"""Handle one inbound message: load the state, advance the flow, carry out its effects, commit once.

Knows nothing of Telegram, WhatsApp or the web: adapters give it an Inbound and get messages via the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import flows  # noqa: F401  (registers the flows)
from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import CASABLANCA, RULES, due_date
from bot.domain.directory import Directory
from bot.domain.requests import WITHDRAWABLE, Status, new_reference
from bot.domain.validation import MAX_MESSAGE_CHARS
from bot.flows.engine import Context, advance
from bot.flows.places import place_label
from bot.flows.receipts import not_withdrawable, receipt, withdrawn
from bot.flows.spec import Inbound, Outbound, Send, SetLocale, State, Submit, Withdraw
from bot.i18n import translator
from bot.services.clock import Clock
from bot.storage import repos, tables

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """A file the adapter has stored (or a channel file id) to record with the message."""

    kind: str
    ref: str
    mime: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Handled:
    """What came of one inbound message."""

    identity_id: int
    duplicate: bool = False


class Conversations:
    """The citizen-facing core: one transaction per inbound message."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, calendar: WorkingCalendar,
                 clock: Clock, default_locale: str, on_bab: set[str] | None = None,
                 notify: Callable[[], None] = lambda: None) -> None:
        self.sessions = sessions
        self.directory = directory
        self.calendar = calendar
        self.clock = clock
        self.default_locale = default_locale
        self.on_bab = on_bab or set()
        self.notify = notify

    async def handle(self, channel: str, external_id: str, inbound: Inbound, message_id: str | None = None,
                     attachment: NewAttachment | None = None) -> Handled:
        """Apply `inbound` from (channel, external_id); its replies are in the outbox when this returns."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            identity = await repos.identity_for(session, channel, external_id, now)
            stored_text = inbound.text[:MAX_MESSAGE_CHARS] if inbound.text else inbound.choice_id
            if not await repos.record_inbound(session, identity.id, channel, inbound.kind.value, stored_text,
                                              message_id, now):
                log.info("duplicate inbound channel=%s message=%s", channel, message_id)
                return Handled(identity.id, duplicate=True)
            if attachment is not None:
                attachment_id = await repos.add_attachment(session, identity.id, attachment.kind, attachment.ref,
                                                           attachment.mime, attachment.size, now)
                inbound = replace(inbound, attachment_id=attachment_id)
            row = await repos.conversation_for_update(session, identity.id)
            state = State.from_json(row.state if row else None)
            ctx = Context(
                directory=self.directory,
                default_locale=self.default_locale,
                requests=await repos.request_views(session, identity.citizen_id),
                profile=await repos.last_profile(session, identity.citizen_id),
            )
            new_state, effects = advance(state, inbound, ctx)
            for effect in effects:
                if isinstance(effect, Send):
                    await repos.enqueue(session, identity.id, channel, effect.message, now)
                elif isinstance(effect, SetLocale):
                    citizen = await session.get(tables.Citizen, identity.citizen_id)
                    if citizen is not None:
                        citizen.locale = effect.locale
                elif isinstance(effect, Submit):
                    await self.submit(session, identity, effect)
                elif isinstance(effect, Withdraw):
                    await self.withdraw(session, identity, effect)
            await repos.save_conversation(session, identity.id, row, new_state.to_json(), new_state.version, now)
            log.info("handled channel=%s identity=%s flow=%s step=%s version=%s", channel, identity.id,
                     new_state.flow, new_state.step, new_state.version)
        self.notify()
        return Handled(identity.id)

    async def locale_of(self, channel: str, external_id: str) -> str:
        """The language the identity's conversation is in (the default before the first message)."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, channel, external_id)
            if identity is None:
                return self.default_locale
            row = await session.get(tables.Conversation, identity.id)
            return State.from_json(row.state if row else None).locale or self.default_locale

    async def submit(self, session: AsyncSession, identity: tables.Identity, effect: Submit) -> None:
        """File the request and queue its receipt, in the caller's transaction."""
        now = self.clock.now()
        answers = effect.answers
        place = self.directory.get(str(answers.get("place")))
        if place is None:  # the directory changed under the conversation: refuse rather than misroute
            t = translator(effect.locale)
            await repos.enqueue(session, identity.id, identity.channel, Outbound(
                text=t("Sorry, I could not file this: the collectivity is no longer in the directory. "
                       "Please start again."), locale=t.locale), now)
            return
        urgent = answers.get("urgent") == "yes"
        rule_id = ("urgent" if urgent else "access") if effect.kind == "access" else "feedback_answer"
        due = due_date(RULES[rule_id], now, self.calendar)
        reference = new_reference()
        while await repos.reference_taken(session, reference):
            reference = new_reference()
        subject = str(answers.get("topic") if effect.kind == "access" else answers.get("description", ""))
        media = answers.get("media") if isinstance(answers.get("media"), dict) else {}
        request = tables.Request(
            reference=reference, kind=effect.kind, status=Status.SUBMITTED.value, citizen_id=identity.citizen_id,
            identity_id=identity.id, collectivity_code=place.code, locale=effect.locale, urgent=urgent,
            subject=subject, service=answers.get("service"), delivery=answers.get("delivery"),
            requester_name=answers.get("name"), id_number=answers.get("id_number"), contact=answers.get("contact"),
            lat=media.get("lat"), lon=media.get("lon"), deadline_rule=rule_id, received_at=now, due_on=due.due,
            created_at=now, updated_at=now,
        )
        session.add(request)
        await session.flush()
        if "attachment_id" in media:
            await repos.claim_attachment(session, int(media["attachment_id"]), identity.id, request.id)
        await repos.append_event(session, request.id, "submitted", f"citizen:{identity.citizen_id}", now, {
            "rule": rule_id, "start": due.start.isoformat(), "due_on": due.due.isoformat(),
            "skipped": [[day.day.isoformat(), day.reason] for day in due.skipped],
        })
        t = translator(effect.locale)
        text = receipt(t, kind=effect.kind, reference=reference, place=place_label(place, self.directory, t),
                       received_on=now.astimezone(CASABLANCA).date(), due_on=due.due, urgent=urgent,
                       on_bab=place.code in self.on_bab)
        await repos.enqueue(session, identity.id, identity.channel, Outbound(text=text, locale=t.locale), now)
        log.info("request filed reference=%s kind=%s collectivity=%s due=%s", reference, effect.kind, place.code,
                 due.due)

    async def withdraw(self, session: AsyncSession, identity: tables.Identity, effect: Withdraw) -> None:
        """Withdraw the citizen's own open request; anything else gets a refusal, never another's data."""
        now = self.clock.now()
        t = translator(effect.locale)
        request = await repos.request_by_reference(session, effect.reference)
        if request is None or request.citizen_id != identity.citizen_id or request.status not in WITHDRAWABLE:
            text = not_withdrawable(t, effect.reference)
        else:
            request.status, request.updated_at = Status.WITHDRAWN.value, now
            await repos.append_event(session, request.id, "withdrawn", f"citizen:{identity.citizen_id}", now)
            text = withdrawn(t, request.reference)
            log.info("request withdrawn reference=%s", request.reference)
        await repos.enqueue(session, identity.id, identity.channel, Outbound(text=text, locale=t.locale), now)
