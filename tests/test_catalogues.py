"""Every message the code can show is translated in every catalogue, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import KEYWORD_MSGIDS, LOCALE_INFO, LOCALES, PREVIEW_LOCALES, Translator
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
    same_in_french = {"Observation", "Suggestion", "Communes", "{name} (commune, {parent})",
                      "{name} (province, {parent})"}
    same = [message.id for message in load(locale) if message.id and message.string == message.id
            and PLACEHOLDER.sub("", str(message.id)).strip()
            and not (locale == "fr" and message.id in same_in_french)]
    assert not same, same


def test_arabic_script_catalogues_are_in_arabic_script() -> None:
    arabic_script = [code for code in LOCALES if LOCALE_INFO[code].script == "arab"]
    assert arabic_script == ["ary", "ar"]
    for locale in arabic_script:
        for message in load(locale):
            if message.id and message.string and message.id not in KEYWORD_MSGIDS.values():
                letters = [char for char in PLACEHOLDER.sub("", str(message.string)) if char.isalpha()]
                arabic = [char for char in letters if "\u0600" <= char <= "\u06ff"]
                assert len(arabic) >= len(letters) / 2, (locale, message.id)


def test_arabizi_catalogue_is_in_latin_script() -> None:
    """ary_Latn is Darija in Latin letters: no Arabic letter anywhere, Arabizi digits and Darija words throughout."""
    assert LOCALE_INFO["ary_Latn"].script == "latn" and LOCALE_INFO["ary_Latn"].language == "ary"
    strings = [str(form) for message in load("ary_Latn") if message.id and message.string
               for form in (message.string if isinstance(message.string, tuple) else (message.string,))]
    assert len(strings) > 400
    arabic = [text for text in strings if any("\u0600" <= char <= "\u06ff" for char in text)]
    assert not arabic, arabic[:3]
    text = " ".join(strings)
    words = re.findall(r"[a-z0-9']+", text.lower())
    arabizi = [word for word in words if re.search(r"[a-z][379]|[379][a-z]", word)]
    assert len(arabizi) >= 300, len(arabizi)
    darija = sum(words.count(word) for word in ("dyalek", "3afak", "daba", "ghadi", "bghiti", "chno", "ljama3a"))
    # French spellings of Darija words are not Arabizi: "ljamaa" for ljama3a, "radi" for ghadi, "chokrane".
    french = [word for word in words if word in ("ljamaa", "jamaa", "radi", "chokrane", "bghite", "lache", "hnaya")]
    assert darija >= 100 and not french, (darija, french)


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
    assert Translator("ary_Latn").date(date(2026, 12, 15)) == "15 djanbir 2026"
    assert Translator("ary_Latn").date(date(2027, 8, 3)) == "3 ghocht 2027"
    assert Translator("ary_Latn").direction == "ltr" and Translator("ary").direction == "rtl"
    assert Translator("ar").direction == "rtl" and Translator("fr").direction == "ltr"


# --- Plural entries ---------------------------------------------------------------------------------------------

COUNTS = ("count", "days")  # the placeholders that hold the number a plural entry is chosen by


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_header(locale: str) -> None:
    from bot.i18n import PLURAL_FORMS

    catalog = load(locale)
    assert catalog.plural_forms == PLURAL_FORMS[locale]
    assert catalog.num_plurals == {"fr": 2, "ar": 6, "ary": 6, "ary_Latn": 6}[locale]


def _single_number_forms(locale: str) -> set[int]:
    """The plural forms that only one number (of 0…1000) takes: they may write the number out ("يوم واحد")."""
    from bot.i18n import _catalogue

    rule = _catalogue(locale).plural
    taken: dict[int, set[int]] = {}
    for n in range(1001):
        taken.setdefault(rule(n), set()).add(n)
    return {form for form, numbers in taken.items() if len(numbers) == 1}


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_entries_have_every_form(locale: str) -> None:
    catalog = load(locale)
    single = _single_number_forms(locale)
    plural_ids = [message.id for message in extract() if isinstance(message.id, tuple)]
    assert len(plural_ids) >= 9
    for msgid in plural_ids:
        found = catalog.get(msgid)
        assert found is not None and isinstance(found.string, tuple), (locale, msgid)
        assert len(found.string) == catalog.num_plurals and all(found.string), (locale, msgid, found.string)
        wanted = set(PLACEHOLDER.findall(msgid[0])) | set(PLACEHOLDER.findall(msgid[1]))
        for index, form in enumerate(found.string):
            names = set(PLACEHOLDER.findall(form))
            # A form for a single number may spell it out instead of showing the count placeholder.
            optional = set(COUNTS) if index in single else set()
            assert names <= wanted and wanted - optional <= names, (locale, msgid[0], index, form)


def test_plural_forms_are_chosen_by_number() -> None:
    t = {locale: Translator(locale) for locale in LOCALES}
    left = [t["ar"].ngettext("{count} d left", "{count} d left", n, count=n) for n in (1, 2, 3, 11, 100)]
    assert left == ["المتبقي: يوم واحد", "المتبقي: يومان", "المتبقي: 3 أيام", "المتبقي: 11 يومًا",
                    "المتبقي: 100 يوم"]
    darija = [t["ary"].ngettext("{count} d left", "{count} d left", n, count=n) for n in (1, 2, 3, 11)]
    assert darija == ["باقي نهار واحد", "باقي جوج أيام", "باقي 3 أيام", "باقي 11 يوم"]
    assert [t["fr"].ngettext("{count} d left", "{count} d left", n, count=n) for n in (0, 1, 2)] == [
        "0 j restant", "1 j restant", "2 j restants"]
    # No catalogue has it: the English forms.
    assert Translator("fr").ngettext("{count} apple", "{count} apples", 1, count=1) == "1 apple"
    assert Translator("ary").ngettext("{count} apple", "{count} apples", 3, count=3) == "3 apples"


# --- Legal numbers come from the rule table ---------------------------------------------------------------------

# Entries allowed to state a legal number: none (the day counts come from the rule table, as placeholders).
LEGAL_NUMBER_ALLOWED: set[str] = set()
DAY_WORDS = re.compile(r"\bdays?\b|jours?|يوم|أيام|ايام|نهار")


def _legal_numbers() -> re.Pattern[str]:
    from bot.domain.deadlines import RULES

    numbers = "|".join(sorted({str(rule.days) for rule in RULES.values()}, key=len, reverse=True))
    # A number on its own: not part of "31-13", "2-17-265" or a reference.
    return re.compile(rf"(?<![\w-])({numbers})(?![\w-])")


@pytest.mark.parametrize("locale", ["pot", *LOCALES])
def test_no_message_states_a_legal_number(locale: str) -> None:
    numbers = _legal_numbers()
    catalog = extract() if locale == "pot" else load(locale)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in LEGAL_NUMBER_ALLOWED:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [] if locale == "pot" else (
            [message.string] if isinstance(message.string, str) else list(message.string or ()))
        for text in (*ids, *strings):
            for sentence in re.split(r"[.;:\n؛]\s", str(text)):
                if DAY_WORDS.search(sentence) and numbers.search(sentence):
                    wrong.append((key[:60], sentence[:80]))
    assert not wrong, wrong


def test_texts_follow_the_rule_table() -> None:
    from dataclasses import replace
    from datetime import date

    from bot.domain.deadlines import RULES, Unit
    from bot.flows import notices
    from bot.flows.delays import delays
    from bot.flows.receipts import receipt

    rules = {**RULES, "access": replace(RULES["access"], days=25), "urgent": replace(RULES["urgent"], days=4),
             "feedback_answer": replace(RULES["feedback_answer"], days=45)}
    fr, ar = Translator("fr"), Translator("ar")
    args = dict(reference="BAB-X", place="Rabat", received_on=date(2026, 1, 5), due_on=date(2026, 2, 9), on_bab=True)
    assert "25 jours ouvrables, hors week-ends" in receipt(fr, kind="access", urgent=False, rule=rules["access"],
                                                          **args)
    assert "20 jours ouvrables, hors week-ends" in receipt(fr, kind="access", urgent=False, **args)
    assert "4 jours, car la demande est urgente" in receipt(fr, kind="access", urgent=True, rule=rules["urgent"],
                                                           **args)
    assert "45 jours pour vous répondre" in receipt(fr, kind="complaint", urgent=False,
                                                    rule=rules["feedback_answer"], **args)
    # The urgent unit is a setting: with working days the texts say so.
    working = {**rules, "urgent": replace(RULES["urgent"], unit=Unit.WORKING)}
    assert delays(fr, working, urgent="urgent") == {"urgent": "3 jours ouvrables"}
    assert delays(ar, rules, access="access", urgent="urgent") == {"access": "25 يومًا من أيام العمل",
                                                                   "urgent": "4 أيام"}
    text = notices.extended(fr, "BAB-X", "Rabat", "volume", date(2026, 2, 9), RULES["urgent_extension"]).text
    assert "de 3 jours le délai" in text


# --- Locales are directories ------------------------------------------------------------------------------------


def test_a_locale_is_a_directory_with_its_locale_json(tmp_path: Path) -> None:
    """Adding Tamazight (or any language) takes `locales/<code>/locale.json` and a catalogue: no code change."""
    import json

    from bot.i18n import _read_locales

    for code, status in (("fr", "full"), ("zgh", "full"), ("kab", "preview")):
        (tmp_path / code).mkdir()
        (tmp_path / code / "locale.json").write_text(json.dumps({
            "name": code, "babel": code, "plural_forms": "nplurals=2; plural=(n > 1);", "status": status,
            "script": "tfng" if code == "zgh" else "latn", "order": len(code)}), encoding="utf-8")
    found = _read_locales(tmp_path)
    assert list(found) == ["fr", "kab", "zgh"] and found["zgh"].status == "full" and found["zgh"].script == "tfng"
    assert found["kab"].language == "kab" and found["zgh"].fallbacks == ()


def test_the_shipped_locales() -> None:
    from bot.i18n import locale_for

    assert LOCALES == ("ary", "ary_Latn", "fr", "ar") and PREVIEW_LOCALES == ("zgh",)
    assert locale_for("ary", "latn") == "ary_Latn" and locale_for("ary", "arab") == "ary"
    assert locale_for("zgh", "latn") == "zgh" and locale_for("fr", "arab") == "fr" and locale_for(None, "latn") is None


def test_the_preview_greeting_is_in_tifinagh_and_latin() -> None:
    from bot.flows.engine import PREVIEW_GREETING

    text = Translator("zgh")(PREVIEW_GREETING)
    assert any("\u2d30" <= char <= "\u2d7f" for char in text) and "Azul" in text and text != PREVIEW_GREETING
