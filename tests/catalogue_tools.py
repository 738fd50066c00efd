"""Extract the user-facing messages from the code and compare them with the catalogues.

`python -m tests.catalogue_tools extract` rewrites locales/messages.pot and adds any new msgid (untranslated)
to each locale's messages.po, keeping existing translations; the tests use `missing()` to fail on gaps.
`python -m tests.catalogue_tools sync FILE.json...` does the same, then fills translations from JSON files of
the form {msgid: {"ary": ..., "fr": ..., "ar": ...}}; both hold a lock so parallel runs cannot clobber a file.
"""

from __future__ import annotations

import fcntl
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import BABEL_LOCALE, LOCALE_INFO, PLURAL_FORMS

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
# Every catalogue directory (locales/<code>/locale.json): the full ones and the greeting-only previews (zgh).
LOCALES = tuple(LOCALE_INFO)
KEYWORDS = {"N_": None, "t": None, "pgettext": ((1, "c"), 2), "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every msgid marked in bot/ (N_, t, pgettext, ngettext), with its source locations."""
    catalog = Catalog(project="bab", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        if isinstance(message, str) and message:
            catalog.add(message, None, [(f"bot/{filename}", lineno)], auto_comments=comments, context=context)
        elif isinstance(message, tuple) and len(message) == 2 and all(message):  # ngettext: (singular, plural)
            catalog.add(message, None, [(f"bot/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def load(locale: str) -> Catalog:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=BABEL_LOCALE.get(locale, locale))


def translated(message: Message) -> bool:
    """The entry has a translation: its msgstr, or every one of its plural forms, non-empty, and not fuzzy."""
    if message.fuzzy or not message.string:
        return False
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return True


def _write(path: Path, catalog: Catalog, locale: str) -> None:
    """Write a locale's messages.po with its own Language and Plural-Forms headers (bot.i18n.PLURAL_FORMS)."""
    catalog.locale = None  # keep the file's own Language header (ary is not a full CLDR locale)
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[locale])]
    with path.open("wb") as handle:
        write_po(handle, catalog, width=120, sort_output=False, ignore_obsolete=True)
    text = path.read_text(encoding="utf-8").replace('"Language: ar_MA\\n"', '"Language: ary\\n"')
    path.write_text(text, encoding="utf-8")


def missing(locale: str) -> list[str]:
    """Msgids used by the code that the locale leaves untranslated, empty or fuzzy."""
    catalog = load(locale)
    gaps = []
    for message in extract():
        if not message.id:
            continue  # the header
        found = catalog.get(message.id, context=message.context)
        if found is None or not translated(found):
            gaps.append(str(message.id if isinstance(message.id, str) else message.id[0]))
    return gaps


def update_catalogues() -> None:
    """Write messages.pot and merge new msgids into each messages.po (existing translations are kept)."""
    template = extract()
    LOCALES_DIR.mkdir(exist_ok=True)
    with (LOCALES_DIR / "messages.pot").open("wb") as handle:
        write_po(handle, template, width=120, sort_output=False)
    for locale in LOCALES:
        path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            catalog = load(locale)
        else:
            catalog = Catalog(locale=BABEL_LOCALE.get(locale, locale), project="bab", charset="utf-8")
        catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[locale])]  # before the merge sizes plural entries
        catalog.update(template, no_fuzzy_matching=True)
        _write(path, catalog, locale)


@contextmanager
def locked() -> Iterator[None]:
    """Hold an exclusive lock on the catalogues for the duration of a rewrite."""
    with (LOCALES_DIR / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def apply_translations(files: list[Path]) -> int:
    """Fill msgstrs from JSON translation files; returns how many entries were set.

    A plural entry is keyed by its singular msgid and takes a list with one string per plural form of the locale;
    a key "context\u0004msgid" fills only the entry with that msgctxt (a short label), a plain msgid every entry
    with that msgid that has no such key.
    """
    wanted: dict[str, dict[str, str]] = {}
    for file in files:
        for msgid, by_locale in json.loads(file.read_text(encoding="utf-8")).items():
            wanted.setdefault(msgid, {}).update(by_locale)
    count = 0
    for locale in LOCALES:
        path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
        catalog = load(locale)
        for message in catalog:
            key = message.id if isinstance(message.id, str) else message.id[0] if message.id else ""
            # "context\u0004msgid" (gettext's own separator) targets the entry with that context only.
            specific = wanted.get(f"{message.context}\u0004{key}", {}) if message.context else {}
            translation = specific.get(locale) or wanted.get(str(key), {}).get(locale)
            if isinstance(translation, list):
                translation = tuple(translation)
            if message.id and translation and message.string != translation:
                message.string = translation
                message.flags.discard("fuzzy")
                count += 1
        _write(path, catalog, locale)
    return count


if __name__ == "__main__":
    command, *paths = sys.argv[1:] or [""]
    if command not in ("extract", "sync") or (command == "extract" and paths):
        print("usage: python -m tests.catalogue_tools extract | sync FILE.json...")
        sys.exit(2)
    with locked():
        update_catalogues()
        if command == "sync":
            print(f"{apply_translations([Path(path) for path in paths])} translations applied")
        for code in LOCALES:
            gaps = missing(code)
            print(f"{code}: {len(gaps)} messages to translate")
            for gap in gaps[:50]:
                print(f"    {gap[:100]!r}")
