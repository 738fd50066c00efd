"""The staff desk: the inbox, one request and its actions, on any channel.

The engine routes a staff member's messages here as `DeskShow`/`DeskInput` effects (see `bot.flows.desk`); this
service reads and changes requests inside the caller's transaction. Every action re-checks server side that
the member's scope covers the request: a forged button or a guessed reference gets the same answer as an
unknown one, and an audit event. The coordinators' reports live in `desk_reports`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.deadlines import CASABLANCA, extension_rule, request_due
from bot.domain.directory import Directory
from bot.domain.lifecycle import (
    ARTICLE_7_EXCEPTIONS,
    EXTENSION_REASONS,
    REFUSAL_GROUNDS,
    Action,
    InvalidTransition,
    allowed,
)
from bot.domain.remedies import can_complain_to_head
from bot.domain.requests import OPEN_STATUSES, find_reference
from bot.domain.staff import (
    Role,
    StaffMember,
    covers,
    handlers_of,
    responsible_coordinators,
    scope_codes,
)
from bot.domain.validation import Invalid, check_free_text
from bot.flows import notices
from bot.flows.desk import (
    COMPOSE_PROMPTS,
    PAGE_SIZE,
    HistoryLine,
    InboxRow,
    InboxView,
    RequestCard,
    Screen,
    render_inbox,
    render_request,
)
from bot.flows.engine import move, renew
from bot.flows.labels import (
    ARTICLE_7_LABELS,
    EXTENSION_REASON_LABELS,
    REFUSAL_GROUND_LABELS,
    status_label,
)
from bot.flows.spec import FileRef, Inbound, InboundKind, State
from bot.i18n import N_, translator
from bot.services.desk_reports import Reports
from bot.services.desk_turn import DeskTurn
from bot.services.lifecycle import Lifecycle
from bot.storage import inbox_repo, repos, staff_repo, tables

log = logging.getLogger(__name__)

FILTERS = ("open", "overdue", "mine", "unassigned", "all")


class Desk:
    """Renders the desk's steps and carries out staff actions."""

    def __init__(self, directory: Directory, lifecycle: Lifecycle, default_locale: str) -> None:
        self.directory = directory
        self.lifecycle = lifecycle
        self.calendar = lifecycle.calendar
        self.default_locale = default_locale
        self.reports = Reports(lifecycle)

    def turn(self, session: AsyncSession, member: StaffMember, identity: tables.Identity, state: State,
             now: datetime) -> DeskTurn:
        return DeskTurn(session, member, identity, state, now, translator(state.locale or self.default_locale))

    # ---- navigation -------------------------------------------------------------------------------------------

    async def goto(self, dt: DeskTurn, step: str, **scratch: Any) -> None:
        """Move to another desk step (remembering this one for 'back') and render it."""
        move(dt.state, step, remember=dt.state.step != step, scratch=scratch)
        await self.show(dt)

    async def show(self, dt: DeskTurn) -> None:
        """Render the current step."""
        step = dt.state.step
        if step == "open":
            await self.show_request(dt)
        elif step == "compose":
            await dt.send(dt.t(COMPOSE_PROMPTS.get(str(dt.scratch.get("action")), COMPOSE_PROMPTS["note"])),
                          (("back", dt.t(N_("Cancel this action"))),))
        elif step == "pick":
            await self.show_pick(dt)
        elif step == "overdue":
            await self.reports.show_overdue(dt)
        elif step == "stats":
            await self.reports.show_stats(dt)
        elif step == "calendar":
            await self.reports.show_calendar(dt)
        else:
            await self.show_list(dt)

    async def handle(self, dt: DeskTurn, inbound: Inbound) -> None:
        """Act on one message at the current step."""
        choice = inbound.choice_id or "" if inbound.kind is InboundKind.CHOICE else ""
        if choice == "list":
            await self.goto(dt, "list")
            return
        if choice == "back":
            await self.goto(dt, "open")
            return
        if choice.startswith("open:"):
            await self.goto(dt, "open", ref=choice.partition(":")[2])
            return
        step = dt.state.step
        if step in ("list", "open", "overdue", "stats") and inbound.kind is InboundKind.TEXT:
            reference = find_reference(inbound.text)
            if reference:
                await self.goto(dt, "open", ref=reference)
                return
        if step == "list":
            await self.handle_list(dt, inbound, choice)
        elif step == "open":
            await self.handle_open(dt, choice)
        elif step == "compose":
            await self.handle_compose(dt, inbound)
        elif step == "pick":
            await self.handle_pick(dt, choice)
        elif step == "calendar":
            if await self.reports.handle_calendar(dt, choice):
                await self.show_list(dt)
            else:
                await self.error(dt, N_("Please choose one of the options below."))
        else:
            await self.error(dt, N_("Tap a request, or type its reference."))

    async def error(self, dt: DeskTurn, message: str, **params: object) -> None:
        await dt.send(dt.t(message, **params))
        await self.show(dt)

    # ---- scope ------------------------------------------------------------------------------------------------

    async def inbox_codes(self, dt: DeskTurn) -> set[str] | None:
        """The collectivities whose requests are this member's to handle (None: all)."""
        member = dt.member
        if member.role is Role.CLERK:
            return scope_codes(member, self.directory)
        members = await staff_repo.active_members(dt.session)
        with_clerks = {code for m in members if m.role is Role.CLERK for code in m.scopes if code}
        scope = scope_codes(member, self.directory)
        candidates = scope if scope is not None else set(self.directory.codes())
        return {code for code in candidates if code not in with_clerks
                and member.id in {m.id for m in responsible_coordinators(members, self.directory, code)}}

    async def load(self, dt: DeskTurn, reference: str, action: str) -> tables.Request | None:
        """The request, locked, when the member's scope covers it; otherwise a refusal and an audit event."""
        request = await repos.request_by_reference(dt.session, reference)
        if request is None or not covers(dt.member, self.directory, request.collectivity_code):
            await staff_repo.audit(dt.session, dt.member.actor, action, reference[:64], "denied", dt.now,
                                   {"exists": request is not None})
            log.warning("desk denied actor=%s action=%s", dt.member.actor, action)
            await dt.send(dt.t(N_("I find no request {reference} in your inbox."), reference=reference))
            dt.scratch.pop("ref", None)
            move(dt.state, "list", remember=False)
            await self.show_list(dt)
            return None
        return request

    # ---- the list ---------------------------------------------------------------------------------------------

    def filters(self, dt: DeskTurn) -> tuple[str, ...]:
        return FILTERS if dt.member.role is not Role.CLERK else FILTERS[:4]

    async def show_list(self, dt: DeskTurn) -> None:
        """Load the inbox page the state points at and show it."""
        name = str(dt.scratch.get("filter") or "open")
        page = max(int(dt.scratch.get("page") or 0), 0)
        scope = scope_codes(dt.member, self.directory)
        where = inbox_repo.inbox_filter(name, scope=scope, mine=await self.inbox_codes(dt), staff_id=dt.member.id,
                                        today=dt.today)
        rows, total = await inbox_repo.inbox_page(dt.session, where, page * PAGE_SIZE, PAGE_SIZE)
        if not rows and page:  # the page emptied since (requests answered): back to the first
            dt.scratch["page"] = 0
            rows, total = await inbox_repo.inbox_page(dt.session, where, 0, PAGE_SIZE)
            page = 0
        view = InboxView(name, page, total, tuple(
            InboxRow(row.reference, row.urgent, row.kind, row.collectivity_code, row.due_on, row.status)
            for row in rows), self.filters(dt), dt.today)
        await self.send(dt, render_inbox(dt.t, view, self.directory))

    async def send(self, dt: DeskTurn, screen: Screen) -> None:
        await dt.send(screen.text, screen.options, screen.files)

    async def handle_list(self, dt: DeskTurn, inbound: Inbound, choice: str) -> None:
        if choice.startswith("f:") and choice[2:] in self.filters(dt):
            dt.scratch.update(filter=choice[2:], page=0)
        elif choice in ("p:next", "p:prev"):
            dt.scratch["page"] = max(int(dt.scratch.get("page") or 0) + (1 if choice == "p:next" else -1), 0)
        elif inbound.kind is InboundKind.CHOICE:
            await self.error(dt, N_("That button belongs to an earlier question. Here is where we are now:"))
            return
        else:
            await self.error(dt, N_("Tap a request, or type its reference."))
            return
        renew(dt.state)
        await self.show_list(dt)

    # ---- one request ------------------------------------------------------------------------------------------

    def actions(self, dt: DeskTurn, request: tables.Request) -> list[str]:
        """The action buttons the table and the member's role allow now."""
        possible = allowed(request.kind, request.status)
        found: list[str] = []
        if request.status in OPEN_STATUSES and request.assigned_staff_id != dt.member.id:
            found.append("take")
        if Action.ANSWER in possible:
            found.append("answer")
        if Action.ASK_CLARIFICATION in possible:
            found.append("clarify")
        if Action.EXTEND in possible and request.extended_at is None and dt.today <= request.due_on:
            found.append("extend")
        if Action.REFUSE in possible:
            found.append("refuse")
        if Action.TRANSFER in possible:
            found.append("transfer")
        if dt.member.role is not Role.CLERK and request.status in OPEN_STATUSES:
            found.append("assign")
        found.append("note")
        return found

    async def show_request(self, dt: DeskTurn) -> None:
        reference = str(dt.scratch.get("ref", ""))
        request = await self.load(dt, reference, "open")
        if request is None:
            return
        if Action.OPEN in allowed(request.kind, request.status):
            await self.lifecycle.apply(dt.session, request, Action.OPEN, dt.member.actor, dt.now)
            place = request.collectivity_code
            await self.lifecycle.tell_citizen(dt.session, request, dt.now, lambda ct: notices.acknowledged(
                ct, request.reference, self.lifecycle.place(place, ct)))
        await self.send(dt, render_request(dt.t, await self.card(dt, request), self.directory))

    async def card(self, dt: DeskTurn, request: tables.Request) -> RequestCard:
        """The request as its card shows it to this member."""
        assignee = await staff_repo.staff_row(dt.session, request.assigned_staff_id) \
            if request.assigned_staff_id else None
        parent = await dt.session.get(tables.Request, request.parent_id) if request.parent_id is not None else None
        history = tuple(HistoryLine(event.at, event.kind,
                                    str(event.data.get("text") or event.data.get("reason_text") or ""))
                        for event in await inbox_repo.history(dt.session, request.id))
        files = tuple(FileRef(id=row.id, kind=row.kind, ref=row.ref, mime=row.mime)
                      for row in await inbox_repo.attachments_of(dt.session, request.id))
        return RequestCard(
            reference=request.reference, kind=request.kind, urgent=request.urgent, place=request.collectivity_code,
            status=request.status, received_on=request.received_at.astimezone(CASABLANCA).date(),
            due_on=request.due_on, today=dt.today, assignee=assignee.name if assignee else None,
            subject=request.subject, delivery=request.delivery, requester_name=request.requester_name,
            id_number=request.id_number, contact=request.contact, lat=request.lat, lon=request.lon,
            parent_reference=parent.reference if parent is not None else None, history=history, files=files,
            actions=tuple(self.actions(dt, request)))

    async def handle_open(self, dt: DeskTurn, choice: str) -> None:
        action = choice.partition(":")[2] if choice.startswith("a:") else ""
        reference = str(dt.scratch.get("ref", ""))
        request = await self.load(dt, reference, action or "open")
        if request is None:
            return
        if action not in self.actions(dt, request):
            await self.error(dt, N_("That button belongs to an earlier question. Here is where we are now:"))
            return
        dt.scratch.update(action=action, files=[], text=None, ground=None, exception=None)
        if action == "take":
            await self.take(dt, request)
        elif action in ("answer", "clarify", "note", "transfer"):
            await self.goto(dt, "compose")
        elif action == "refuse":
            await self.goto(dt, "pick", pick="ground")
        elif action == "extend":
            await self.goto(dt, "pick", pick="reason")
        elif action == "assign":
            await self.goto(dt, "pick", pick="clerk")

    # ---- composing text and files -----------------------------------------------------------------------------

    async def handle_compose(self, dt: DeskTurn, inbound: Inbound) -> None:
        action = str(dt.scratch.get("action"))
        if inbound.kind in (InboundKind.PHOTO, InboundKind.DOCUMENT) and inbound.attachment_id is not None:
            if action != "answer":
                await self.error(dt, N_("Thank you, but I cannot use a file at this step."))
                return
            files = [*dt.scratch.get("files", []), inbound.attachment_id][:10]
            dt.scratch["files"] = files
            await dt.send(dt.t(N_("Document received ({count}). Send more, or write your answer."),
                               count=len(files)), (("back", dt.t(N_("Cancel this action"))),))
            return
        if inbound.kind is not InboundKind.TEXT:
            await self.error(dt, N_("I can only read text messages and button presses here."))
            return
        try:
            text = check_free_text(inbound.text, min_chars=2, max_chars=4000)
        except Invalid as invalid:
            await self.error(dt, invalid.message, **invalid.params)
            return
        reference = str(dt.scratch.get("ref", ""))
        if action == "answer":
            await self.goto(dt, "pick", pick="answer_kind", text=text)
        elif action == "transfer":
            matches = [m.collectivity for m in self.directory.match(text, limit=4)]
            here = await repos.request_by_reference(dt.session, reference)
            matches = [place for place in matches if here is None or place.code != here.collectivity_code]
            if not matches:
                await self.error(dt, N_("I do not find that collectivity. Try another spelling."))
                return
            await self.goto(dt, "pick", pick="place", places=[place.code for place in matches])
        else:
            request = await self.load(dt, reference, action)
            if request is None:
                return
            if action == "clarify":
                await self.clarify(dt, request, text)
            elif action == "note":
                await self.lifecycle.record(dt.session, request, "note", dt.member.actor, dt.now, {"text": text})
                await self.done(dt, N_("Note added to {reference}."), request)
            elif action == "refuse":
                await self.refuse(dt, request, text)

    # ---- choosing from a list ---------------------------------------------------------------------------------

    async def pick_options(self, dt: DeskTurn) -> tuple[str, list[tuple[str, str]]]:
        """The question and (id, label) choices of the current pick."""
        t = dt.t
        pick = dt.scratch.get("pick")
        if pick == "ground":
            return t(N_("On which legal ground do you refuse?")), [
                (f"c:{g}", t(REFUSAL_GROUND_LABELS[g])) for g in REFUSAL_GROUNDS]
        if pick == "exception":
            return t(N_("Which exception of article 7?")), [
                (f"c:{e}", t(ARTICLE_7_LABELS[e])) for e in ARTICLE_7_EXCEPTIONS]
        if pick == "reason":
            return t(N_("Why extend the deadline? The citizen is told the reason and the new date.")), [
                (f"c:{r}", t(EXTENSION_REASON_LABELS[r])) for r in EXTENSION_REASONS]
        if pick == "answer_kind":
            return t(N_("Does this answer the whole request?")), [
                ("c:full", t(N_("Yes, in full"))), ("c:partial", t(N_("In part only")))]
        if pick == "place":
            return t(N_("Transfer to which collectivity?")), [
                (f"c:{code}", self.lifecycle.place(code, t) + f" ({code})") for code in dt.scratch.get("places", [])]
        # clerk: the active clerks of the request's collectivity, and the member themself
        request = await repos.request_by_reference(dt.session, str(dt.scratch.get("ref", "")))
        code = request.collectivity_code if request else ""
        members = await staff_repo.active_members(dt.session)
        clerks = [m for m in members if m.role is Role.CLERK and code in m.scopes]
        choices = [(f"c:{m.id}", m.name) for m in clerks]
        choices.append((f"c:{dt.member.id}", t(N_("Me"))))
        return t(N_("Assign it to whom?")), choices

    async def show_pick(self, dt: DeskTurn) -> None:
        question, choices = await self.pick_options(dt)
        await dt.send(question, (*choices, ("back", dt.t(N_("Cancel this action")))))

    async def handle_pick(self, dt: DeskTurn, choice: str) -> None:
        _, choices = await self.pick_options(dt)
        if choice not in {option_id for option_id, _ in choices}:
            await self.error(dt, N_("Please choose one of the options below."))
            return
        value = choice.partition(":")[2]
        pick = dt.scratch.get("pick")
        reference = str(dt.scratch.get("ref", ""))
        if pick == "ground":
            dt.scratch["ground"] = value
            if value == "article_7":
                await self.goto(dt, "pick", pick="exception")
            else:
                await self.goto(dt, "compose", action="refuse")
            return
        if pick == "exception":
            dt.scratch["exception"] = value
            await self.goto(dt, "compose", action="refuse")
            return
        request = await self.load(dt, reference, str(dt.scratch.get("action")))
        if request is None:
            return
        if pick == "reason":
            await self.extend(dt, request, value)
        elif pick == "answer_kind":
            await self.answer(dt, request, partial=value == "partial")
        elif pick == "place":
            await self.transfer(dt, request, value)
        elif pick == "clerk":
            await self.assign(dt, request, int(value))

    # ---- the actions ------------------------------------------------------------------------------------------

    async def done(self, dt: DeskTurn, message: str, request: tables.Request, **params: object) -> None:
        """Confirm an action and show the request again."""
        await dt.send(dt.t(message, reference=request.reference, **params))
        move(dt.state, "open", history=[step for step in dt.state.history if step == "list"][:1])
        await self.show_request(dt)

    async def refused_transition(self, dt: DeskTurn, request: tables.Request) -> None:
        await self.done(dt, N_("This is no longer possible: {reference} is now {status}."), request,
                        status=status_label(request.status, dt.t))

    async def take(self, dt: DeskTurn, request: tables.Request) -> None:
        if Action.TAKE in allowed(request.kind, request.status):
            await self.lifecycle.apply(dt.session, request, Action.TAKE, dt.member.actor, dt.now)
        else:
            await self.lifecycle.record(dt.session, request, "assigned", dt.member.actor, dt.now, {"to": dt.member.id})
        request.assigned_staff_id = dt.member.id
        await self.done(dt, N_("You handle {reference} now."), request)

    async def clarify(self, dt: DeskTurn, request: tables.Request, text: str) -> None:
        try:
            await self.lifecycle.apply(dt.session, request, Action.ASK_CLARIFICATION, dt.member.actor, dt.now,
                                       {"text": text})
        except InvalidTransition:
            await self.refused_transition(dt, request)
            return
        request.assigned_staff_id = request.assigned_staff_id or dt.member.id
        code = request.collectivity_code
        await self.lifecycle.tell_citizen(dt.session, request, dt.now, lambda ct: notices.clarification(
            ct, request.reference, self.lifecycle.place(code, ct), text))
        await self.done(dt, N_("Your question is sent to the citizen ({reference})."), request)

    async def extend(self, dt: DeskTurn, request: tables.Request, reason: str) -> None:
        if request.extended_at is not None or dt.today > request.due_on:
            await self.done(dt, N_("The deadline of {reference} can no longer be extended: the law allows it once, "
                                   "before the first deadline."), request)
            return
        try:
            await self.lifecycle.apply(dt.session, request, Action.EXTEND, dt.member.actor, dt.now, {"reason": reason})
        except InvalidTransition:
            await self.refused_transition(dt, request)
            return
        new_due = request_due(request.deadline_rule, request.received_at, self.calendar, self.lifecycle.rules,
                              extended=True).due
        await self.lifecycle.record(dt.session, request, "due_moved", dt.member.actor, dt.now, {
            "from": request.due_on.isoformat(), "to": new_due.isoformat(), "reason": "extension"})
        request.due_on, request.extended_at = new_due, dt.now
        request.assigned_staff_id = request.assigned_staff_id or dt.member.id
        code = request.collectivity_code
        # The notice states the extension of the request's own rule (+3 days for an urgent one).
        extension = extension_rule(request.deadline_rule, self.lifecycle.rules) or self.lifecycle.rules[
            "access_extension"]
        await self.lifecycle.tell_citizen(dt.session, request, dt.now, lambda ct: notices.extended(
            ct, request.reference, self.lifecycle.place(code, ct), reason, new_due, extension))
        await self.done(dt, N_("Extended: {reference} is now due by {date}. The citizen is told."), request,
                        date=dt.t.date(new_due))

    async def answer(self, dt: DeskTurn, request: tables.Request, partial: bool) -> None:
        text = str(dt.scratch.get("text") or "")
        ids = [int(i) for i in dt.scratch.get("files", [])]
        attachments = await inbox_repo.attachments_by_id(dt.session, ids, dt.identity.id)
        action = Action.ANSWER_PARTIALLY if partial else Action.ANSWER
        try:
            await self.lifecycle.apply(dt.session, request, action, dt.member.actor, dt.now,
                                       {"text": text, "files": [row.id for row in attachments]})
        except InvalidTransition:
            await self.refused_transition(dt, request)
            return
        for row in attachments:
            row.request_id = request.id
        request.answered_at = dt.now
        request.assigned_staff_id = request.assigned_staff_id or dt.member.id
        files = tuple(FileRef(id=row.id, kind=row.kind, ref=row.ref, mime=row.mime) for row in attachments)
        code, kind = request.collectivity_code, request.kind
        await self.lifecycle.tell_citizen(dt.session, request, dt.now, lambda ct: notices.answered(
            ct, request.reference, self.lifecycle.place(code, ct), text, partial, files, kind))
        await self.done(dt, N_("Your answer is sent to the citizen ({reference})."), request)

    async def refuse(self, dt: DeskTurn, request: tables.Request, reason: str) -> None:
        ground = str(dt.scratch.get("ground") or "")
        exception = dt.scratch.get("exception") if ground == "article_7" else None
        if ground not in REFUSAL_GROUNDS or (ground == "article_7" and exception not in ARTICLE_7_EXCEPTIONS):
            await self.goto(dt, "pick", pick="ground")
            return
        try:
            await self.lifecycle.apply(dt.session, request, Action.REFUSE, dt.member.actor, dt.now,
                                       {"ground": ground, "exception": exception, "reason_text": reason})
        except InvalidTransition:
            await self.refused_transition(dt, request)
            return
        request.answered_at = dt.now
        request.assigned_staff_id = request.assigned_staff_id or dt.member.id
        complaint_open = can_complain_to_head(
            request.kind, request.status, dt.today, request.due_on, dt.today, self.calendar,
            already_complained=await inbox_repo.has_child_complaint(dt.session, request.id))
        code = request.collectivity_code
        await self.lifecycle.tell_citizen(dt.session, request, dt.now, lambda ct: notices.refused(
            ct, request.reference, self.lifecycle.place(code, ct), ground, exception, reason, complaint_open,
            cdai_next=request.kind == "head_complaint"))
        await self.done(dt, N_("Refusal sent to the citizen ({reference})."), request)

    async def transfer(self, dt: DeskTurn, request: tables.Request, code: str) -> None:
        if self.directory.get(code) is None or code == request.collectivity_code:
            await self.goto(dt, "compose", action="transfer")
            return
        before = request.collectivity_code
        try:
            await self.lifecycle.apply(dt.session, request, Action.TRANSFER, dt.member.actor, dt.now,
                                       {"from_code": before, "to_code": code})
        except InvalidTransition:
            await self.refused_transition(dt, request)
            return
        request.collectivity_code, request.assigned_staff_id = code, None
        received = request.received_at.astimezone(CASABLANCA).date()
        await self.lifecycle.tell_citizen(dt.session, request, dt.now, lambda ct: notices.transferred(
            ct, request.reference, self.lifecycle.place(code, ct), received, request.due_on))
        members = await staff_repo.active_members(dt.session)
        await self.lifecycle.tell_staff(dt.session, handlers_of(members, self.directory, code), dt.now,
                                        lambda st: notices.staff_new_request(
                                            st, request.reference, request.kind, self.lifecycle.place(code, st),
                                            request.due_on, transferred_in=True), skip=dt.member.id)
        await dt.send(dt.t(N_("{reference} is transferred to {place}. The citizen is told."),
                           reference=request.reference, place=self.lifecycle.place(code, dt.t)))
        move(dt.state, "list", history=[])
        await self.show_list(dt)

    async def assign(self, dt: DeskTurn, request: tables.Request, staff_id: int) -> None:
        members = {m.id: m for m in await staff_repo.active_members(dt.session)}
        target = members.get(staff_id)
        if target is None or not covers(target, self.directory, request.collectivity_code):
            await self.error(dt, N_("Please choose one of the options below."))
            return
        request.assigned_staff_id = staff_id
        await self.lifecycle.record(dt.session, request, "assigned", dt.member.actor, dt.now, {"to": staff_id})
        await self.lifecycle.tell_staff(dt.session, [target], dt.now, lambda st: notices.staff_assigned(
            st, request.reference, dt.member.name), skip=dt.member.id)
        await self.done(dt, N_("{reference} is assigned to {name}."), request, name=target.name)
