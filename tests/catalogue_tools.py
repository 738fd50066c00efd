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

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
LOCALES = ("ary", "fr", "ar")
KEYWORDS = {"N_": None, "t": None, "pgettext": ((1, "c"), 2)}
PLURALS = {"ary": "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);"}


def extract() -> Catalog:
    """Every msgid marked in bot/ (N_, t, pgettext), with its source locations."""
    catalog = Catalog(project="bab", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        if isinstance(message, str) and message:
            catalog.add(message, None, [(f"bot/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def load(locale: str) -> Catalog:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale="ar_MA" if locale == "ary" else locale)


def missing(locale: str) -> list[str]:
    """Msgids used by the code that the locale leaves untranslated, empty or fuzzy."""
    catalog = load(locale)
    gaps = []
    for message in extract():
        if not message.id:
            continue  # the header
        found = catalog.get(message.id, context=message.context)
        if found is None or not found.string or found.fuzzy:
            gaps.append(str(message.id))
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
            catalog = Catalog(locale="ar_MA" if locale == "ary" else locale, project="bab", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.locale = None  # keep the file's own Language header (ary is not a full CLDR locale)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=120, sort_output=False, ignore_obsolete=True)
        text = path.read_text(encoding="utf-8")
        text = text.replace('"Language: ar_MA\\n"', '"Language: ary\\n"')
        path.write_text(text, encoding="utf-8")


@contextmanager
def locked() -> Iterator[None]:
    """Hold an exclusive lock on the catalogues for the duration of a rewrite."""
    with (LOCALES_DIR / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def apply_translations(files: list[Path]) -> int:
    """Fill msgstrs from JSON translation files; returns how many entries were set."""
    wanted: dict[str, dict[str, str]] = {}
    for file in files:
        for msgid, by_locale in json.loads(file.read_text(encoding="utf-8")).items():
            wanted.setdefault(msgid, {}).update(by_locale)
    count = 0
    for locale in LOCALES:
        path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
        catalog = load(locale)
        for message in catalog:
            translation = wanted.get(str(message.id), {}).get(locale)
            if message.id and translation and message.string != translation:
                message.string = translation
                message.flags.discard("fuzzy")
                count += 1
        catalog.locale = None
        with path.open("wb") as handle:
            write_po(handle, catalog, width=120, sort_output=False, ignore_obsolete=True)
        text = path.read_text(encoding="utf-8").replace('"Language: ar_MA\\n"', '"Language: ary\\n"')
        path.write_text(text, encoding="utf-8")
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
