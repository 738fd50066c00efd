"""Short forms of the choice labels that do not fit a WhatsApp button (20 characters) in every language.

A short form is the same msgid with the context "short": the `pgettext("short", …)` markers below are what the
extraction (`make catalogues`) finds, so each one gets a `msgctxt "short"` entry in every catalogue.
`bot.i18n.short_label` swaps a translated label for its short form only when the label is too long, so the full
wording stays everywhere else (in sentences such as "Legal ground: …", and on channels without the limit).

The value is the English short form, shown only if a catalogue lacks the translation and the English msgid is
shown instead; None when the msgid itself fits. Every label offered as a choice, in every language and in
English, fits or has a short form that fits (tests/test_labels_fit.py enumerates them from the code).
"""

from __future__ import annotations


def pgettext(context: str, message: str) -> str:
    """Mark `message` for extraction with `context`; returns it unchanged (it is translated at render time)."""
    return message


SHORT_LABELS: dict[str, str | None] = {
    # The main menu.
    pgettext("short", "Request information"): None,
    pgettext("short", "Complaint, observation or suggestion"): "Complaint, feedback",
    # The access request: editing the summary, reusing the last details.
    pgettext("short", "The information requested"): "The information",
    pgettext("short", "No, enter new details"): "No, new details",
    # Complaints, observations and suggestions: the service, the contact, editing the summary.
    pgettext("short", "Waste and cleanliness"): "Waste, cleanliness",
    pgettext("short", "Water and sanitation"): None,
    pgettext("short", "Traffic and parking"): None,
    pgettext("short", "Permits and urban planning"): "Permits and planning",
    pgettext("short", "No, answer me here only"): "No, here only",
    pgettext("short", "The service concerned"): "The service",
    pgettext("short", "The photo or location"): "Photo or location",
    # 'My requests' and the follow-up buttons of notices.
    pgettext("short", "Withdraw this request"): "Withdraw request",
    pgettext("short", "Why this date?"): None,
    pgettext("short", "Complain to the head of the collectivity"): "Complain to the head",
    pgettext("short", "It answers my request"): "Yes, it does",
    pgettext("short", "It answers in part"): None,
    pgettext("short", "It does not answer it"): "No, it does not",
    # The staff desk: actions on a request.
    pgettext("short", "Ask for clarification"): "Ask to clarify",
    # Legal grounds of a refusal (law 31-13).
    pgettext("short", "The information is not available"): "Not available",
    pgettext("short", "An exception of article 7 applies"): "Article 7 exception",
    pgettext("short", "The information is already published"): "Already published",
    pgettext("short", "Already given to you this year"): "Already given",
    pgettext("short", "The request is unclear"): "Request unclear",
    pgettext("short", "The information is being prepared"): "Being prepared",
    pgettext("short", "Deposited with Archives du Maroc"): "At Archives du Maroc",
    # The exceptions of article 7.
    pgettext("short", "National defence and State security"): "Defence and security",
    pgettext("short", "Private life and personal data"): "Privacy and data",
    pgettext("short", "Rights and freedoms, protection of sources"): "Freedoms and sources",
    pgettext("short", "Foreign relations, economic policy, intellectual property, protected witnesses"):
        "Diplomacy, economy",
    pgettext("short", "Secret deliberations of the Councils of Ministers and of Government"): "Secret deliberations",
    pgettext("short", "Secret investigations and court proceedings"): "Inquiries, courts",
    pgettext("short", "Fair competition and free enterprise"): "Fair competition",
    # Reasons for extending the deadline.
    pgettext("short", "It cannot be answered in full within the deadline"): "Deadline too short",
    pgettext("short", "The request covers a large volume of information"): "Large volume",
    pgettext("short", "The information cannot be supplied within the deadline"): "Can't supply in time",
    pgettext("short", "A third party must be consulted"): "Consult third party",
}
