"""The staff desk's side effects: load what the desk flow decides from, carry out its commands, show its pages.

A staff turn goes: `data` (before the engine: the request being worked on, those the message names, who can be
assigned, the holidays ahead), the engine's decision (`bot.flows.desk`), `execute` for each `DeskAct` or
`DeskDenied` in the turn's transaction, then `show` (the page the new step needs, rendered by
`bot.flows.desk_render`). Every action re-checks server side that the member's scope covers the request: a
forged button or a guessed reference gets the same answer as an unknown one, and an audit event.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.deadlines import CASABLANCA, extension_rule, request_due
from bot.domain.directory import Directory
from bot.domain.lifecycle import Action, InvalidTransition, allowed
from bot.domain.remedies import can_complain_to_head
from bot.domain.staff import (
    Role,
    StaffMember,
    covers,
    handlers_of,
    responsible_coordinators,
    scope_codes,
)
from bot.flows import notices
from bot.flows.desk import (
    CLERK_FILTERS,
    FILTERS,
    Standing,
    available_actions,
    references_in,
)
from bot.flows.desk_render import PAGE_SIZE, Outcome, outcome_text, render
from bot.flows.desk_views import (
    AuditExport,
    Clerk,
    DeskData,
    HistoryLine,
    InboxView,
    Page,
    RequestCard,
)
from bot.flows.spec import DeskAct, DeskDenied, FileRef, Inbound, Outbound, State
from bot.i18n import translator
from bot.services import audit_log, media
from bot.services.desk_reports import Reports, row_of
from bot.services.lifecycle import Lifecycle
from bot.services.transparency import Transparency
from bot.storage import inbox_repo, repos, staff_repo, tables

log = logging.getLogger(__name__)


def standing(request: tables.Request) -> Standing:
    """What decides the actions open on a request, from its row."""
    return Standing(request.kind, request.status, request.assigned_staff_id, request.extended_at is not None,
                    request.due_on)


class Desk:
    """Loads the desk's views, carries out staff actions and renders the desk's pages."""

    def __init__(self, directory: Directory, lifecycle: Lifecycle, default_locale: str,
                 transparency: Transparency, uploads_dir: Path | None = None) -> None:
        self.directory = directory
        self.uploads_dir = uploads_dir  # where the audit exports are written (None: no export)
        self.lifecycle = lifecycle
        self.calendar = lifecycle.calendar
        self.default_locale = default_locale
        self.reports = Reports(lifecycle, transparency)

    # ---- loading ----------------------------------------------------------------------------------------------

    async def data(self, session: AsyncSession, member: StaffMember, state: State, inbound: Inbound | None,
                   now: datetime, page: bool = False) -> DeskData:
        """What the desk flow decides from (and, with `page`, what its current step shows)."""
        today = now.astimezone(CASABLANCA).date()
        references = list(references_in(inbound)) if inbound is not None else []
        working_on = str(state.scratch.get("ref") or "") if state.flow == "desk" else ""
        if working_on:
            references.append(working_on)
        cards: dict[str, RequestCard | None] = {}
        for reference in dict.fromkeys(references):
            request = await repos.request_by_reference(session, reference)
            in_scope = request is not None and covers(member, self.directory, request.collectivity_code)
            cards[reference] = await self.card(session, member, request, today) if request and in_scope else None
        step = state.step if state.flow == "desk" else None
        clerks: tuple[Clerk, ...] = ()
        if step == "pick" and state.scratch.get("pick") == "clerk":
            current = cards.get(working_on)
            code = current.place if current is not None else ""
            clerks = tuple(Clerk(m.id, m.name) for m in await staff_repo.active_members(session)
                           if m.role is Role.CLERK and code in m.scopes)
        data = DeskData(
            member_id=member.id, member_name=member.name, role=member.role.value, national=member.national,
            today=today, filters=FILTERS if member.role is not Role.CLERK else CLERK_FILTERS, cards=cards,
            clerks=clerks, calendar=self.reports.holidays_ahead(member, today) if step == "calendar" else None)
        if not page:
            return data
        shown: Page | None = None
        if step == "open":
            shown = cards.get(working_on)
            if shown is not None and (shown.requester_name or shown.id_number or shown.contact
                                      or shown.lat is not None or shown.files):
                # Law 09-08: each time staff are shown a requester's details, the audit log says who and when.
                await staff_repo.audit(session, member.actor, "view_personal", shown.reference, "shown", now)
        elif step == "overdue":
            shown = await self.reports.overdue(session, member, today)
        elif step == "audit":
            shown = await self.audit_export(session, member, now)
        elif step == "stats":
            shown = await self.reports.stats(session, member)
        elif step == "list":
            shown = await self.inbox(session, member, state, data.filters, today)
        return replace(data, page=shown)

    async def audit_export(self, session: AsyncSession, member: StaffMember, now: datetime) -> AuditExport:
        """Write the audit log of the member's area as a CSV file they own, and audit the export itself."""
        if member.role is Role.CLERK or self.uploads_dir is None:
            return AuditExport(allowed=False)
        rows = await audit_log.events(session, datetime.min.replace(tzinfo=UTC), None,
                                      scope_codes(member, self.directory))
        data = audit_log.to_csv(rows).encode("utf-8")
        name = media.write(self.uploads_dir, data, "csv")  # encrypted at rest, like every stored file
        file_id = await repos.add_attachment(session, member.identity_id, "document", f"file:{name}", "text/csv",
                                             len(data), now)
        await staff_repo.audit(session, member.actor, "export_audit", None, "done", now, {"events": len(rows)})
        log.info("audit log exported actor=%s events=%s file=%s", member.actor, len(rows), file_id)
        return AuditExport(allowed=True, count=len(rows), file=FileRef(
            id=file_id, kind="document", ref=f"file:{name}", mime="text/csv",
            name=f"bab-audit-{now.astimezone(CASABLANCA):%Y-%m-%d}.csv"))

    async def inbox_codes(self, session: AsyncSession, member: StaffMember) -> set[str] | None:
        """The collectivities whose requests are this member's to handle (None: all)."""
        if member.role is Role.CLERK:
            return scope_codes(member, self.directory)
        members = await staff_repo.active_members(session)
        with_clerks = {code for m in members if m.role is Role.CLERK for code in m.scopes if code}
        scope = scope_codes(member, self.directory)
        candidates = scope if scope is not None else set(self.directory.codes())
        return {code for code in candidates if code not in with_clerks
                and member.id in {m.id for m in responsible_coordinators(members, self.directory, code)}}

    async def inbox(self, session: AsyncSession, member: StaffMember, state: State, filters: tuple[str, ...],
                    today: date) -> InboxView:
        """The inbox page the state points at (the first one when that page emptied since)."""
        name = str(state.scratch.get("filter") or "open")
        name = name if name in filters else "open"
        page = max(int(state.scratch.get("page") or 0), 0)
        where = inbox_repo.inbox_filter(name, scope=scope_codes(member, self.directory),
                                        mine=await self.inbox_codes(session, member), staff_id=member.id, today=today)
        rows, total = await inbox_repo.inbox_page(session, where, page * PAGE_SIZE, PAGE_SIZE)
        if not rows and page:  # requests were answered since: back to the first page
            page = 0
            rows, total = await inbox_repo.inbox_page(session, where, 0, PAGE_SIZE)
        return InboxView(name, page, total, tuple(row_of(row) for row in rows), filters, today)

    async def card(self, session: AsyncSession, member: StaffMember, request: tables.Request,
                   today: date) -> RequestCard:
        """The request as its card shows it to this member."""
        assignee = await staff_repo.staff_row(session, request.assigned_staff_id) \
            if request.assigned_staff_id else None
        parent = await session.get(tables.Request, request.parent_id) if request.parent_id is not None else None
        history = tuple(HistoryLine(event.at, event.kind,
                                    str(event.data.get("text") or event.data.get("reason_text") or ""))
                        for event in await inbox_repo.history(session, request.id))
        files = tuple(FileRef(id=row.id, kind=row.kind, ref=row.ref, mime=row.mime)
                      for row in await inbox_repo.attachments_of(session, request.id))
        return RequestCard(
            reference=request.reference, kind=request.kind, urgent=request.urgent, place=request.collectivity_code,
            status=request.status, received_on=request.received_at.astimezone(CASABLANCA).date(),
            due_on=request.due_on, today=today, assignee=assignee.name if assignee else None,
            subject=request.subject, delivery=request.delivery, requester_name=request.requester_name,
            id_number=request.id_number, contact=request.contact, lat=request.lat, lon=request.lon,
            parent_reference=parent.reference if parent is not None else None, history=history, files=files,
            actions=available_actions(standing(request), member.id, member.role.value, today))

    # ---- showing ----------------------------------------------------------------------------------------------

    async def show(self, session: AsyncSession, member: StaffMember, identity: tables.Identity, state: State,
                   now: datetime) -> None:
        """Queue the current step's page to the member; its buttons are bound to the state's version."""
        t = translator(state.locale or self.default_locale)
        screen = render(t, state, await self.data(session, member, state, None, now, page=True), self.directory)
        message = Outbound(text=screen.text, locale=t.locale, options=screen.options,
                           version=state.version if screen.options else None, files=screen.files)
        await repos.enqueue(session, identity.id, identity.channel, message, now)

    async def say(self, session: AsyncSession, identity: tables.Identity, text: str, locale: str,
                  now: datetime) -> None:
        await repos.enqueue(session, identity.id, identity.channel, Outbound(text=text, locale=locale), now)

    # ---- carrying out ------------------------------------------------------------------------------------------

    async def deny(self, session: AsyncSession, member: StaffMember, effect: DeskDenied, now: datetime) -> None:
        """Audit an attempt on a request or a choice that is not the member's."""
        exists = effect.action != "calendar" and await repos.request_by_reference(session, effect.target) is not None
        await staff_repo.audit(session, member.actor, effect.action, effect.target, "denied", now,
                               {"exists": exists} if effect.action != "calendar" else None)
        log.warning("desk denied actor=%s action=%s", member.actor, effect.action)

    async def execute(self, session: AsyncSession, member: StaffMember, identity: tables.Identity, locale: str,
                      act: DeskAct, now: datetime) -> None:
        """Carry out one staff action and tell the member how it went."""
        outcome = await self.act(session, member, act, now)
        t = translator(locale)
        text = outcome_text(t, outcome, self.directory)
        if text is not None:
            await self.say(session, identity, text, t.locale, now)

    async def act(self, session: AsyncSession, member: StaffMember, act: DeskAct, now: datetime) -> Outcome:
        request = await repos.request_by_reference(session, act.reference)
        if request is None or not covers(member, self.directory, request.collectivity_code):
            await self.deny(session, member, DeskDenied(act.action, act.reference[:64]), now)
            return Outcome(act.action, act.reference, "denied")
        today = now.astimezone(CASABLANCA).date()
        if act.action == "open":
            await self.opened(session, member, request, now)
            return Outcome("open", request.reference, "done")
        if act.action == "extend" and (request.extended_at is not None or today > request.due_on):
            return Outcome("extend", request.reference, "not_extendable")
        if act.action not in available_actions(standing(request), member.id, member.role.value, today):
            return Outcome(act.action, request.reference, "no_longer_possible", status=request.status)
        try:
            return await self.carry_out(session, member, request, act, now)
        except InvalidTransition:
            return Outcome(act.action, request.reference, "no_longer_possible", status=request.status)

    async def opened(self, session: AsyncSession, member: StaffMember, request: tables.Request,
                     now: datetime) -> None:
        """The first time staff open a request, the citizen is told it is being looked at."""
        if Action.OPEN not in allowed(request.kind, request.status):
            return
        await self.lifecycle.apply(session, request, Action.OPEN, member.actor, now)
        code = request.collectivity_code
        await self.lifecycle.tell_citizen(session, request, now, lambda ct: notices.acknowledged(
            ct, request.reference, self.lifecycle.place(code, ct)))

    async def carry_out(self, session: AsyncSession, member: StaffMember, request: tables.Request, act: DeskAct,
                        now: datetime) -> Outcome:
        """The action itself, once scope and lifecycle allow it (InvalidTransition when the table refuses)."""
        reference, code, actor = request.reference, request.collectivity_code, member.actor
        done = Outcome(act.action, reference, "done")
        if act.action == "take":
            if Action.TAKE in allowed(request.kind, request.status):
                await self.lifecycle.apply(session, request, Action.TAKE, actor, now)
            else:
                await self.lifecycle.record(session, request, "assigned", actor, now, {"to": member.id})
            request.assigned_staff_id = member.id
        elif act.action == "note":
            await self.lifecycle.record(session, request, "note", actor, now, {"text": act.text})
        elif act.action == "clarify":
            await self.lifecycle.apply(session, request, Action.ASK_CLARIFICATION, actor, now, {"text": act.text})
            request.assigned_staff_id = request.assigned_staff_id or member.id
            await self.lifecycle.tell_citizen(session, request, now, lambda ct: notices.clarification(
                ct, reference, self.lifecycle.place(code, ct), act.text))
        elif act.action == "extend":
            return await self.extend(session, member, request, act.reason, now)
        elif act.action == "answer":
            await self.answer(session, member, request, act, now)
        elif act.action == "refuse":
            await self.refuse(session, member, request, act, now)
        elif act.action == "transfer":
            return await self.transfer(session, member, request, act.to_code, now)
        elif act.action == "assign":
            return await self.assign(session, member, request, act.staff_id, now)
        return done

    async def extend(self, session: AsyncSession, member: StaffMember, request: tables.Request, reason: str,
                     now: datetime) -> Outcome:
        await self.lifecycle.apply(session, request, Action.EXTEND, member.actor, now, {"reason": reason})
        new_due = request_due(request.deadline_rule, request.received_at, self.calendar, self.lifecycle.rules,
                              extended=True).due
        await self.lifecycle.record(session, request, "due_moved", member.actor, now, {
            "from": request.due_on.isoformat(), "to": new_due.isoformat(), "reason": "extension"})
        request.due_on, request.extended_at = new_due, now
        request.assigned_staff_id = request.assigned_staff_id or member.id
        code, reference = request.collectivity_code, request.reference
        # The notice states the extension of the request's own rule (+3 days for an urgent one).
        extension = extension_rule(request.deadline_rule, self.lifecycle.rules) or self.lifecycle.rules[
            "access_extension"]
        await self.lifecycle.tell_citizen(session, request, now, lambda ct: notices.extended(
            ct, reference, self.lifecycle.place(code, ct), reason, new_due, extension))
        return Outcome("extend", reference, "done", due_on=new_due)

    async def answer(self, session: AsyncSession, member: StaffMember, request: tables.Request, act: DeskAct,
                     now: datetime) -> None:
        identity_id = member.identity_id
        attachments = await inbox_repo.attachments_by_id(session, list(act.files), identity_id)
        action = Action.ANSWER_PARTIALLY if act.partial else Action.ANSWER
        await self.lifecycle.apply(session, request, action, member.actor, now,
                                   {"text": act.text, "files": [row.id for row in attachments]})
        for row in attachments:
            row.request_id = request.id
        request.answered_at = now
        request.assigned_staff_id = request.assigned_staff_id or member.id
        files = tuple(FileRef(id=row.id, kind=row.kind, ref=row.ref, mime=row.mime) for row in attachments)
        code, kind, reference = request.collectivity_code, request.kind, request.reference
        await self.lifecycle.tell_citizen(session, request, now, lambda ct: notices.answered(
            ct, reference, self.lifecycle.place(code, ct), act.text, act.partial, files, kind))

    async def refuse(self, session: AsyncSession, member: StaffMember, request: tables.Request, act: DeskAct,
                     now: datetime) -> None:
        await self.lifecycle.apply(session, request, Action.REFUSE, member.actor, now,
                                   {"ground": act.ground, "exception": act.exception, "reason_text": act.text})
        request.answered_at = now
        request.assigned_staff_id = request.assigned_staff_id or member.id
        today = now.astimezone(CASABLANCA).date()
        complaint_open = can_complain_to_head(
            request.kind, request.status, today, request.due_on, today, self.calendar,
            already_complained=await inbox_repo.has_child_complaint(session, request.id))
        code, reference, kind = request.collectivity_code, request.reference, request.kind
        await self.lifecycle.tell_citizen(session, request, now, lambda ct: notices.refused(
            ct, reference, self.lifecycle.place(code, ct), act.ground, act.exception, act.text, complaint_open,
            cdai_next=kind == "head_complaint"))

    async def transfer(self, session: AsyncSession, member: StaffMember, request: tables.Request, code: str,
                       now: datetime) -> Outcome:
        if self.directory.get(code) is None or code == request.collectivity_code:
            return Outcome("transfer", request.reference, "invalid")
        await self.lifecycle.apply(session, request, Action.TRANSFER, member.actor, now,
                                   {"from_code": request.collectivity_code, "to_code": code})
        request.collectivity_code, request.assigned_staff_id = code, None
        received, reference, kind = request.received_at.astimezone(CASABLANCA).date(), request.reference, request.kind
        await self.lifecycle.tell_citizen(session, request, now, lambda ct: notices.transferred(
            ct, reference, self.lifecycle.place(code, ct), received, request.due_on))
        members = await staff_repo.active_members(session)
        await self.lifecycle.tell_staff(session, handlers_of(members, self.directory, code), now,
                                        lambda st: notices.staff_new_request(
                                            st, reference, kind, self.lifecycle.place(code, st),
                                            request.due_on, transferred_in=True), skip=member.id)
        return Outcome("transfer", reference, "done", place=code)

    async def assign(self, session: AsyncSession, member: StaffMember, request: tables.Request,
                     staff_id: int | None, now: datetime) -> Outcome:
        members = {m.id: m for m in await staff_repo.active_members(session)}
        target = members.get(staff_id) if staff_id is not None else None
        if target is None or not covers(target, self.directory, request.collectivity_code):
            return Outcome("assign", request.reference, "invalid")
        request.assigned_staff_id = target.id
        await self.lifecycle.record(session, request, "assigned", member.actor, now, {"to": target.id})
        await self.lifecycle.tell_staff(session, [target], now, lambda st: notices.staff_assigned(
            st, request.reference, member.name), skip=member.id)
        return Outcome("assign", request.reference, "done", name=target.name)
