"""Messages sent outside a conversation: what the collectivity did, told to the citizen in their language,
and what needs doing, told to staff. Pure text builders; the service sends them through the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.domain.deadlines import RULES, Rule
from bot.flows.delays import delay
from bot.flows.labels import (
    ARTICLE_7_LABELS,
    EXTENSION_REASON_LABELS,
    REFUSAL_GROUND_LABELS,
    kind_label,
    label,
)
from bot.flows.remedies import (
    COMPLAINT_NOT_OPEN,
    NOT_AWAITING_REPLY,
    cdai_option,
    complain_option,
    rating_options,
    reply_option,
)
from bot.flows.spec import FileRef, Option, Outbound
from bot.i18n import N_, Translator


def _out(t: Translator, lines: list[str], options: tuple[Option, ...] = (),
         files: tuple[FileRef, ...] = (), notice: str | None = None, **facts: str) -> Outbound:
    """A notice; `notice` names its template kind (bot/flows/templates.py) and `facts` fill the template."""
    rows = tuple((option.id, option.label if option.literal else t(option.label)) for option in options)
    # 'go:' buttons work from any state; version 0 keeps adapters' callback data well formed.
    return Outbound(text="\n".join(lines), locale=t.locale, options=rows, version=0 if rows else None, files=files,
                    notice=notice, notice_params=tuple(facts.items()))


def acknowledged(t: Translator, reference: str, place: str) -> Outbound:
    return _out(t, [t(N_("Good news: {place} has opened your request {reference}. You will hear from me when "
                         "there is an answer."), place=place, reference=reference)],
                notice="request_news", reference=reference)


def clarification(t: Translator, reference: str, place: str, question: str) -> Outbound:
    return _out(t, [
        t(N_("{place} needs a clarification about your request {reference}:"), place=place, reference=reference),
        "",
        f"« {question} »",
        "",
        t(N_("Tap the button to answer.")),
    ], (reply_option(reference),), notice="clarification_asked", reference=reference, place=place)


def extended(t: Translator, reference: str, place: str, reason: str, due_on: date,
             extension: Rule = RULES["access_extension"]) -> Outbound:
    """The deadline was extended once by `extension` (+20 working days for access, +3 days when urgent)."""
    return _out(t, [
        t(N_("{place} extends the deadline of your request {reference} by {delay}, as law 31-13 allows, "
             "for this reason: {reason}."), place=place, reference=reference,
          reason=label(EXTENSION_REASON_LABELS, reason, t), delay=delay(t, extension)),
        t(N_("The answer is now due by {date}."), date=t.date(due_on)),
    ], notice="request_news", reference=reference)


def answered(t: Translator, reference: str, place: str, text: str, partial: bool, files: tuple[FileRef, ...],
             kind: str) -> Outbound:
    head = (N_("{place} has answered your request {reference} in part:") if partial
            else N_("{place} has answered your request {reference}:"))
    lines = [t(head, place=place, reference=reference), "", f"« {text} »"]
    if files:
        lines += ["", t(N_("Documents attached: {count}"), count=len(files))]
    lines += ["", t(N_("Does this answer your request?"))]
    return _out(t, lines, rating_options(reference), files, notice="request_answered", reference=reference, place=place)


def refused(t: Translator, reference: str, place: str, ground: str, exception: str | None, reason: str,
            can_complain: bool, cdai_next: bool = False) -> Outbound:
    lines = [
        t(N_("{place} has refused your request {reference}."), place=place, reference=reference),
        t(N_("Legal ground: {ground}"), ground=label(REFUSAL_GROUND_LABELS, ground, t)),
    ]
    if exception:
        lines.append(t(N_("Exception (article 7): {exception}"), exception=label(ARTICLE_7_LABELS, exception, t)))
    lines += [t(N_("Their reason: {reason}"), reason=reason), ""]
    options: tuple[Option, ...] = ()
    if can_complain:
        lines.append(t(N_("You can complain to the head of the collectivity within {delay} (law 31-13). "
                          "I can write it with you."), delay=delay(t, RULES["complaint_to_head_filing"])))
        options = (complain_option(reference),)
    elif cdai_next:
        lines.append(t(N_("The next step is the Commission for the right of access to information (CDAI): I can "
                          "prepare what to send it.")))
        options = (cdai_option(reference),)
    return _out(t, lines, options, notice="request_answered", reference=reference, place=place)


def transferred(t: Translator, reference: str, place: str, received_on: date, due_on: date) -> Outbound:
    return _out(t, [
        t(N_("Your request {reference} concerns another collectivity: it has been transferred to {place}."),
          reference=reference, place=place),
        t(N_("Your receipt date stays {received}, and the answer is still due by {due}."),
          received=t.date(received_on), due=t.date(due_on)),
    ], notice="request_news", reference=reference)


def reply_sent(t: Translator, reference: str) -> Outbound:
    return _out(t, [t(N_("Your answer is sent to the collectivity (request {reference})."), reference=reference)])


def reply_refused(t: Translator, reference: str) -> Outbound:
    return _out(t, [t(NOT_AWAITING_REPLY, reference=reference)])


def complaint_refused(t: Translator, reference: str) -> Outbound:
    return _out(t, [t(COMPLAINT_NOT_OPEN, reference=reference, delay=delay(t, RULES["complaint_to_head_filing"]))])


def open_button(reference: str) -> Option:
    """A staff notice's button that opens the request in the inbox."""
    return Option(f"go:open:{reference}", reference, literal=True)


