"""Why a due date is what it is: the receipt, day 0, the days counted and each day off skipped. Pure text."""

from __future__ import annotations

from bot.domain.deadlines import DueDate, Skipped, Unit
from bot.flows.labels import label
from bot.i18n import N_, Translator

# What each rule is about, for the first line of an explanation.
RULE_LABELS = {
    "access": N_("the answer to a request for information (law 31-13)"),
    "access_extension": N_("the answer to a request for information, extended (law 31-13)"),
    "urgent": N_("the answer to an urgent request for information (law 31-13)"),
    "urgent_extension": N_("the answer to an urgent request for information, extended (law 31-13)"),
    "complaint_to_head_filing": N_("a complaint to the head of the collectivity (law 31-13)"),
    "head_answer": N_("the answer of the head of the collectivity to a complaint (law 31-13)"),
    "cdai_filing": N_("a complaint to the CDAI, the access-to-information commission (law 31-13)"),
    "cdai_answer": N_("the answer of the CDAI to a complaint (law 31-13)"),
    "feedback_answer": N_("the answer to a complaint, observation or suggestion (decree 2-17-265)"),
    "feedback_ack": N_("the acknowledgement of a complaint, observation or suggestion (decree 2-17-265)"),
}

# The English names the `holidays` package gives Moroccan public holidays; others (added by hand) show as typed.
HOLIDAY_NAMES = {
    "New Year's Day": N_("New Year's Day"),
    "Proclamation of Independence Day": N_("Proclamation of Independence Day"),
    "Amazigh New Year": N_("Amazigh New Year"),
    "Labor Day": N_("Labor Day"),
    "Throne Day": N_("Throne Day"),
    "Oued Ed-Dahab Day": N_("Oued Ed-Dahab Day"),
    "Revolution Day": N_("Revolution Day"),
    "Youth Day": N_("Youth Day"),
    "Unity Day": N_("Unity Day"),
    "Green March": N_("Green March"),
    "Independence Day": N_("Independence Day"),
    "Eid al-Fitr": N_("Eid al-Fitr"),
    "Eid al-Adha": N_("Eid al-Adha"),
    "Islamic New Year": N_("Islamic New Year"),
    "Prophet's Birthday": N_("Prophet's Birthday"),
}


def holiday_name(t: Translator, name: str) -> str:
    """A holiday's name in the reader's language (names typed by an admin are shown as they are)."""
    return label(HOLIDAY_NAMES, name, t)


def skipped_reason(t: Translator, day: Skipped) -> str:
    """Why one day was not counted: weekend, a public holiday, or a Hijri holiday whose date is estimated."""
    if not day.holidays:
        return t(N_("weekend"))
    joined = ", ".join(holiday_name(t, name) for name in day.holidays)
    if day.estimated:
        return t(N_("{holiday} (date estimated, to be confirmed by moon sighting)"), holiday=joined)
    return joined


def explain_due(t: Translator, due: DueDate) -> str:
    """The whole reasoning behind `due`, one fact per line, in `t`'s language."""
    local = due.received_at.astimezone(due.tz)
    rule = due.rule
    lines = [
        t(N_("Due date of {what}: {date}."), what=t(RULE_LABELS.get(rule.id, rule.id)), date=t.date(due.due)),
        t(N_("Received on {date} at {time} (Moroccan time)."), date=t.date(local.date()),
          time=local.strftime("%H:%M")),
    ]
    if due.start_shifted:
        lines.append(t(N_("It arrived after closing time or on a day off, so counting starts on the next working "
                          "day, {date}."), date=t.date(due.start)))
    else:
        lines.append(t(N_("Counting starts on {date}."), date=t.date(due.start)))
    if rule.unit is Unit.WORKING:
        lines.append(t.ngettext(
            "{days} working day is counted after that day; weekends and public holidays are not counted.",
            "{days} working days are counted after that day; weekends and public holidays are not counted.",
            rule.days, days=rule.days))
    else:
        lines.append(t.ngettext(
            "{days} calendar day is counted after that day; if it is a day off, the deadline moves to the next "
            "working day.",
            "{days} calendar days are counted after that day; if the last one is a day off, the deadline moves to "
            "the next working day.", rule.days, days=rule.days))
    if due.skipped:
        lines.append(t(N_("Days not counted:")))
        lines.extend(f"- {t.date(day.day)}: {skipped_reason(t, day)}" for day in due.skipped)
    else:
        lines.append(t(N_("No day off had to be skipped.")))
    if any(day.estimated for day in due.skipped):
        lines.append(t(N_("Religious holidays follow the moon: if the Ministry of Habous fixes another date, the due "
                          "date is recomputed and you are told.")))
    return "\n".join(lines)
