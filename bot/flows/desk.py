"""The staff desk inside the conversation engine: its steps hand over to the service; its screens are pure.

The inbox lives in the database (lists, scopes, other people's requests), so the desk's steps act through
effects the service carries out: `DeskShow` (render the current step) and `DeskInput` (act on a message). The
service loads a view (an inbox page, a request card) and the `render_*` functions below turn it into the
message and its buttons, without I/O. The engine still owns global commands, stale buttons, back and cancel,
and every navigation (`engine.move`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.flows.engine import Flow, Turn, on_go, register
from bot.flows.labels import DELIVERY_LABELS, kind_label, label, status_label
from bot.flows.places import local_name
from bot.flows.spec import DeskInput, DeskShow, FileRef, Inbound
from bot.i18n import N_, Translator

# list: the inbox page; open: one request and its actions; compose: text (and files) for an action;
# pick: one choice among a list the service shows (reason, ground, exception, clerk, place, answer kind);
# overdue and stats: the coordinators' reports; calendar: confirming or moving estimated holidays.
DESK_STEPS = ("list", "open", "compose", "pick", "overdue", "stats", "calendar")

FILTER_LABELS = {
    "open": N_("To handle"),
    "overdue": N_("Overdue"),
    "mine": N_("Mine"),
    "unassigned": N_("Unassigned"),
    "all": N_("All open"),
}
ACTION_LABELS = {
    "take": N_("Take it"),
    "answer": N_("Answer"),
    "clarify": N_("Ask for clarification"),
    "extend": N_("Extend (+20 working days)"),
    "refuse": N_("Refuse"),
    "transfer": N_("Transfer"),
    "assign": N_("Assign to a clerk"),
    "note": N_("Internal note"),
}
COMPOSE_PROMPTS = {
    "answer": N_("Write your answer to the citizen. You can send documents or photos first: they go with it."),
    "clarify": N_("Write your question to the citizen:"),
    "note": N_("Write an internal note (the citizen does not see it):"),
    "refuse": N_("Write the reason for the refusal, as the citizen will read it:"),
    "transfer": N_("Type the name of the collectivity to transfer it to:"),
}
EVENT_LABELS = {
    "submitted": N_("received"),
    "open": N_("opened"),
    "take": N_("taken"),
    "assigned": N_("assigned"),
    "clarify": N_("clarification asked"),
    "clarified": N_("citizen answered"),
    "extend": N_("extended"),
    "answer": N_("answered"),
    "answer_partially": N_("answered in part"),
    "refuse": N_("refused"),
    "transfer": N_("transferred"),
    "withdraw": N_("withdrawn by the citizen"),
    "close": N_("closed"),
    "rated": N_("rated by the citizen"),
    "note": N_("internal note"),
    "overdue": N_("deadline passed"),
    "due_moved": N_("due date moved"),
}


@dataclass(frozen=True, slots=True)
class DeskStep:
    id: str

    def prompt(self, turn: Turn) -> None:
        turn.effects.append(DeskShow())

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        turn.effects.append(DeskInput(inbound))


register(Flow(id="desk", start="list", steps={step: DeskStep(step) for step in DESK_STEPS}))


@on_go("open")
def open_from_notice(turn: Turn, args: list[str]) -> None:
    """A staff notice's 'open' button: straight to that request (the service checks the scope)."""
    if turn.ctx.staff_role is None or not args:
        turn.stale()
        return
    turn.go("desk:open", remember=False, scratch={"ref": args[0]})


# ---- what the desk shows: pure renderings of the views the service loads --------------------------------------


@dataclass(frozen=True, slots=True)
class Screen:
    """One desk message: its text, its buttons (bound to the state's version when sent) and its files."""

    text: str
    options: tuple[tuple[str, str], ...] = ()
    files: tuple[FileRef, ...] = ()


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One request on an inbox page."""

    reference: str
    urgent: bool
    kind: str
    place: str  # the collectivity's code
    due_on: date
    status: str


@dataclass(frozen=True, slots=True)
class InboxView:
    """One page of the inbox under one filter, as the service loaded it for the member."""

    filter: str
    page: int
    total: int
    rows: tuple[InboxRow, ...]
    filters: tuple[str, ...]  # the filters the member's role offers
    today: date


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One event of a request's history."""

    at: datetime
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class RequestCard:
    """Everything a clerk needs to answer one request, and the actions open to them now."""

    reference: str
    kind: str
    urgent: bool
    place: str  # the collectivity's code
    status: str
    received_on: date
    due_on: date
    today: date
    assignee: str | None
    subject: str
    delivery: str | None = None
    requester_name: str | None = None
    id_number: str | None = None
    contact: str | None = None
    lat: float | None = None
    lon: float | None = None
    parent_reference: str | None = None
    history: tuple[HistoryLine, ...] = ()
    files: tuple[FileRef, ...] = ()
    actions: tuple[str, ...] = ()