def staff_new_request(t: Translator, reference: str, kind: str, place: str, due_on: date,
                      transferred_in: bool) -> Outbound:
    head = (N_("Request {reference} has been transferred to {place}: {kind}, answer due by {due}.") if transferred_in
            else N_("New in the inbox: {kind} {reference} to {place}, answer due by {due}."))
    return _out(t, [t(head, reference=reference, place=place, kind=kind_label(kind, t), due=t.date(due_on))],
                (open_button(reference),), notice="staff_news", reference=reference)


def staff_citizen_replied(t: Translator, reference: str) -> Outbound:
    return _out(t, [t(N_("The citizen has answered your clarification on {reference}."), reference=reference)],
                (open_button(reference),), notice="staff_news", reference=reference)


def staff_withdrawn(t: Translator, reference: str) -> Outbound:
    return _out(t, [t(N_("The citizen has withdrawn request {reference}: no answer is needed."),
                      reference=reference)], notice="staff_news", reference=reference)


def staff_assigned(t: Translator, reference: str, by: str) -> Outbound:
    return _out(t, [t(N_("{name} has assigned request {reference} to you."), name=by, reference=reference)],
                (open_button(reference),), notice="staff_news", reference=reference)


def overdue_access(t: Translator, reference: str, due_on: date, until: date) -> Outbound:
    """An access request is late: the citizen may complain to the head of the collectivity until `until`."""
    return _out(t, [t(N_("Your request {reference} was due on {date} and has no answer yet. The law allows you to "
                         "complain to the head of the collectivity within {delay}, by {until}. I can prepare "
                         "the complaint with you now."), reference=reference, date=t.date(due_on),
                      until=t.date(until), delay=delay(t, RULES["complaint_to_head_filing"]))], (complain_option(reference),),
                notice="deadline_passed", reference=reference, date=t.date(due_on))


def overdue_head_complaint(t: Translator, reference: str, due_on: date, until: date) -> Outbound:
    """The head did not answer a complaint in time: the citizen may go to the CDAI until `until`."""
    return _out(t, [t(N_("The head of the collectivity has not answered your complaint {reference}, due on {date}. "
                         "You may now complain to the CDAI, the access-to-information commission (cdai.ma), within "
                         "{delay}, by {until}."), reference=reference, date=t.date(due_on), until=t.date(until),
                      delay=delay(t, RULES["cdai_filing"]))],
                (cdai_option(reference),), notice="deadline_passed", reference=reference, date=t.date(due_on))


def overdue_feedback(t: Translator, reference: str, due_on: date) -> Outbound:
    """A complaint, observation or suggestion is late: the citizen is only told."""
    return _out(t, [t(N_("Your {reference} was due for an answer on {date} and the administration is late. We have "
                         "reminded the collectivity, and I will tell you here when it answers."),
                      reference=reference, date=t.date(due_on))],
                notice="deadline_passed", reference=reference, date=t.date(due_on))


def due_moved(t: Translator, reference: str, new: date, old: date) -> Outbound:
    """The holiday calendar was corrected and the request's due date moved."""
    return _out(t, [t(N_("The legal due date of your request {reference} has changed because the official holiday "
                         "calendar was corrected: it is now {new} (it was {old})."),
                      reference=reference, new=t.date(new), old=t.date(old))],
                notice="request_news", reference=reference)


def staff_reminder(t: Translator, reference: str, place: str, due_on: date, days_left: int) -> Outbound:
    """A request's due date is near (`days_left` working days; 0 or less: today)."""
    if days_left <= 0:
        text = t(N_("Reminder: request {reference} to {place} is due today, {date}."), reference=reference,
                 place=place, date=t.date(due_on))
    else:
        text = t(N_("Reminder: request {reference} to {place} is due on {date}. Working days left: {days}."),
                 reference=reference, place=place, date=t.date(due_on), days=days_left)
    return _out(t, [text], (open_button(reference),), notice="staff_reminder", reference=reference, date=t.date(due_on))


def staff_overdue(t: Translator, reference: str, place: str, due_on: date) -> Outbound:
    return _out(t, [t(N_("Overdue: request {reference} to {place} was due on {date} and has no answer yet. Please "
                         "answer it or tell the citizen when they will have it."), reference=reference, place=place,
                      date=t.date(due_on))], (open_button(reference),),
                notice="staff_reminder", reference=reference, date=t.date(due_on))


