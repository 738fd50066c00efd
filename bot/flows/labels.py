"""Words for statuses and kinds, shared by the citizen's list, receipts and notices."""

from __future__ import annotations

from bot.i18n import N_, Translator

STATUS_LABELS = {
    "submitted": N_("received, waiting to be opened"),
    "acknowledged": N_("opened by the collectivity"),
    "in_progress": N_("being handled"),
    "clarification": N_("clarification requested from you"),
    "extended": N_("deadline extended"),
    "answered": N_("answered"),
    "partially_answered": N_("partly answered"),
    "refused": N_("refused"),
    "transferred": N_("transferred to another collectivity"),
    "withdrawn": N_("withdrawn by you"),
    "closed": N_("closed"),
}
KIND_LABELS = {
    "access": N_("Request for information"),
    "complaint": N_("Complaint"),
    "observation": N_("Observation"),
    "suggestion": N_("Suggestion"),
}


def status_label(status: str, t: Translator) -> str:
    """The status in the user's words (the raw id when unknown)."""
    return t(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def kind_label(kind: str, t: Translator) -> str:
    """The request kind in the user's words (the raw id when unknown)."""
    return t(KIND_LABELS[kind]) if kind in KIND_LABELS else kind
