"""The staff desk as a flow on the engine: the inbox, one request and its actions, the coordinators' reports.

Each step decides from the `DeskData` the service loaded before the turn (`turn.ctx.desk`): where to go, through
the engine's `go`/`move` like any flow, and which commands the service must carry out (`DeskAct`, `DeskDenied`,
`CorrectHoliday`). Every step's prompt is a `DeskShow`: the service runs the commands, loads the page the new
step needs and renders it with `bot.flows.desk_render`. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.domain.lifecycle import ARTICLE_7_EXCEPTIONS, REFUSAL_GROUNDS, Action, allowed
from bot.domain.requests import OPEN_STATUSES, find_reference
from bot.domain.validation import Invalid, check_free_text
from bot.flows.desk_render import pick_screen
from bot.flows.desk_views import DeskData
from bot.flows.engine import Flow, Turn, move, on_go, register
from bot.flows.spec import (
    CorrectHoliday,
    DeskAct,
    DeskDenied,
    DeskShow,
    Inbound,
    InboundKind,
)
from bot.i18n import N_

# list: the inbox page; open: one request and its actions; compose: text (and files) for an action;
# pick: one choice among a list (reason, ground, exception, clerk, place, answer kind);
# overdue and stats: the coordinators' reports; calendar: confirming or moving estimated holidays.
# audit: the coordinators' export of the audit log (a CSV file) for an inspection.
DESK_STEPS = ("list", "open", "compose", "pick", "overdue", "stats", "calendar", "audit")
FILTERS = ("open", "overdue", "mine", "unassigned", "all")
CLERK_FILTERS = FILTERS[:4]  # "all open" is for coordinators, who see beyond their own inbox
MAX_FILES = 10  # documents one answer can carry
TAP_A_REQUEST = N_("Tap a request, or type its reference.")
CHOOSE_BELOW = N_("Please choose one of the options below.")


def references_in(inbound: Inbound) -> tuple[str, ...]:
    """The request references a staff message names (a button, a notice's button, a typed reference)."""
    choice = inbound.choice_id or "" if inbound.kind is InboundKind.CHOICE else ""
    if choice.startswith("open:"):
        return (choice.partition(":")[2],)
    if choice.startswith("go:open:"):
        return (choice.split(":")[2],)
    if inbound.kind is InboundKind.TEXT:
        found = find_reference(inbound.text)
        return (found,) if found else ()
    return ()


@dataclass(frozen=True, slots=True)
class Standing:
    """What decides the actions open on a request, read from its row."""

    kind: str
    status: str
    assigned_staff_id: int | None
    extended: bool
    due_on: date


def available_actions(request: Standing, member_id: int, role: str, today: date) -> tuple[str, ...]:
    """The action buttons the lifecycle table and the member's role allow now, in the order they are shown."""
    possible = allowed(request.kind, request.status)
    found: list[str] = []
    if request.status in OPEN_STATUSES and request.assigned_staff_id != member_id:
        found.append("take")
    if Action.ANSWER in possible:
        found.append("answer")
    if Action.ASK_CLARIFICATION in possible:
        found.append("clarify")
    if Action.EXTEND in possible and not request.extended and today <= request.due_on:
        found.append("extend")
    if Action.REFUSE in possible:
        found.append("refuse")
    if Action.TRANSFER in possible:
        found.append("transfer")
    if role != "clerk" and request.status in OPEN_STATUSES:
        found.append("assign")
    found.append("note")
    return tuple(found)


# ---- moving around ----------------------------------------------------------------------------------------------


def to(turn: Turn, step: str, **scratch: object) -> None:
    """Go to a desk step, remembering this one for 'back' when it is another desk step, and show it."""
    here = turn.state.flow == "desk" and turn.state.step
    turn.go(f"desk:{step}", remember=bool(here) and here != step, scratch=scratch)


def back_to_card(turn: Turn) -> None:
    """After an action: the request again, with 'back' leading to the inbox rather than the action's steps."""
    move(turn.state, "desk:open", history=[step for step in turn.state.history if step == "list"][:1])
    turn.prompt()


def to_inbox(turn: Turn) -> None:
    """The inbox, with nothing to go back to."""
    move(turn.state, "desk:list", history=[])
    turn.prompt()


def deny(turn: Turn, action: str, reference: str) -> None:
    """A request that is not (or no longer) the member's: the same answer as an unknown one, and an audit event."""
    turn.say(N_("I find no request {reference} in your inbox."), reference=reference)
    turn.effects.append(DeskDenied(action, reference[:64]))
    turn.state.scratch.pop("ref", None)
    turn.go("desk:list", remember=False)


def open_request(turn: Turn, desk: DeskData, reference: str) -> None:
    """Show one request, once the service found it in the member's scope."""
    card = desk.card(reference)
    if card is None:
        deny(turn, "open", reference)
        return
    turn.effects.append(DeskAct("open", card.reference))
    to(turn, "open", ref=card.reference)


# ---- the steps --------------------------------------------------------------------------------------------------


def on_list(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    scratch = turn.state.scratch
    if choice.startswith("f:") and choice[2:] in desk.filters:
        scratch.update(filter=choice[2:], page=0)
    elif choice in ("p:next", "p:prev"):
        scratch["page"] = max(int(scratch.get("page") or 0) + (1 if choice == "p:next" else -1), 0)
    elif inbound.kind is InboundKind.CHOICE:
        turn.stale()
        return
    else:
        turn.error(TAP_A_REQUEST)
        return
    turn.ask_again()


def on_open(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    reference = str(turn.state.scratch.get("ref", ""))
    action = choice.partition(":")[2] if choice.startswith("a:") else ""
    card = desk.card(reference)
    if card is None:
        deny(turn, action or "open", reference)
        return
    if action not in card.actions:
        turn.stale()
        return
    turn.state.scratch.update(action=action, files=[], text=None, ground=None, exception=None)
    if action == "take":
        turn.effects.append(DeskAct("take", reference))
        back_to_card(turn)
    elif action in ("answer", "clarify", "note", "transfer"):
        to(turn, "compose")
    elif action == "refuse":
        to(turn, "pick", pick="ground")
    elif action == "extend":
        to(turn, "pick", pick="reason")
    elif action == "assign":
        to(turn, "pick", pick="clerk")


def on_compose(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    scratch = turn.state.scratch
    action, reference = str(scratch.get("action")), str(scratch.get("ref", ""))
    if inbound.kind in (InboundKind.PHOTO, InboundKind.DOCUMENT) and inbound.attachment_id is not None:
        if action != "answer":
            turn.error(N_("Thank you, but I cannot use a file at this step."))
            return
        files = [*scratch.get("files", []), inbound.attachment_id][:MAX_FILES]
        scratch["files"] = files
        turn.say_text(turn.t(N_("Document received ({count}). Send more, or write your answer."), count=len(files)),
                      (("back", turn.t(N_("Cancel this action"))),))
        return
    if inbound.kind is not InboundKind.TEXT:
        turn.error(N_("I can only read text messages and button presses here."))
        return
    try:
        text = check_free_text(inbound.text, min_chars=2, max_chars=4000)
    except Invalid as invalid:
        turn.error(invalid.message, **invalid.params)
        return
    if action == "answer":
        to(turn, "pick", pick="answer_kind", text=text)
        return
    card = desk.card(reference)
    if card is None:
        deny(turn, action, reference)
        return
    if action == "transfer":
        places = [m.collectivity.code for m in turn.ctx.directory.match(text, limit=4)
                  if m.collectivity.code != card.place]
        if not places:
            turn.error(N_("I do not find that collectivity. Try another spelling."))
            return
        to(turn, "pick", pick="place", places=places)
    elif action == "refuse":
        ground, exception = str(scratch.get("ground") or ""), scratch.get("exception")
        if ground not in REFUSAL_GROUNDS or (ground == "article_7" and exception not in ARTICLE_7_EXCEPTIONS):
            to(turn, "pick", pick="ground")
            return
        turn.effects.append(DeskAct("refuse", reference, text=text, ground=ground,
                                    exception=str(exception) if ground == "article_7" else None))
        back_to_card(turn)
    else:  # clarify or note
        turn.effects.append(DeskAct("clarify" if action == "clarify" else "note", reference, text=text))
        back_to_card(turn)


def on_pick(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    scratch = turn.state.scratch
    _, choices = pick_screen(turn.t, scratch, desk, turn.ctx.directory)
    if choice not in {option_id for option_id, _ in choices}:
        turn.error(CHOOSE_BELOW)
        return
    value, pick = choice.partition(":")[2], scratch.get("pick")
    reference = str(scratch.get("ref", ""))
    if pick == "ground":
        scratch["ground"] = value
        if value == "article_7":
            to(turn, "pick", pick="exception")
        else:
            to(turn, "compose", action="refuse")
        return
    if pick == "exception":
        scratch["exception"] = value
        to(turn, "compose", action="refuse")
        return
    card = desk.card(reference)
    if card is None:
        deny(turn, str(scratch.get("action")), reference)
        return
    if pick == "place":
        if turn.ctx.directory.get(value) is None or value == card.place:
            to(turn, "compose", action="transfer")
            return
        turn.effects.append(DeskAct("transfer", reference, to_code=value))
        to_inbox(turn)
        return
    if pick == "reason":
        turn.effects.append(DeskAct("extend", reference, reason=value))
    elif pick == "answer_kind":
        turn.effects.append(DeskAct("answer", reference, text=str(scratch.get("text") or ""),
                                    files=tuple(int(i) for i in scratch.get("files", [])),
                                    partial=value == "partial"))
    elif pick == "clerk":
        turn.effects.append(DeskAct("assign", reference, staff_id=int(value)))
    back_to_card(turn)


def on_report(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    turn.error(TAP_A_REQUEST)


def on_audit(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    """After the export, anything leads back to the inbox (showing the step again would export again)."""
    to_inbox(turn)


def on_calendar(turn: Turn, desk: DeskData, inbound: Inbound, choice: str) -> None:
    if inbound.kind is not InboundKind.CHOICE:
        turn.error(CHOOSE_BELOW)
        return
    parts = choice.split(":")
    view = desk.calendar
    days = {day.isoformat(): day for day, _ in view.upcoming} if view is not None and view.national else {}
    if len(parts) != 3 or parts[0] != "cal" or parts[1] not in ("confirm", "later") or parts[2] not in days:
        turn.effects.append(DeskDenied("calendar", choice[:64]))
        turn.error(CHOOSE_BELOW)
        return
    day = days[parts[2]]
    turn.effects.append(CorrectHoliday(day, day if parts[1] == "confirm" else day.fromordinal(day.toordinal() + 1)))
    to_inbox(turn)


StepHandler = Callable[[Turn, DeskData, Inbound, str], None]
HANDLERS: dict[str, StepHandler] = {
    "list": on_list, "open": on_open, "compose": on_compose, "pick": on_pick,
    "overdue": on_report, "stats": on_report, "calendar": on_calendar, "audit": on_audit,
}


@dataclass(frozen=True, slots=True)
class DeskStep:
    """One desk step: shown by the service, decided here."""

    id: str

    def prompt(self, turn: Turn) -> None:
        turn.effects.append(DeskShow())

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        desk = turn.ctx.desk
        if desk is None:  # not (or no longer) staff: the service's gate normally answers before
            turn.go("menu:main", remember=False)
            return
        choice = inbound.choice_id or "" if inbound.kind is InboundKind.CHOICE else ""
        if choice == "list":
            to(turn, "list")
        elif choice == "back":
            to(turn, "open")
        elif choice.startswith("open:"):
            open_request(turn, desk, choice.partition(":")[2])
        elif self.id in ("list", "open", "overdue", "stats") and (named := references_in(inbound)):
            open_request(turn, desk, named[0])
        else:
            HANDLERS[self.id](turn, desk, inbound, choice)


register(Flow(id="desk", start="list", steps={step: DeskStep(step) for step in DESK_STEPS}))


@on_go("open")
def open_from_notice(turn: Turn, args: list[str]) -> None:
    """A staff notice's 'open' button: straight to that request, when it is in the member's scope."""
    if turn.ctx.staff_role is None or turn.ctx.desk is None or not args:
        turn.stale()
        return
    open_request(turn, turn.ctx.desk, args[0])