def staff_escalation(t: Translator, reference: str, place: str, days_late: int, due_on: date) -> Outbound:
    return _out(t, [t.ngettext("Escalation: request {reference} to {place} is {days} working day past its due date "
                               "({date}) with no answer. It needs your attention.",
                               "Escalation: request {reference} to {place} is {days} working days past its due "
                               "date ({date}) with no answer. It needs your attention.", days_late,
                               reference=reference, place=place, days=days_late, date=t.date(due_on))], (open_button(reference),),
                notice="staff_reminder", reference=reference, date=t.date(due_on))


def _listed(t: Translator, head: str, references: Sequence[str], tail: str, notice: str) -> Outbound:
    """Several requests in one staff notice: `head` (with the count), the first references, `tail`, and a button
    for each of the first three."""
    return _out(t, [head + _refs(references, len(references)), tail],
                tuple(open_button(reference) for reference in references[:3]), notice=notice,
                reference=references[0] if references else "")


def staff_reminders(t: Translator, references: Sequence[str], days: int) -> Outbound:
    """A sweep's reminders to one person, when they are several: the requests due within `days` working days."""
    return _listed(t, t(N_("Reminder: requests due within {days} working days: {count}"), days=days,
                        count=len(references)), references,
                   t(N_("Tap one to open it, or type /inbox to see them all.")), "staff_news")


def staff_overdues(t: Translator, references: Sequence[str]) -> Outbound:
    """A sweep's overdue alerts to one person, when they are several."""
    return _listed(t, t(N_("Overdue: requests you handle past their due date with no answer yet: {count}"),
                        count=len(references)), references,
                   t(N_("Please answer them or tell the citizens when they will have an answer. Tap one to open "
                        "it, or type /overdue to see them all.")), "staff_news")


def staff_escalations(t: Translator, references: Sequence[str], days: int) -> Outbound:
    """A sweep's escalations to one coordinator, when they are several: requests `days` working days or more
    past their due date."""
    return _listed(t, t(N_("Escalation: requests in your scope {days} working days or more past their due date "
                           "with no answer: {count}"), days=days, count=len(references)), references,
                   t(N_("They need your attention. Tap one to open it, or type /overdue to see them all.")),
                   "staff_news")


def staff_escalations_missed(t: Translator, references: Sequence[str]) -> Outbound:
    """The escalated requests still open that reached a coordinator only now (they joined, or became the level
    one up, after the escalation): how many, the first references, a button for the first three."""
    return _listed(t, t(N_("Escalated requests still open that you were not told of: {count}"),
                        count=len(references)), references,
                   t(N_("They are in your scope and long past their due date with no answer. Tap one to open it, "
                        "or type /overdue to see them all.")), "staff_news")


def staff_due_moved(t: Translator, reference: str, new: date, old: date) -> Outbound:
    return _out(t, [t(N_("Due date changed for request {reference}: now {new}, was {old} (holiday calendar "
                         "corrected)."), reference=reference, new=t.date(new), old=t.date(old))],
                (open_button(reference),), notice="staff_news", reference=reference)


DIGEST_LIST = 10  # references listed per digest line; the count says the rest


def _refs(references: Sequence[str], count: int) -> str:
    """' — BAB-…, BAB-…' for the first references of a digest line of `count` (nothing when empty)."""
    if not references:
        return ""
    shown = ", ".join(references[:DIGEST_LIST])
    return f" — {shown}" + (" …" if count > DIGEST_LIST else "")


def staff_digest(t: Translator, day: date, overdue: int, overdue_refs: Sequence[str], due_soon: int,
                 due_soon_refs: Sequence[str], answered: int) -> Outbound:
    """A coordinator's daily summary: how many requests are overdue and due within 7 days (with their first
    references), and how many were answered."""
    return _out(t, [t(N_("Bab daily summary, {date}:"), date=t.date(day)),
                    t(N_("Overdue: {count}"), count=overdue) + _refs(overdue_refs, overdue),
                    t(N_("Due in the next 7 days: {count}"), count=due_soon) + _refs(due_soon_refs, due_soon),
                    t(N_("Answered in the last 7 days: {count}"), count=answered)],
                notice="staff_digest", date=t.date(day), overdue=str(overdue), due_soon=str(due_soon),
                answered=str(answered))


def staff_linked(t: Translator, role: str, name: str) -> Outbound:
    """Welcome of a staff member whose chat account was just linked."""
    roles = {"clerk": N_("clerk"), "coordinator": N_("coordinator"), "admin": N_("administrator")}
    return Outbound(text=t(N_("Welcome, {name}: this account is now linked to Bab as {role}. Type /inbox at any time "
                              "to see the requests, /overdue and /stats for the reports."),
                           name=name, role=t(roles.get(role, role))), locale=t.locale)


def invite_refused(t: Translator) -> Outbound:
    """An invite code that is unknown, already used or expired."""
    return Outbound(text=t(N_("This invite code is not valid: it may have been used already or have expired. Ask "
                              "your coordinator for a new one.")), locale=t.locale)


def access_revoked(t: Translator) -> Outbound:
    """A revoked staff account trying to use the inbox."""
    return Outbound(text=t(N_("Your staff access to Bab has been revoked. Contact your coordinator if this is a "
                              "mistake.")), locale=t.locale)
