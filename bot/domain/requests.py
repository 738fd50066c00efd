"""What a request is: kinds, statuses, services, delivery modes and references. Pure; stdlib only."""

from __future__ import annotations

import re
import secrets
from enum import StrEnum


class Kind(StrEnum):
    ACCESS = "access"  # access to information, law 31-13
    COMPLAINT = "complaint"  # decree 2-17-265
    OBSERVATION = "observation"
    SUGGESTION = "suggestion"
    HEAD_COMPLAINT = "head_complaint"  # law 31-13: a complaint to the head of the collectivity about a request


FEEDBACK_KINDS = (Kind.COMPLAINT, Kind.OBSERVATION, Kind.SUGGESTION)


class Status(StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLARIFICATION = "clarification"
    EXTENDED = "extended"
    ANSWERED = "answered"
    PARTIALLY_ANSWERED = "partially_answered"
    REFUSED = "refused"
    TRANSFERRED = "transferred"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.CLARIFICATION, Status.EXTENDED, Status.TRANSFERRED}
)


# The services a complaint can be about (stable ids; labels live in the flows).
SERVICES = (
    "lighting",
    "waste",
    "roads",
    "water",
    "markets",
    "parking",
    "civil_status",
    "permits",
    "other",
)

DELIVERY_MODES = ("chat", "email", "paper", "onsite")

# Crockford-like alphabet: no 0/O, 1/I/L, U, so a reference survives being read aloud or copied by hand.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_RE = re.compile(r"\bBAB-?([2-9A-HJKMNP-TV-Z]{6})\b", re.IGNORECASE)


def numbered_reference(number: int) -> str:
    """The reference that spells `number` in the references' alphabet: unique per number, for seeding data."""
    letters = []
    for _ in range(6):
        number, digit = divmod(number, len(_ALPHABET))
        letters.append(_ALPHABET[digit])
    return "BAB-" + "".join(reversed(letters))


def new_reference() -> str:
    """A fresh random reference like 'BAB-7K3MQ9' (about 7×10⁸ possibilities; callers retry on collision)."""
    return "BAB-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def find_reference(text: str) -> str | None:
    """The reference written somewhere in `text`, normalised to 'BAB-XXXXXX', or None."""
    match = REFERENCE_RE.search(text.replace(" ", "").replace("_", "-"))
    return f"BAB-{match.group(1).upper()}" if match else None
