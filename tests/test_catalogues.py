"""Every message the code can show is translated in every catalogue, with the same placeholders."""

from __future__ import annotations

import re

import pytest

from bot.i18n import KEYWORD_MSGIDS, LOCALES, Translator
from tests.catalogue_tools import extract, load, missing

PLACEHOLDER = re.compile(r"{(\w+)}")


def test_extraction_finds_the_messages() -> None:
    messages = [message.id for message in extract() if message.id]
    assert len(messages) > 150
    assert "Request information" in messages


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete(locale: str) -> None:
    gaps = missing(locale)
    assert not gaps, f"{len(gaps)} messages untranslated in {locale}: {gaps[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale: str) -> None:
    wrong = [message.id for message in load(locale) if message.id and message.string
             and set(PLACEHOLDER.findall(str(message.id))) != set(PLACEHOLDER.findall(str(message.string)))]
    assert not wrong, wrong


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_are_not_the_english_source(locale: str) -> None:
    # Only a message made of placeholders alone (like "{kind} {reference}") may stay as it is, and in French the
    # few words that are spelt the same in both languages.
    same_in_french = {"Observation", "Suggestion", "{name} (commune, {parent})", "{name} (province, {parent})"}
    same = [message.id for message in load(locale) if message.id and message.string == message.id
            and PLACEHOLDER.sub("", str(message.id)).strip()
            and not (locale == "fr" and message.id in same_in_french)]
    assert not same, same


def test_arabic_script_catalogues_are_in_arabic_script() -> None:
    for locale in ("ary", "ar"):
        for message in load(locale):
            if message.id and message.string and message.id not in KEYWORD_MSGIDS.values():
                letters = [char for char in PLACEHOLDER.sub("", str(message.string)) if char.isalpha()]
                arabic = [char for char in letters if "\u0600" <= char <= "\u06ff"]
                assert len(arabic) >= len(letters) / 2, (locale, message.id)


def test_darija_is_not_msa() -> None:
    """The Darija catalogue must read as Darija: Darija markers present, MSA-only words rare."""
    text = " ".join(str(message.string) for message in load("ary") if message.string)
    darija = sum(text.count(word) for word in ("ديال", "بغيتي", "شنو", "دابا", "غادي", "عافاك", "واش", "كتب"))
    msa = sum(text.count(word) for word in ("سوف", "ماذا", "لماذا", "أريد"))
    assert darija >= 10 and msa <= 2, (darija, msa)


def test_dates_are_written_for_each_locale() -> None:
    from datetime import date

    assert Translator("fr").date(date(2026, 12, 15)) == "15 décembre 2026"
    assert Translator("ary").date(date(2026, 12, 15)) == "15 دجنبر 2026"
    assert Translator("ar").direction == "rtl" and Translator("fr").direction == "ltr"
