"""Checks on what citizens type: each returns a cleaned value or raises Invalid with a message id.

Pure; imports only the N_ marker, so that its messages reach the catalogues.
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import N_

MAX_MESSAGE_CHARS = 4000

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,24}$")
# Moroccan numbers: 06/07 mobiles and 05 landlines, with or without +212 / 00212.
_PHONE_RE = re.compile(r"^(?:\+212|00212|0)([5-7]\d{8})$")
# CNIE: one or two letters then digits; residence cards follow the same pattern.
_ID_RE = re.compile(r"^[A-Z]{1,2}\d{3,8}$")


class Invalid(ValueError):
    """The input cannot be accepted; `message` is a msgid that explains why, `params` fill it."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def clean_text(raw: str) -> str:
    """Drop control and format characters (binary junk, NULs) but keep line breaks; trim spaces."""
    kept = []
    for char in raw:
        category = unicodedata.category(char)
        if char in "\n\t" or category[0] != "C":
            kept.append(char)
        elif category == "Cf" and char in "\u200c\u200d":
            kept.append(char)  # joiners belong to emoji and Arabic shaping
    return re.sub(r"[ \t]+", " ", "".join(kept)).strip()


def has_words(text: str) -> bool:
    """True when `text` holds at least one letter or digit (not only emoji, symbols or punctuation)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def check_free_text(text: str, min_chars: int, max_chars: int) -> str:
    """Accept a description between min_chars and max_chars that contains words."""
    if not has_words(text):
        raise Invalid(N_("I need a few words here: emoji or symbols alone are not enough."))
    if len(text) < min_chars:
        raise Invalid(N_("That is a bit short. Please give at least {count} characters."), count=min_chars)
    if len(text) > max_chars:
        raise Invalid(N_("That is too long: please keep it under {count} characters."), count=max_chars)
    return text


def check_name(text: str) -> str:
    """A person's full name: two to 120 characters, mostly letters."""
    letters = sum(1 for char in text if unicodedata.category(char)[0] == "L")
    if letters < 3 or len(text) > 120 or any(char.isdigit() for char in text):
        raise Invalid(N_("Please type your full name, first name and family name, in letters."))
    return text


def check_id_number(text: str) -> str:
    """A CNIE or residence-card number like 'AB123456', returned upper-case without spaces."""
    value = re.sub(r"[\s\-./]", "", text).upper()
    if not _ID_RE.match(value):
        raise Invalid(N_("That does not look like a card number. It is one or two letters then digits, like AB123456."))
    return value


def normalise_phone(text: str) -> str | None:
    """A Moroccan phone number in +212 form, or None when `text` is not one."""
    digits = re.sub(r"[\s\-.()]", "", text)
    match = _PHONE_RE.match(digits)
    return f"+212{match.group(1)}" if match else None


def is_email(text: str) -> bool:
    """True for a plausible e-mail address."""
    return bool(_EMAIL_RE.match(text.strip()))


def check_contact(text: str, require_email: bool = False) -> str:
    """An e-mail address, a Moroccan phone number or a postal address (at least 10 characters with a digit)."""
    value = text.strip()
    if is_email(value):
        return value.lower()
    if require_email:
        raise Invalid(N_("You chose to receive the answer by e-mail, so I need an e-mail address, like name@example.ma."))
    phone = normalise_phone(value)
    if phone:
        return phone
    if len(value) >= 10 and has_words(value) and any(char.isdigit() for char in value) and len(value) <= 300:
        return value
    raise Invalid(N_("Please give an e-mail address, a Moroccan phone number (06…, 07… or 05…) or a full postal address."))


def check_phone_or_email(text: str) -> str:
    """An e-mail address or a Moroccan phone number."""
    value = text.strip()
    if is_email(value):
        return value.lower()
    phone = normalise_phone(value)
    if phone:
        return phone
    raise Invalid(N_("Please give an e-mail address or a Moroccan phone number (06…, 07… or 05…)."))
