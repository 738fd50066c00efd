"""Announcements of notices for channels that need pre-approved templates outside a conversation (WhatsApp).

Each notice Bab sends outside a conversation has a kind (`Outbound.notice`); each kind has one template whose
text names only facts (a reference, a date, a place), so that it qualifies as a "utility" template. The
template is a doorbell: its button brings the person back, which opens the window, and the full notice (with
its own buttons) follows. Texts live in the catalogues like every other word; `bab whatsapp templates` prints
them for submission, with `{{1}}`-style placeholders in the order of `params`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, Translator

RESUME = "go:resume"  # the template button's payload: "show me what waited"


@dataclass(frozen=True, slots=True)
class TemplateKind:
    """One template: its body msgid, the order of its parameters, and example values for the submission."""

    kind: str
    body: str
    params: tuple[str, ...]
    example: tuple[tuple[str, str], ...]
    audience: str  # "citizen" or "staff"


BUTTON = N_("Read it")  # the quick-reply button of every template (25 characters at most)

TEMPLATE_KINDS: dict[str, TemplateKind] = {kind.kind: kind for kind in (
    TemplateKind("request_news", N_("Bab: there is news about your request {reference}. Tap the button below to "
                                    "read it."),
                 ("reference",), (("reference", "BAB-7K3MQ9"),), "citizen"),
    TemplateKind("request_answered", N_("Bab: {place} has answered your request {reference}. Tap the button below "
                                        "to read the answer."),
                 ("place", "reference"), (("place", "Commune Agadir"), ("reference", "BAB-7K3MQ9")), "citizen"),
    TemplateKind("clarification_asked", N_("Bab: {place} needs a clarification about your request {reference}. "
                                           "Tap the button below to read the question."),
                 ("place", "reference"), (("place", "Commune Agadir"), ("reference", "BAB-7K3MQ9")), "citizen"),
    TemplateKind("deadline_passed", N_("Bab: your request {reference} was due on {date} and has no answer yet. Tap "
                                       "the button below to see what you can do."),
                 ("reference", "date"), (("reference", "BAB-7K3MQ9"), ("date", "14/12/2026")), "citizen"),
    TemplateKind("staff_news", N_("Bab: request {reference} in your inbox has news. Tap the button below to read "
                                  "it."),
                 ("reference",), (("reference", "BAB-7K3MQ9"),), "staff"),
    TemplateKind("staff_reminder", N_("Bab reminder: request {reference} is due on {date} and needs your "
                                      "attention. Tap the button below to read it."),
                 ("reference", "date"), (("reference", "BAB-7K3MQ9"), ("date", "14/12/2026")), "staff"),
    TemplateKind("staff_digest", N_("Bab daily summary for {date}: {overdue} overdue, {due_soon} due in the next "
                                    "7 days, {answered} answered in the last 7 days. Tap the button below to read "
                                    "it."),
                 ("date", "overdue", "due_soon", "answered"),
                 (("date", "14/12/2026"), ("overdue", "3"), ("due_soon", "5"), ("answered", "12")), "staff"),
)}


def submission_text(t: Translator, kind: TemplateKind) -> str:
    """The template body in `t`'s language with Meta's numbered placeholders ({{1}}, {{2}}…)."""
    numbered = {name: "{{%d}}" % index for index, name in enumerate(kind.params, start=1)}
    return t(kind.body, **numbered)


def parameters(kind: TemplateKind, values: dict[str, str]) -> list[str]:
    """The notice's facts in the template's parameter order (a missing one becomes '-', never a wrong count)."""
    return [str(values.get(name) or "-")[:200] for name in kind.params]
