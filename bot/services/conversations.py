"""Handle one inbound message: load the state, advance the flow, carry out its effects, commit once.

Knows nothing of Telegram, WhatsApp or the web: adapters give it an Inbound and get messages via the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import flows  # noqa: F401  (registers the flows)
from bot.domain.access_codes import code_hash, new_code, receipt_card
from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import (
    CASABLANCA,
    RULES,
    Rule,
    due_date,
    request_due,
    rule_for,
)
from bot.domain.directory import Directory
from bot.domain.lifecycle import RATINGS, Action, allowed
from bot.domain.privacy_facts import PrivacyFacts
from bot.domain.remedies import DECIDED, can_complain_to_head, can_go_to_cdai
from bot.domain.requests import OPEN_STATUSES, Kind, Status, new_reference
from bot.domain.staff import StaffMember, covers, request_handlers
from bot.domain.validation import MAX_MESSAGE_CHARS
from bot.flows import notices
from bot.flows.engine import STAFF_COMMANDS, Context, advance, global_command, move
from bot.flows.explain import explain_due
from bot.flows.places import place_label
from bot.flows.receipts import chafafiya_text, not_withdrawable, receipt, withdrawn
from bot.flows.spec import (
    CorrectDetail,
    CorrectHoliday,
    DeskAct,
    DeskDenied,
    DeskShow,
    Explain,
    Forget,
    Inbound,
    InboundKind,
    Outbound,
    Rate,
    Reply,
    RequestView,
    Send,
    SetLocale,
    ShowMyData,
    State,
    Submit,
    Withdraw,
    WithdrawConsent,
)
from bot.flows.templates import RESUME
from bot.i18n import N_, translator
from bot.services import staff as staff_service
from bot.services.calendar_admin import CalendarAdmin, CalendarError, Change
from bot.services.clock import Clock
from bot.services.desk import Desk
from bot.services.lifecycle import Lifecycle
from bot.services.privacy import Privacy, delete_files
from bot.services.privacy_export import Export
from bot.services.throttle import Throttle
from bot.services.transparency import Transparency
from bot.storage import repos, staff_repo, tables, transcript_repo

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

    identity_id: int | None  # None when the message was not read (throttled)
    duplicate: bool = False
    throttled: bool = False


class Conversations:
    """The core every channel calls: one transaction per inbound message, for citizens and staff alike."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, calendar: WorkingCalendar,
                 clock: Clock, default_locale: str, notify: Callable[[], None] = lambda: None,
                 rules: Mapping[str, Rule] = RULES,
                 on_linked: Callable[[str, str, str], Awaitable[None]] | None = None,
                 calendar_admin: CalendarAdmin | None = None, *, lifecycle: Lifecycle,
                 transparency: Transparency, throttle: Throttle | None = None,
                 uploads_dir: Path | None = None, privacy_facts: PrivacyFacts | None = None) -> None:
        self.sessions = sessions
        self.directory = directory
        self.calendar = calendar
        self.clock = clock
        self.default_locale = default_locale
        self.notify = notify
        self.rules = rules  # the deadline rules in force (the urgent unit is a setting)
        self.on_linked = on_linked  # a channel's follow-up when staff link an account (Telegram's command menu)
        self.calendar_admin = calendar_admin
        self.lifecycle = lifecycle  # the app's one lifecycle, shared with the calendar admin and the jobs
        self.throttle = throttle  # how fast one sender's messages are read (None: no limit)
        self.privacy_facts = privacy_facts or PrivacyFacts()  # what the notices say of retention, the CNDP receipt
        self.desk = Desk(directory, self.lifecycle, default_locale, transparency, uploads_dir=uploads_dir)
        # The citizen's rights over their data; without an uploads folder no file is written or deleted.
        self.rights = Privacy(directory, self.lifecycle, uploads_dir, default_locale)
        self.export = Export(directory, uploads_dir)
        self.uploads_dir = uploads_dir

    async def handle(self, channel: str, external_id: str, inbound: Inbound, message_id: str | None = None,
                     attachment: NewAttachment | None = None) -> Handled:
        """Apply `inbound` from (channel, external_id); its replies are in the outbox when this returns."""
        now = self.clock.now()
        if self.throttle is not None:
            verdict = self.throttle.check((channel, external_id), now.timestamp())
            if not verdict.read:
                log.info("throttled channel=%s told=%s", channel, verdict.tell)
                self._drop(attachment)
                if verdict.tell:
                    await self.tell_throttled(channel, external_id, now)
                return Handled(None, throttled=True)
        calendar_changes: list[tuple[date, date]] = []
        adopted: list[Change] = []
        async with self.sessions() as session, session.begin():
            # Each statement of a turn costs a round trip (a thread hop on SQLite): the identity, its
            # conversation and whether it is staff or has messages waiting come in one query.
            turn = await repos.open_turn(session, channel, external_id, now)
            identity = turn.identity
            stored_text = inbound.text[:MAX_MESSAGE_CHARS] if inbound.text else inbound.choice_id
            if inbound.kind is InboundKind.LOCATION and inbound.lat is not None and inbound.lon is not None:
                stored_text = f"{inbound.lat:.5f},{inbound.lon:.5f}"  # the web transcript shows it again
            if channel not in transcript_repo.TEXT_KEPT_CHANNELS:
                stored_text = None  # minimisation (law 09-08): nothing will show it again
            if not await repos.record_inbound(session, identity.id, channel, inbound.kind.value, stored_text,
                                              message_id, now):
                log.info("duplicate inbound channel=%s message=%s", channel, message_id)
                self._drop(attachment)  # the first delivery's copy is the one kept
                return Handled(identity.id, duplicate=True)
            # What waited for them to write again (WhatsApp's window) goes out before this turn's replies.
            released = await repos.release_waiting(session, identity.id, now) if turn.waiting else 0
            if released and inbound.kind is InboundKind.CHOICE and inbound.choice_id == RESUME:
                log.info("resumed channel=%s identity=%s released=%s", channel, identity.id, released)
                self.notify()
                return Handled(identity.id)
            if attachment is not None and attachment.kind == "photo" and "photos" in turn.objections:
                # The citizen objected to photos (law 09-08): none is kept, and the form says it does not take it.
                log.info("photo not kept (objection) channel=%s identity=%s", channel, identity.id)
                self._drop(attachment)
                attachment = None
            if attachment is not None:
                attachment_id = await repos.add_attachment(session, identity.id, attachment.kind, attachment.ref,
                                                           attachment.mime, attachment.size, now)
                inbound = replace(inbound, attachment_id=attachment_id)
            row = turn.conversation
            state = State.from_json(row.state if row else None)
            member = await staff_repo.member_for_identity(session, identity.id) if turn.staff else None
            new_state, just_linked = await self.staff_gate(session, identity, member, state, inbound, now)
            if new_state is None:
                views, profile = await repos.citizen_requests(session, identity.citizen_id)
                ctx = Context(
                    directory=self.directory,
                    default_locale=self.default_locale,
                    requests=self.with_remedies(views, now),
                    profile=profile,
                    staff_role=member.role.value if member else None,
                    rules=self.rules,
                    desk=await self.desk.data(session, member, state, inbound, now) if member else None,
                    privacy=self.privacy_facts,
                    objections=turn.objections,
                )
                new_state, effects = advance(state, inbound, ctx)
                for effect in effects:
                    await self.execute(session, identity, member, new_state, effect, now, calendar_changes)
                if calendar_changes and member is not None:
                    adopted = await self.correct_calendar(session, identity, member, new_state.locale,
                                                          calendar_changes, now)
            await repos.save_conversation(session, identity.id, row, new_state.to_json(), new_state.version, now)
            log.info("handled channel=%s identity=%s flow=%s step=%s version=%s", channel, identity.id,
                     new_state.flow, new_state.step, new_state.version)
        if self.calendar_admin is not None:
            for change in adopted:  # the running calendar takes a correction only once it is committed
                self.calendar_admin.adopt(change)
        self.notify()
        if just_linked and self.on_linked is not None:
            try:  # after the commit: the link stands even if the channel's follow-up fails
                await self.on_linked(channel, external_id, new_state.locale or self.default_locale)
            except Exception:
                log.exception("on_linked failed channel=%s identity=%s", channel, identity.id)
        return Handled(identity.id)

    def _drop(self, attachment: NewAttachment | None) -> None:
        """Delete the file a channel stored for a message that will not keep it (not read, a redelivery, or
        objected to): no row would ever point at it, so no purge would find it."""
        if attachment is not None and self.uploads_dir is not None:
            delete_files(self.uploads_dir, [attachment.ref])

    async def blocked(self, channel: str, external_id: str) -> None:
        """The person blocked Bab on this channel: nothing more is sent there until they write again."""
        async with self.sessions() as session, session.begin():
            await repos.mark_unreachable(session, channel, external_id)

    async def tell_throttled(self, channel: str, external_id: str, now: datetime) -> None:
        """Say once, in the person's language, that the messages sent too fast were not read."""
        async with self.sessions() as session, session.begin():
            identity = await repos.identity_for(session, channel, external_id, now)
            row = await session.get(tables.Conversation, identity.id)
            locale = State.from_json(row.state if row else None).locale or self.default_locale
            t = translator(locale)
            await repos.enqueue(session, identity.id, identity.channel, Outbound(text=t(N_(
                "You are sending messages faster than I can read them, so I did not read the last ones. Wait for "
                "my answer, then write again.")), locale=t.locale), now)
        self.notify()

    async def execute(self, session: AsyncSession, identity: tables.Identity, member: StaffMember | None,
                      state: State, effect: object, now: datetime,
                      calendar_changes: list[tuple[date, date]]) -> None:
        """Carry out one effect of a turn, in the turn's transaction."""
        if isinstance(effect, Send):
            await repos.enqueue(session, identity.id, identity.channel, effect.message, now)
        elif isinstance(effect, SetLocale):
            citizen = await session.get(tables.Citizen, identity.citizen_id)
            if citizen is not None:
                citizen.locale = effect.locale
        elif isinstance(effect, Submit):
            await self.submit(session, identity, effect)
        elif isinstance(effect, Withdraw):
            await self.withdraw(session, identity, effect)
        elif isinstance(effect, Reply):
            await self.reply(session, identity, effect, now)
        elif isinstance(effect, Rate):
            await self.rate(session, identity, effect, now)
        elif isinstance(effect, Explain):
            await self.explain(session, identity, effect, now)
        elif isinstance(effect, DeskShow) and member is not None:
            await self.desk.show(session, member, identity, state, now)
        elif isinstance(effect, DeskAct) and member is not None:
            await self.desk.execute(session, member, identity, state.locale or self.default_locale, effect, now)
        elif isinstance(effect, DeskDenied) and member is not None:
            await self.desk.deny(session, member, effect, now)
        elif isinstance(effect, CorrectHoliday) and member is not None:
            calendar_changes.append((effect.day, effect.target))
        elif isinstance(effect, ShowMyData | CorrectDetail | WithdrawConsent | Forget):
            await self.data_right(session, identity, effect, now)

    async def data_right(self, session: AsyncSession, identity: tables.Identity,
                         effect: ShowMyData | CorrectDetail | WithdrawConsent | Forget, now: datetime) -> None:
        """Carry out a citizen's right over their data (bot/services/privacy.py)."""
        if isinstance(effect, ShowMyData):
            await self.export.show(session, identity, effect, now)
        elif isinstance(effect, CorrectDetail):
            await self.rights.correct(session, identity, effect, now)
        elif isinstance(effect, WithdrawConsent):
            await self.rights.withdraw_consent(session, identity, effect, now)
        else:
            await self.rights.forget(session, identity, effect, now)

    async def correct_calendar(self, session: AsyncSession, identity: tables.Identity, member: StaffMember,
                               locale: str | None, changes: list[tuple[date, date]],
                               now: datetime) -> list[Change]:
        """Apply the holiday corrections chosen on the desk in the turn's transaction and tell the member what
        moved; the changes to adopt once it is committed."""
        t = translator(locale or self.default_locale)
        adopted: list[Change] = []
        for day, target in changes:
            if self.calendar_admin is None:
                text = t(N_("This change was not possible: the calendar cannot be corrected from here."))
            else:
                try:
                    change = await self.calendar_admin.correct(session, day, target, member.actor, now)
                    adopted.append(change)
                    moved = len(change.moved)
                    text = t.ngettext("Done: the holiday is on {date}; {count} open due date was recomputed and the "
                                      "people concerned told.", "Done: the holiday is on {date}; {count} open due "
                                      "dates were recomputed and the people concerned told.", moved,
                                      date=t.date(target), count=moved)
                except CalendarError:
                    log.warning("calendar correction refused actor=%s day=%s", member.actor, day)
                    text = t(N_("This change was not possible: the calendar cannot be corrected from here."))
            await repos.enqueue(session, identity.id, identity.channel, Outbound(text=text, locale=t.locale), now)
        return adopted

    async def staff_gate(self, session: AsyncSession, identity: tables.Identity, member: StaffMember | None,
                         state: State, inbound: Inbound, now: datetime) -> tuple[State | None, bool]:
        """Invite codes and revoked accounts: the new state when it handled the message itself (else None), and
        whether the message linked the account to a staff member."""
        t = translator(state.locale or self.default_locale)
        code = staff_service.invite_code_in(inbound.text) if inbound.kind is InboundKind.TEXT else None
        if code is not None:
            staff = await staff_service.link(session, identity, code, now)
            if staff is None:
                await repos.enqueue(session, identity.id, identity.channel, notices.invite_refused(t), now)
                return state, False
            await repos.enqueue(session, identity.id, identity.channel, notices.staff_linked(t, staff.role, staff.name), now)
            new_state = State.from_json(state.to_json())
            new_state.locale = new_state.locale or t.locale
            move(new_state, "desk:list", fresh=True)
            linked_member = await staff_repo.member_for_identity(session, identity.id)
            if linked_member is not None:
                await self.desk.show(session, linked_member, identity, new_state, now)
            return new_state, True
        if member is not None:
            return None, False
        staff_command = inbound.kind is InboundKind.TEXT and global_command(inbound.text, staff=True) in STAFF_COMMANDS
        if state.flow == "desk" or staff_command:
            gone = await staff_repo.revoked_for_identity(session, identity.id)
            if gone is not None:
                await staff_repo.audit(session, f"staff:{gone.id}", "desk", None, "revoked", now)
                await repos.enqueue(session, identity.id, identity.channel, notices.access_revoked(t), now)
            if state.flow == "desk":
                new_state = State.from_json(state.to_json())
                move(new_state, "menu:main", fresh=True)
                return (new_state if gone is not None else None), False
            if gone is not None:
                return state, False
        return None, False

    async def request_views(self, session: AsyncSession, citizen_id: int, now: datetime) -> tuple[RequestView, ...]:
        """The citizen's requests with the remedies open to them today."""
        views, _ = await repos.citizen_requests(session, citizen_id)
        return self.with_remedies(views, now)

    def with_remedies(self, views: tuple[RequestView, ...], now: datetime) -> tuple[RequestView, ...]:
        """The views marked overdue or open to a complaint to the head or the CDAI today."""
        today = now.astimezone(CASABLANCA).date()
        complained = {view.parent_reference for view in views if view.kind == Kind.HEAD_COMPLAINT}
        return tuple(
            replace(
                view,
                overdue=view.status in OPEN_STATUSES and today > view.due_on,
                can_complain=can_complain_to_head(view.kind, view.status, view.answered_on, view.due_on, today,
                                                  self.calendar, already_complained=view.reference in complained),
                can_go_to_cdai=can_go_to_cdai(view.kind, view.status, view.answered_on, view.due_on, today),
            )
            for view in views
        )

    async def reply(self, session: AsyncSession, identity: tables.Identity, effect: Reply, now: datetime) -> None:
        """The citizen's answer to a clarification: logged, the request goes back to the clerk."""
        t = translator(effect.locale)
        request = await repos.request_by_reference(session, effect.reference)
        if request is None or request.citizen_id != identity.citizen_id or request.status != Status.CLARIFICATION:
            await repos.enqueue(session, identity.id, identity.channel, notices.reply_refused(t, effect.reference),
                                now)
            return
        await self.lifecycle.apply(session, request, Action.CLARIFIED, f"citizen:{identity.citizen_id}", now,
                                   {"text": effect.text})
        await repos.enqueue(session, identity.id, identity.channel, notices.reply_sent(t, request.reference), now)
        await self.lifecycle.tell_staff(session, await self.handlers(session, request), now,
                                        lambda st: notices.staff_citizen_replied(st, request.reference))

    async def rate(self, session: AsyncSession, identity: tables.Identity, effect: Rate, now: datetime) -> None:
        """Keep the citizen's rating of an answer; a satisfied citizen closes the request."""
        request = await repos.request_by_reference(session, effect.reference)
        if (request is None or request.citizen_id != identity.citizen_id or effect.rating not in RATINGS
                or request.status not in DECIDED):
            return
        request.rating = effect.rating
        await self.lifecycle.record(session, request, "rated", f"citizen:{identity.citizen_id}", now,
                                 {"rating": effect.rating})
        if effect.rating == "answered" and Action.CLOSE in allowed(request.kind, request.status):
            await self.lifecycle.apply(session, request, Action.CLOSE, f"citizen:{identity.citizen_id}", now)
            request.closed_at = now

    async def explain(self, session: AsyncSession, identity: tables.Identity, effect: Explain,
                      now: datetime) -> None:
        """How the due date of the citizen's own request was counted (start, days counted, days skipped)."""
        request = await repos.request_by_reference(session, effect.reference)
        if request is None or request.citizen_id != identity.citizen_id:
            return
        due = request_due(request.deadline_rule, request.received_at, self.calendar, self.rules,
                          extended=request.extended_at is not None)
        t = translator(effect.locale)
        await repos.enqueue(session, identity.id, identity.channel, Outbound(text=explain_due(t, due),
                                                                             locale=t.locale), now)

    async def handlers(self, session: AsyncSession, request: tables.Request) -> list[StaffMember]:
        """The assigned member if still active, else the collectivity's clerks, else its coordinators."""
        return request_handlers(await staff_repo.active_members(session), self.directory,
                                request.collectivity_code, request.assigned_staff_id)

    async def file_for(self, channel: str, external_id: str, file_id: int) -> tables.Attachment | None:
        """The attachment if this account may see it: it sent it, it is the citizen of the request the file
        belongs to (an answer's documents), or it is staff covering that request; None otherwise."""
        async with self.sessions() as session:
            identity = await repos.find_identity(session, channel, external_id)
            pair = await repos.attachment_with_request(session, file_id) if identity else None
            if identity is None or pair is None:
                return None
            found, owner = pair
            if found.identity_id == identity.id or (owner is not None and owner.identity_id == identity.id):
                return found
            member = await staff_repo.member_for_identity(session, identity.id) if owner is not None else None
            if owner is not None and member is not None and covers(member, self.directory, owner.collectivity_code):
                return found
            return None

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
        parent: tables.Request | None = None
        if effect.kind == Kind.HEAD_COMPLAINT:
            parent = await repos.request_by_reference(session, str(answers.get("parent", "")))
            views = {view.reference: view for view in await self.request_views(session, identity.citizen_id, now)}
            view = views.get(parent.reference) if parent is not None else None
            if parent is None or view is None or not view.can_complain:
                t = translator(effect.locale)
                await repos.enqueue(session, identity.id, identity.channel, notices.complaint_refused(t, str(
                    answers.get("parent", ""))), now)
                return
            place = self.directory.get(parent.collectivity_code) or place
        urgent = answers.get("urgent") == "yes"
        rule_id = rule_for(effect.kind, urgent)
        due = due_date(self.rules[rule_id], now, self.calendar)
        reference = new_reference()
        while await repos.reference_taken(session, reference):
            reference = new_reference()
        # With the reference, the code reopens the request in another web browser (shown on the web receipt only).
        access_code = new_code() if identity.channel == "web" else None
        subject = str(answers.get("topic") if effect.kind == "access" else answers.get("description", ""))
        raw_media = answers.get("media")
        media: dict[str, Any] = raw_media if isinstance(raw_media, dict) else {}
        request = tables.Request(
            reference=reference, kind=effect.kind, status=Status.SUBMITTED.value, citizen_id=identity.citizen_id,
            identity_id=identity.id, collectivity_code=place.code, locale=effect.locale, urgent=urgent,
            subject=subject, service=answers.get("service"), delivery=answers.get("delivery"),
            requester_name=answers.get("name"), contact=answers.get("contact"),
            # Only the access form asks for the card number (CNDP): never kept for a complaint.
            id_number=answers.get("id_number") if effect.kind == Kind.ACCESS else None,
            lat=media.get("lat"), lon=media.get("lon"), deadline_rule=rule_id, received_at=now, due_on=due.due,
            created_at=now, updated_at=now, parent_id=parent.id if parent else None,
            access_code_hash=code_hash(reference, access_code) if access_code else None,
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
        row = await session.get(tables.Collectivity, place.code)
        on_bab = bool(row and row.on_bab)
        text = receipt(t, kind=effect.kind, reference=reference, place=place_label(place, self.directory, t),
                       received_on=now.astimezone(CASABLANCA).date(), due_on=due.due, urgent=urgent,
                       on_bab=on_bab, parent=parent.reference if parent else None, rule=self.rules[rule_id])
        card = receipt_card(reference, access_code, place.code,
                            now.astimezone(CASABLANCA).date(), due.due)
        await repos.enqueue(session, identity.id, identity.channel, Outbound(text=text, locale=t.locale, card=card),
                            now)
        if effect.kind == Kind.ACCESS and not on_bab:
            await repos.enqueue(session, identity.id, identity.channel, Outbound(text=chafafiya_text(
                t, reference=reference, place=place_label(place, self.directory, t),
                name=request.requester_name or "", id_number=request.id_number or "", contact=request.contact or "",
                topic=request.subject, delivery=str(answers.get("delivery") or "")), locale=t.locale), now)
        code, kind = place.code, effect.kind
        await self.lifecycle.tell_staff(session, await self.handlers(session, request), now,
                                        lambda st: notices.staff_new_request(
                                            st, reference, kind, self.lifecycle.place(code, st), due.due,
                                            transferred_in=False))
        log.info("request filed reference=%s kind=%s collectivity=%s due=%s", reference, effect.kind, place.code,
                 due.due)

    async def withdraw(self, session: AsyncSession, identity: tables.Identity, effect: Withdraw) -> None:
        """Withdraw the citizen's own open request; anything else gets a refusal, never another's data."""
        now = self.clock.now()
        t = translator(effect.locale)
        request = await repos.request_by_reference(session, effect.reference)
        if (request is None or request.citizen_id != identity.citizen_id
                or Action.WITHDRAW not in allowed(request.kind, request.status)):
            text = not_withdrawable(t, effect.reference)
        else:
            await self.lifecycle.apply(session, request, Action.WITHDRAW, f"citizen:{identity.citizen_id}", now)
            request.closed_at = now
            text = withdrawn(t, request.reference)
            await self.lifecycle.tell_staff(session, await self.handlers(session, request), now,
                                            lambda st: notices.staff_withdrawn(st, request.reference))
            log.info("request withdrawn reference=%s", request.reference)
        await repos.enqueue(session, identity.id, identity.channel, Outbound(text=text, locale=t.locale), now)
