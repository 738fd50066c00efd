"""Gettext catalogues under `locales/`, a Translator per locale, and locale-aware dates.

Each locale is a directory `locales/<code>/` with a `locale.json` (its name, script, direction, fallbacks,
CLDR locale, plural rule, and whether it is "full" or a greeting-only "preview") and `LC_MESSAGES/messages.po`;
adding a language takes no code. Catalogues are read from the `.po` files on first use (no compile step, so they
cannot drift from a stale `.mo`). Darija (`ary`) falls back to Arabic, then French, message by message, Darija in
Latin letters (`ary_Latn`, Arabizi) to French; CLDR has no Darija data, so dates in Darija use Moroccan Arabic
(`ar_MA`) month names, which are the ones Moroccans use, and Arabizi the same names in Latin letters.

Plural entries (`Translator.ngettext`) follow each catalogue's own Plural-Forms header (`PLURAL_FORMS`, which
tests/catalogue_tools.py writes into the files): French has two forms, Arabic and Darija the six of CLDR.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from gettext import c2py
from pathlib import Path

from babel.dates import format_date
from babel.messages.pofile import read_po

from bot.domain.text import normalise

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True, slots=True)
class LocaleInfo:
    """What `locales/<code>/locale.json` says of a locale: a new language needs that file and its catalogue only.

    `status` is "full" (offered and complete) or "preview" (recognised and greeted, its catalogue partial);
    `language` and `script` are what detection reports ("ary" + "latn" is Arabizi), `months` an explicit list of
    month names where CLDR has none for the locale.
    """

    code: str
    name: str
    babel: str
    direction: str
    fallbacks: tuple[str, ...]
    plural_forms: str
    status: str
    language: str
    script: str
    order: int = 99
    months: tuple[str, ...] = ()


def _read_locales(root: Path) -> dict[str, LocaleInfo]:
    """Every locale directory with a `locale.json`, in the order they declare."""
    found: list[LocaleInfo] = []
    for meta in sorted(root.glob("*/locale.json")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        found.append(LocaleInfo(
            code=meta.parent.name, name=str(data["name"]), babel=str(data["babel"]),
            direction=str(data.get("direction", "ltr")), fallbacks=tuple(data.get("fallbacks", ())),
            plural_forms=str(data["plural_forms"]), status=str(data.get("status", "full")),
            language=str(data.get("language", meta.parent.name)), script=str(data.get("script", "latn")),
            order=int(data.get("order", 99)), months=tuple(data.get("months", ())),
        ))
    return {info.code: info for info in sorted(found, key=lambda info: (info.order, info.code))}


LOCALE_INFO = _read_locales(LOCALES_DIR)
# The locales Bab speaks (complete catalogues) and those it only recognises and greets ("preview").
LOCALES: tuple[str, ...] = tuple(code for code, info in LOCALE_INFO.items() if info.status == "full")
PREVIEW_LOCALES: tuple[str, ...] = tuple(code for code, info in LOCALE_INFO.items() if info.status == "preview")
RTL_LOCALES = frozenset(code for code, info in LOCALE_INFO.items() if info.direction == "rtl")
FALLBACKS: dict[str, tuple[str, ...]] = {code: info.fallbacks for code, info in LOCALE_INFO.items()}
BABEL_LOCALE = {code: info.babel for code, info in LOCALE_INFO.items()}
# What each language is called in its own words: shown on the language buttons.
LANGUAGE_NAMES = {code: info.name for code, info in LOCALE_INFO.items()}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, at render time."""
    return message


# The Plural-Forms header of each catalogue (from its locale.json). French: one form for 0 and 1 (gettext's rule
# for French). Arabic: CLDR's six forms (zero, one, two, few 3-10, many 11-99, other). Darija, in either script:
# CLDR has no data for `ary`; it counts like Arabic (نهار واحد, جوج أيام, 3 أيام, 11 يوم), so it uses the same
# six-form rule, which also lets a missing Darija form fall back to the Arabic one with the same index.
PLURAL_FORMS = {code: info.plural_forms for code, info in LOCALE_INFO.items()}


