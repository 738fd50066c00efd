"""What the citizen and staff are told when a citizen corrects, limits or erases their data. Pure text builders;
`bot.services.privacy` sends them through the outbox."""

from __future__ import annotations

from bot.flows.spec import Option, Outbound
from bot.i18n import N_, Translator

FIELD_NAMES = {
    "name": N_("name"),
    "id_number": N_("card number"),
    "contact": N_("contact"),
}
OPTIONAL_NAMES = {
    "contact": N_("contact (phone or e-mail)"),
    "location": N_("location"),
    "photos": N_("photos"),
}


def _staff(t: Translator, text: str, reference: str) -> Outbound:
    """A staff notice with the button that opens the request in the inbox."""
    option = Option(f"go:open:{reference}", reference, literal=True)
    return Outbound(text=text, locale=t.locale, options=((option.id, option.label),), version=0,
                    notice="staff_news", notice_params=(("reference", reference),))


def staff_corrected(t: Translator, reference: str, field: str) -> Outbound:
    return _staff(t, t(N_("The citizen has corrected their {field} on request {reference}. Open it to see the new "
                          "details."), field=t(FIELD_NAMES[field]), reference=reference), reference)


def staff_optional_erased(t: Translator, reference: str, what: str) -> Outbound:
    return _staff(t, t(N_("The citizen has withdrawn their consent for the {what} of request {reference}: it was "
                          "erased. Do not use a copy of it."), what=t(OPTIONAL_NAMES[what]), reference=reference),
                  reference)


def staff_forgotten(t: Translator, reference: str, withdrawn: bool) -> Outbound:
    text = (N_("The citizen has withdrawn request {reference} and asked Bab to erase their personal data: no answer "
               "is needed. Delete any copy of their details you made.") if withdrawn else
            N_("The citizen of request {reference} asked Bab to erase their personal data: their name, card number "
               "and contact are erased. The request stays open: answer it here as usual, and delete any copy of "
               "their details you made."))
    return _staff(t, t(text, reference=reference), reference)


def corrected(t: Translator, field: str, count: int, told: int) -> Outbound:
    """The citizen's correction was applied to `count` requests, `told` of them open (their collectivity told)."""
    if count == 0:
        text = t(N_("Bab holds no {field} of yours on any request, so nothing was changed."), field=t(FIELD_NAMES[field]))
    else:
        text = t.ngettext("Done: your {field} is corrected on {count} request.",
                          "Done: your {field} is corrected on {count} requests.", count,
                          field=t(FIELD_NAMES[field]), count=count)
        if told:
            text += "\n" + t(N_("The collectivity of each open request was told."))
    return Outbound(text=text, locale=t.locale)


def optional_erased(t: Translator, what: str, count: int, told: int) -> Outbound:
    """The objection is recorded: what was erased, and that the forms will not ask for it again."""
    if count == 0:
        text = t(N_("None of your requests holds a {what}: nothing to erase."), what=t(OPTIONAL_NAMES[what]))
    else:
        text = t.ngettext("Done: the {what} is erased from {count} request.",
                          "Done: the {what} is erased from {count} requests.", count,
                          what=t(OPTIONAL_NAMES[what]), count=count)
        if told:
            text += "\n" + t(N_("The collectivity of each open request was told."))
    text += "\n" + t(N_("From now on Bab will not ask you for it ({what}). To allow it again: /mydata, then Remove "
                        "optional data."), what=t(OPTIONAL_NAMES[what]))
    return Outbound(text=text, locale=t.locale)


def objection_lifted(t: Translator, what: str) -> Outbound:
    return Outbound(text=t(N_("Done: your next forms may ask for it again ({what}); giving it stays optional."),
                           what=t(OPTIONAL_NAMES[what])), locale=t.locale)


def forgotten(t: Translator, withdrawn: list[str], kept: list[str]) -> Outbound:
    lines = [t(N_("Done: Bab has erased your personal data. Only the anonymous facts of your requests remain, for "
                  "the public statistics."))]
    if withdrawn:
        lines.append(t(N_("Withdrawn, and the collectivity told: {references}."), references=", ".join(withdrawn)))
    if kept:
        lines.append(t(N_("Still open, and you will get the answer here: {references}."), references=", ".join(kept)))
    return Outbound(text="\n".join(lines), locale=t.locale)
