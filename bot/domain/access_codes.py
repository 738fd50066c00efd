"""The code a receipt gives to reopen a request on another device: generated, normalised and hashed. Pure."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or copied by hand stays unambiguous.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
LENGTH = 8
ITERATIONS = 20_000  # a few milliseconds per check, so a stolen table is slow to try codes against


def new_code() -> str:
    """A fresh code, written in two groups of four (about 37 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str:
    """The code as typed, without spaces or dashes, upper case."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(reference: str, code: str) -> str:
    """The stored hash of a request's code, salted with its reference (hex, 64 characters)."""
    digest = hashlib.pbkdf2_hmac("sha256", normalise(code).encode(), f"bab:{reference}".encode(), ITERATIONS)
    return digest.hex()


def code_matches(reference: str, code: str, stored: str | None) -> bool:
    """Whether `code` is the request's code; always False without a stored hash."""
    if not stored or len(normalise(code)) != LENGTH:
        return False
    return hmac.compare_digest(code_hash(reference, code), stored)


def receipt_card(reference: str, code: str | None, place_code: str, received_on: date,
                 due_on: date) -> tuple[tuple[str, str], ...]:
    """What a receipt card shows beside the receipt's text (the code only where the channel draws the card)."""
    card = [("kind", "receipt"), ("reference", reference), ("place", place_code),
            ("received_on", received_on.isoformat()), ("due_on", due_on.isoformat())]
    if code:
        card.append(("code", code))
    return tuple(card)