def locale_for(language: str | None, script: str) -> str | None:
    """The locale (full or preview) for a detected language in a script: Arabizi is `ary_Latn`, Darija in Arabic
    letters `ary`; a language written in a script no catalogue has gets its first catalogue; None when unknown."""
    if language is None:
        return None
    same = [info for info in LOCALE_INFO.values() if info.language == language]
    exact = [info for info in same if info.script == script]
    chosen = exact or same
    return chosen[0].code if chosen else None


Messages = dict[tuple[str | None, str], str]


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One locale's parsed `.po` file: single messages, plural messages (all forms) and the plural rule."""

    messages: Messages = field(default_factory=dict)
    plurals: dict[tuple[str | None, str], tuple[str, ...]] = field(default_factory=dict)
    plural: Callable[[int], int] = _english_plural


def _plural_rule(header: str) -> Callable[[int], int]:
    """The plural function of a Plural-Forms header ("nplurals=2; plural=(n > 1);")."""
    expression = header.split("plural=", 1)[1].rstrip("; ")
    return c2py(expression)


@cache
def _catalogue(locale: str) -> Catalogue:
    """The non-fuzzy, non-empty entries of a locale's `.po` file, keyed by (context, msgid)."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return Catalogue()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=BABEL_LOCALE.get(locale, locale))
    messages: Messages = {}
    plurals: dict[tuple[str | None, str], tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        if isinstance(message.id, str) and isinstance(message.string, str):
            messages[(message.context, message.id)] = message.string
        elif isinstance(message.id, tuple | list) and isinstance(message.string, tuple | list):
            forms = tuple(str(form) for form in message.string)
            if forms and all(forms):  # a plural entry counts only when every form is translated
                plurals[(message.context, str(message.id[0]))] = forms
    return Catalogue(messages, plurals, _plural_rule(catalog.plural_forms))


def reload_catalogues() -> None:
    """Forget the parsed catalogues (after the `.po` files changed)."""
    _catalogue.cache_clear()
    translator.cache_clear()
    keywords.cache_clear()
    _short_forms.cache_clear()


class Translator:
    """Translations and formatting for one locale; cheap to share, safe across tasks."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALE_INFO else "fr"
        # Looked up message by message: Darija falls back to Arabic, then French, then the English msgid.
        self._chain = [_catalogue(self.locale), *(_catalogue(fallback) for fallback in FALLBACKS[self.locale])]

    def _lookup(self, context: str | None, message: str) -> str:
        return self.find(context, message) or message

    def ngettext(self, singular: str, plural: str, n: int, **params: object) -> str:
        """The form of a plural message for the number `n`, its {placeholders} filled (`n` itself is not one).

        The first catalogue of the chain that has every form of the message answers, with its own plural rule;
        without one, the English singular for 1 and the plural otherwise.
        """
        for catalogue in self._chain:
            forms = catalogue.plurals.get((None, singular))
            if forms:
                index = catalogue.plural(n)
                text = forms[index] if 0 <= index < len(forms) else forms[-1]
                break
        else:
            text = singular if n == 1 else plural
        return text.format(**params) if params else text

    def find(self, context: str | None, message: str) -> str | None:
        """The translation of `message` in this locale or its fallbacks; None when no catalogue has one."""
        for catalogue in self._chain:
            found = catalogue.messages.get((context, message))
            if found:
                return found
        return None

    @property
    def direction(self) -> str:
        """'rtl' for Arabic script locales, else 'ltr'."""
        return "rtl" if self.locale in RTL_LOCALES else "ltr"

    def __call__(self, message: str, **params: object) -> str:
        """Translate `message` and fill its named {placeholders}."""
        text = self._lookup(None, message)
        return text.format(**params) if params else text

    def pgettext(self, context: str, message: str, **params: object) -> str:
        """Translate a short label that needs a context to be unambiguous."""
        text = self._lookup(context, message)
        return text.format(**params) if params else text

    def date(self, day: date) -> str:
        """A date written out for this locale, e.g. '12 décembre 2026' or '12 دجنبر 2026'."""
        months = LOCALE_INFO[self.locale].months
        if len(months) == 12:  # CLDR has no month names for this locale: the catalogue's own
            return f"{day.day} {months[day.month - 1]} {day.year}"
        text = format_date(day, format="long", locale=BABEL_LOCALE[self.locale]).replace("\u200f", "")
        if self.locale == "fr" and day.day == 1 and text.startswith("1 "):
            text = "1er" + text[1:]  # French writes the first of the month as an ordinal: 1er février
        return text