PAGE_SIZE = 5


def days_left(t: Translator, today: date, due_on: date) -> str:
    """'3 d left', 'due today' or 'late by 2 d', in the reader's language."""
    days = (due_on - today).days
    if days < 0:
        return t.ngettext("late by {count} d", "late by {count} d", -days, count=-days)
    if days == 0:
        return t(N_("due today"))
    return t.ngettext("{count} d left", "{count} d left", days, count=days)


def place_name(directory: Directory, code: str, t: Translator) -> str:
    """The collectivity's name in the reader's language (its code when the directory no longer has it)."""
    found = directory.get(code)
    return local_name(found, t) if found else code


def render_inbox(t: Translator, view: InboxView, directory: Directory) -> Screen:
    """The inbox page: one line per request, its buttons, paging and the other filters."""
    lines = [t(N_("Inbox, {filter}: {count} open"), filter=t(FILTER_LABELS[view.filter]), count=view.total)]
    if not view.rows:
        lines.append(t(N_("Nothing here.")))
    for row in view.rows:
        lines.append("• " + " · ".join([
            row.reference + (" ⚡" if row.urgent else ""),
            kind_label(row.kind, t),
            place_name(directory, row.place, t),
            days_left(t, view.today, row.due_on),
            status_label(row.status, t),
        ]))
    if view.total > PAGE_SIZE:
        lines.append(t(N_("Page {page} of {pages}"), page=view.page + 1,
                       pages=(view.total + PAGE_SIZE - 1) // PAGE_SIZE))
    options = [(f"open:{row.reference}", row.reference) for row in view.rows]
    if view.page > 0:
        options.append(("p:prev", t(N_("Previous page"))))
    if (view.page + 1) * PAGE_SIZE < view.total:
        options.append(("p:next", t(N_("Next page"))))
    options += [(f"f:{other}", t(FILTER_LABELS[other])) for other in view.filters if other != view.filter]
    return Screen("\n".join(lines), tuple(options))


def render_request(t: Translator, card: RequestCard, directory: Directory) -> Screen:
    """The request card: facts, the requester, history, the citizen's files and the action buttons."""
    lines = [
        t(N_("{kind} {reference}"), kind=kind_label(card.kind, t), reference=card.reference)
        + (" ⚡ " + t(N_("urgent")) if card.urgent else ""),
        t(N_("To: {place}"), place=place_name(directory, card.place, t)),
        t(N_("Status: {status}"), status=status_label(card.status, t)),
        t(N_("Received on {date}"), date=t.date(card.received_on)),
        t(N_("Answer due by {date}"), date=t.date(card.due_on)) + f" ({days_left(t, card.today, card.due_on)})",
        t(N_("Handled by: {name}"), name=card.assignee or t(N_("nobody yet"))),
        "",
        t(N_("Request: {subject}"), subject=card.subject),
    ]
    if card.kind == "access":
        lines += [
            t(N_("Delivery: {delivery}"), delivery=label(DELIVERY_LABELS, card.delivery, t) or "-"),
            t(N_("Requester: {name}, card {id_number}, contact {contact}"), name=card.requester_name or "-",
              id_number=card.id_number or "-", contact=card.contact or "-"),
        ]
    elif card.contact:
        lines.append(t(N_("Contact: {contact}"), contact=card.contact))
    if card.lat is not None and card.lon is not None:
        lines.append(t(N_("Location: {lat}, {lon}"), lat=f"{card.lat:.5f}", lon=f"{card.lon:.5f}"))
    if card.parent_reference is not None:
        lines.append(t(N_("About request {reference}"), reference=card.parent_reference))
    lines += ["", t(N_("History:"))]
    for event in card.history:
        when = event.at.astimezone(CASABLANCA)
        what = t(EVENT_LABELS[event.kind]) if event.kind in EVENT_LABELS else event.kind
        lines.append(f"• {t.date(when.date())} {when:%H:%M} {what}" + (f": {event.detail}" if event.detail else ""))
    options = [(f"a:{action}", t(ACTION_LABELS[action])) for action in card.actions]
    options.append(("list", t(N_("Back to the inbox"))))
    return Screen("\n".join(lines), tuple(options), card.files)
