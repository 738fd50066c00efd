"""What the staff desk shows: pure renderings of the desk's state and the views the service loaded.

`render(t, state, desk, directory)` makes the one message (text, buttons, files) of the desk's current step;
`outcome_text` the line that tells the member how an action went. No I/O: a test builds the views by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.lifecycle import (
    ARTICLE_7_EXCEPTIONS,
    EXTENSION_REASONS,
    REFUSAL_GROUNDS,
)
from bot.domain.values import FileRef
from bot.flows.desk_views import (
    AuditExport,
    CalendarView,
    DeskData,
    InboxView,
    OverdueView,
    RequestCard,
    StatsRow,
    StatsView,
)
from bot.flows.explain import holiday_name
from bot.flows.labels import (
    ARTICLE_7_LABELS,
    DELIVERY_LABELS,
    EXTENSION_REASON_LABELS,
    REFUSAL_GROUND_LABELS,
    kind_label,
    label,
    status_label,
)
from bot.flows.places import local_name
from bot.flows.spec import State
from bot.i18n import N_, Translator

PAGE_SIZE = 5

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
    "extend": N_("Extend the deadline"),
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
# What the member is told once an action is carried out.
DONE = {
    "take": N_("You handle {reference} now."),
    "clarify": N_("Your question is sent to the citizen ({reference})."),
    "note": N_("Note added to {reference}."),
    "extend": N_("Extended: {reference} is now due by {date}. The citizen is told."),
    "answer": N_("Your answer is sent to the citizen ({reference})."),
    "refuse": N_("Refusal sent to the citizen ({reference})."),
    "transfer": N_("{reference} is transferred to {place}. The citizen is told."),
    "assign": N_("{reference} is assigned to {name}."),
}
NOT_FOUND = N_("I find no request {reference} in your inbox.")


@dataclass(frozen=True, slots=True)
class Screen:
    """One desk message: its text, its buttons (bound to the state's version when sent) and its files."""

    text: str
    options: tuple[tuple[str, str], ...] = ()
    files: tuple[FileRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a staff action went: `result` is done, no_longer_possible (the request moved on meanwhile),
    not_extendable, invalid (a choice that no longer stands) or denied (out of scope: the screen says so)."""

    action: str
    reference: str
    result: str
    status: str = ""
    due_on: date | None = None
    place: str = ""  # the collectivity's code
    name: str = ""


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


def outcome_text(t: Translator, outcome: Outcome, directory: Directory) -> str | None:
    """The line telling the member how the action went (None: nothing to say, e.g. a request just opened)."""
    reference = outcome.reference
    if outcome.result == "no_longer_possible":
        return t(N_("This is no longer possible: {reference} is now {status}."), reference=reference,
                 status=status_label(outcome.status, t))
    if outcome.result == "not_extendable":
        return t(N_("The deadline of {reference} can no longer be extended: the law allows it once, before the "
                    "first deadline."), reference=reference)
    if outcome.result == "invalid":
        return t(N_("Please choose one of the options below."))
    if outcome.result != "done" or outcome.action not in DONE:
        return None
    params: dict[str, Any] = {"reference": reference}
    if outcome.action == "extend" and outcome.due_on is not None:
        params["date"] = t.date(outcome.due_on)
    if outcome.action == "transfer":
        params["place"] = place_name(directory, outcome.place, t)
    if outcome.action == "assign":
        params["name"] = outcome.name
    return t(DONE[outcome.action], **params)


def pick_screen(t: Translator, scratch: dict[str, Any], desk: DeskData,
                directory: Directory) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The question and (id, label) choices of the current pick; the decision checks a press against these ids."""
    pick = scratch.get("pick")
    if pick == "ground":
        return t(N_("On which legal ground do you refuse?")), tuple(
            (f"c:{g}", t(REFUSAL_GROUND_LABELS[g])) for g in REFUSAL_GROUNDS)
    if pick == "exception":
        return t(N_("Which exception of article 7?")), tuple(
            (f"c:{e}", t(ARTICLE_7_LABELS[e])) for e in ARTICLE_7_EXCEPTIONS)
    if pick == "reason":
        return t(N_("Why extend the deadline? The citizen is told the reason and the new date.")), tuple(
            (f"c:{r}", t(EXTENSION_REASON_LABELS[r])) for r in EXTENSION_REASONS)
    if pick == "answer_kind":
        return t(N_("Does this answer the whole request?")), (
            ("c:full", t(N_("Yes, in full"))), ("c:partial", t(N_("In part only"))))
    if pick == "place":
        return t(N_("Transfer to which collectivity?")), tuple(
            (f"c:{code}", place_name(directory, code, t) + f" ({code})") for code in scratch.get("places", []))
    # clerk: the active clerks of the request's collectivity, and the member themself
    choices = [(f"c:{clerk.id}", clerk.name) for clerk in desk.clerks if clerk.id != desk.member_id]
    choices.append((f"c:{desk.member_id}", t(N_("Me"))))
    return t(N_("Assign it to whom?")), tuple(choices)


def render(t: Translator, state: State, desk: DeskData, directory: Directory) -> Screen:
    """The message of the desk's current step."""
    step, page = state.step, desk.page
    cancel = ("back", t(N_("Cancel this action")))
    if step == "compose":
        prompt = COMPOSE_PROMPTS.get(str(state.scratch.get("action")), COMPOSE_PROMPTS["note"])
        return Screen(t(prompt), (cancel,))
    if step == "pick":
        question, choices = pick_screen(t, state.scratch, desk, directory)
        return Screen(question, (*choices, cancel))
    if step == "open":
        if isinstance(page, RequestCard):
            return render_request(t, page, directory)
        return Screen(t(NOT_FOUND, reference=str(state.scratch.get("ref", ""))), (("list", t(N_("Back to the inbox"))),))
    if isinstance(page, OverdueView):
        return render_overdue(t, page, directory)
    if isinstance(page, AuditExport):
        return render_audit(t, page)
    if isinstance(page, StatsView):
        return render_stats(t, page, directory)
    if step == "calendar":
        return render_calendar(t, desk.calendar or CalendarView(national=False))
    if isinstance(page, InboxView):
        return render_inbox(t, page, directory)
    return Screen(t(N_("Nothing here.")), (("list", t(N_("Back to the inbox"))),))


def render_audit(t: Translator, view: AuditExport) -> Screen:
    """The audit log's export: the file, or why there is none."""
    back = (("list", t(N_("Back to the inbox"))),)
    if not view.allowed or view.file is None:
        return Screen(t(N_("Only coordinators can export the audit log.")), back)
    return Screen(t(N_("The audit log of your area: {count} events (views of requesters' details, refused actions), "
                       "as a CSV file for an inspection."), count=view.count), back, files=(view.file,))


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


def render_overdue(t: Translator, view: OverdueView, directory: Directory) -> Screen:
    """The overdue requests grouped by collectivity, the busiest first, with buttons for the longest overdue."""
    back = ("list", t(N_("Back to the inbox")))
    if not view.total:
        return Screen(t(N_("No overdue request in your scope.")), (back,))
    lines = [t(N_("Overdue requests: {count}"), count=view.total)]
    for group in view.groups:
        lines.append(f"\n{place_name(directory, group.place, t)} ({group.count})")
        lines += [f"• {row.reference} · {days_left(t, view.today, row.due_on)}" for row in group.rows]
    options = [(f"open:{row.reference}", row.reference) for row in view.first]
    return Screen("\n".join(lines), (*options, back))


def stats_line(t: Translator, row: StatsRow, directory: Directory) -> str:
    """One collectivity's figures on one line."""
    return t(N_("{place}: {received} received, {answered} answered, {refused} refused, {overdue} overdue, "
                "median {median} working days to answer, {on_time}% answered on time"),
             place=place_name(directory, row.code, t) if row.code else t(N_("All")), received=row.received,
             answered=row.answered, refused=row.refused, overdue=row.overdue,
             median=f"{row.median_days:g}" if row.median_days is not None else "-",
             on_time=row.on_time_percent if row.on_time_percent is not None else "-")


def render_stats(t: Translator, view: StatsView, directory: Directory) -> Screen:
    """The figures of the member's scope, then of its busiest collectivities."""
    back = ("list", t(N_("Back to the inbox")))
    if not view.rows:
        return Screen(t(N_("No request in your scope yet.")), (back,))
    when = (view.as_of or datetime.now(CASABLANCA)).astimezone(CASABLANCA)
    lines = [t(N_("Figures since the start, per collectivity, counted on {date} at {time}:"),
               date=t.date(when.date()), time=f"{when:%H:%M}")]
    lines += [stats_line(t, row, directory) for row in view.rows]
    if view.more:
        lines.append(t.ngettext("… and {count} more collectivity.", "… and {count} more collectivities.",
                                view.more, count=view.more))
    return Screen("\n".join(lines), (back,))


def render_calendar(t: Translator, view: CalendarView) -> Screen:
    """The estimated holidays ahead, each with a button to confirm it and one to move it a day later."""
    back = ("list", t(N_("Back to the inbox")))
    if not view.national:
        return Screen(t(N_("Only national coordinators and admins can correct the holiday calendar.")), (back,))
    lines = [t(N_("Estimated religious holidays ahead. When the moon sighting is announced, confirm or move "
                  "them: every open due date is recomputed and the people concerned are told."))]
    options: list[tuple[str, str]] = []
    for day, name in view.upcoming:
        lines.append(f"• {t.date(day)}: {holiday_name(t, name)}")
        later = day.fromordinal(day.toordinal() + 1)
        options += [(f"cal:confirm:{day.isoformat()}", t(N_("Confirm {date}"), date=t.date(day))),
                    (f"cal:later:{day.isoformat()}", t(N_("Move to {date}"), date=t.date(later)))]
    return Screen("\n".join(lines), (*options, back))
