"""Texts the service sends after it has filed or withdrawn a request (it knows the reference and dates)."""

from __future__ import annotations

from datetime import date

from bot.domain.deadlines import RULES, Rule, rule_for
from bot.flows.delays import delay
from bot.flows.labels import DELIVERY_LABELS, label
from bot.i18n import N_, Translator


def receipt(t: Translator, *, kind: str, reference: str, place: str, received_on: date, due_on: date,
            urgent: bool, on_bab: bool, parent: str | None = None, rule: Rule | None = None) -> str:
    """The receipt: reference, addressee, receipt date, legal due date and what happens next.

    `rule` is the rule the due date was computed with (by default the one of `kind` in `RULES`): its delay is
    what the receipt states.
    """
    due_rule = rule or RULES[rule_for(kind, urgent)]
    if kind == "head_complaint":
        lines = [
            t(N_("Your complaint to the head of the collectivity is registered.")),
            t(N_("Reference: {reference}"), reference=reference),
            t(N_("About request {reference}"), reference=parent or ""),
            t(N_("To: {place}"), place=place),
            t(N_("Received on {date}"), date=t.date(received_on)),
            t(N_("The head of the collectivity must answer by {date} ({delay}, law 31-13)."), date=t.date(due_on),
              delay=delay(t, due_rule)),
            "",
            t(N_("If this complaint fails too, I will help you take it to the CDAI.")),
        ]
    elif kind == "access":
        legal = delay(t, due_rule)
        stated = t(N_("{delay}, as an urgent request"), delay=legal) if urgent else t(
            N_("{delay}, weekends and public holidays excluded"), delay=legal)
        lines = [
            t(N_("Your request for information is registered.")),
            t(N_("Reference: {reference}"), reference=reference),
            t(N_("To: {place}"), place=place),
            t(N_("Received on {date}"), date=t.date(received_on)),
            t(N_("Answer due by {date} ({delay}, law 31-13)."), date=t.date(due_on), delay=stated),
            "",
        ]
        if on_bab:
            lines.append(t(N_("This collectivity answers through Bab: its information officer will see your request "
                              "and the answer will reach you here.")))
        else:
            lines.append(t(N_("This collectivity does not answer through Bab yet: our coordinators will pass your "
                              "request on and follow it. You can also file the same text on chafafiya.ma and keep "
                              "your Bab reference to follow it here.")))
        lines.append(t(N_("If the deadline passes without an answer, I will tell you and help you complain.")))
    else:
        lines = [
            t(N_("Your message is registered. Thank you for taking the time.")),
            t(N_("Reference: {reference}"), reference=reference),
            t(N_("To: {place}"), place=place),
            t(N_("Received on {date}"), date=t.date(received_on)),
            t(N_("The administration has {delay} to answer you, by {date} (decree 2-17-265)."),
              date=t.date(due_on), delay=delay(t, due_rule)),
            "",
            t(N_("I will tell you here when it is answered. Type menu to see your requests.")),
        ]
    return "\n".join(lines)


def withdrawn(t: Translator, reference: str) -> str:
    """Confirmation that a request was withdrawn."""
    return t(N_("Request {reference} is withdrawn. The collectivity is told that you no longer need an answer."),
             reference=reference)


def not_withdrawable(t: Translator, reference: str) -> str:
    """A withdrawal refused: the request is already answered or closed, or not the citizen's."""
    return t(N_("Request {reference} can no longer be withdrawn."), reference=reference)


def chafafiya_text(t: Translator, *, reference: str, place: str, name: str, id_number: str, contact: str,
                   topic: str, delivery: str) -> str:
    """The request ready to paste into the national portal, for collectivities that do not answer on Bab."""
    # "Here in the chat" means nothing on the portal: there it is an electronic copy.
    labels = {**DELIVERY_LABELS, "chat": N_("Electronic copy")}
    return "\n".join([
        t(N_("To file it on chafafiya.ma as well, copy this text into the form:")),
        "",
        t(N_("To: {place}"), place=place),
        t(N_("Name: {name}"), name=name),
        t(N_("Card number: {id_number}"), id_number=id_number),
        t(N_("Contact: {contact}"), contact=contact),
        t(N_("Information requested: {topic}"), topic=topic),
        t(N_("Delivery: {delivery}"), delivery=label(labels, delivery, t)),
        t(N_("Bab reference: {reference}"), reference=reference),
    ])

