"""Texts the service sends after it has filed or withdrawn a request (it knows the reference and dates)."""

from __future__ import annotations

from datetime import date

from bot.i18n import N_, Translator


def receipt(t: Translator, *, kind: str, reference: str, place: str, received_on: date, due_on: date,
            urgent: bool, on_bab: bool) -> str:
    """The receipt: reference, addressee, receipt date, legal due date and what happens next."""
    if kind == "access":
        delay = t(N_("3 days, as an urgent request")) if urgent else t(
            N_("20 working days, weekends and public holidays excluded"))
        lines = [
            t(N_("Your request for information is registered.")),
            t(N_("Reference: {reference}"), reference=reference),
            t(N_("To: {place}"), place=place),
            t(N_("Received on {date}"), date=t.date(received_on)),
            t(N_("Answer due by {date} ({delay}, law 31-13)."), date=t.date(due_on), delay=delay),
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
            t(N_("The administration has 60 days to answer you, by {date} (decree 2-17-265)."),
              date=t.date(due_on)),
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