def locale_for_hint(hint: str | None, default: str) -> str:
    """The locale for the language a channel says the user's app is in ('fr-FR', 'ar'…), else `default`.

    No app offers Darija: an Arabic-language app means Darija where Darija is the deployment's default, else MSA.
    """
    code = (hint or "").split("-")[0].lower()
    if code == "ar":
        return "ary" if default == "ary" else "ar"
    return code if code in LOCALES else default


@cache
def translator(locale: str) -> Translator:
    """The shared Translator for `locale` (unknown locales get French)."""
    return Translator(locale)


SHORT_CONTEXT = "short"  # the msgctxt of a label's short form (bot/flows/short_labels.py)


def short_label(locale: str, label: str, limit: int) -> str:
    """A choice label already in `locale`'s words, made to fit in `limit` code points (WhatsApp: 20 for a button).

    The label itself when it fits; else the short form of the same message (msgctxt "short") when it has one
    that fits; else the label cut to `limit - 1` code points and "…" (the caller logs it: a short form is
    missing). Place names and other literal labels have no short form and are cut.
    """
    if len(label) <= limit:
        return label
    short = _short_forms(locale).get(label)
    if short is not None and len(short) <= limit:
        return short
    return label[: max(limit - 1, 0)] + "…"


@cache
def _short_forms(locale: str) -> dict[str, str]:
    """Each label with a short form, as `locale` shows it, → the short form in the same language.

    The English msgids map to their English short forms too, for a label whose translation is missing.
    """
    from bot.flows.short_labels import (
        SHORT_LABELS,  # imported here: the flows themselves import this module
    )

    t = translator(locale)
    msgids = {msgid for catalogue in t._chain for context, msgid in catalogue.messages if context == SHORT_CONTEXT}
    forms: dict[str, str] = {}
    for msgid in sorted(msgids | set(SHORT_LABELS)):
        short = t.find(SHORT_CONTEXT, msgid)
        if short is not None:
            forms.setdefault(t(msgid), short)
    for msgid, english in SHORT_LABELS.items():
        forms.setdefault(msgid, english or msgid)
    return forms


@cache
def keywords(name: str) -> frozenset[str]:
    """Words that mean the command `name` ('menu', 'back'…) in any locale, normalised; cached per process."""
    words: set[str] = {name}
    for locale in LOCALES:
        listed = translator(locale)(KEYWORD_MSGIDS[name])
        words.update(normalise(word) for word in listed.split(",") if word.strip())
    return frozenset(word for word in words if word)


# The msgid for each command's keyword list: the translations are comma-separated words a user may type.
KEYWORD_MSGIDS = {
    "menu": N_("menu,main menu,home,start"),
    "back": N_("back,previous"),
    "cancel": N_("cancel,stop,quit"),
    "help": N_("help"),
    "lang": N_("language,lang"),
    "yes": N_("yes,ok,okay"),
    "no": N_("no"),
    "inbox": N_("inbox"),
    "overdue": N_("overdue,late"),
    "stats": N_("stats,statistics"),
    "calendar": N_("calendar,holidays"),
    "audit": N_("audit,audit log"),
    "mydata": N_("mydata,my data"),
    "forget": N_("forget,forget me,erase my data"),
}
