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
    "head_complaint": N_("Complaint to the head of the collectivity"),
}
DELIVERY_LABELS = {
    "chat": N_("Here in the chat"),
    "email": N_("By e-mail"),
    "paper": N_("Paper copy"),
    "onsite": N_("Consult it on site"),
}
REFUSAL_GROUND_LABELS = {
    "not_available": N_("The information is not available"),
    "article_7": N_("An exception of article 7 applies"),
    "already_published": N_("The information is already published"),
    "already_received": N_("Already given to you this year"),
    "unclear": N_("The request is unclear"),
    "in_preparation": N_("The information is being prepared"),
    "archived": N_("Deposited with Archives du Maroc"),
}
ARTICLE_7_LABELS = {
    "defence_security": N_("National defence and State security"),
    "private_life": N_("Private life and personal data"),
    "rights_freedoms_sources": N_("Rights and freedoms, protection of sources"),
    "foreign_economic_ip": N_("Foreign relations, economic policy, intellectual property, protected witnesses"),
    "government_deliberations": N_("Secret deliberations of the Councils of Ministers and of Government"),
    "investigations_proceedings": N_("Secret investigations and court proceedings"),
    "competition": N_("Fair competition and free enterprise"),
}
EXTENSION_REASON_LABELS = {
    "not_in_time": N_("It cannot be answered in full within the deadline"),
    "large_volume": N_("The request covers a large volume of information"),
    "cannot_supply": N_("The information cannot be supplied within the deadline"),
    "third_party": N_("A third party must be consulted"),
}


def status_label(status: str, t: Translator) -> str:
    """The status in the user's words (the raw id when unknown)."""
    return label(STATUS_LABELS, status, t)


def kind_label(kind: str, t: Translator) -> str:
    """The request kind in the user's words (the raw id when unknown)."""
    return label(KIND_LABELS, kind, t)


def label(labels: dict[str, str], key: str | None, t: Translator) -> str:
    """The translated label of `key` in `labels` ('' for None, the raw id when unknown)."""
    if key is None:
        return ""
    return t(labels[key]) if key in labels else key
