"""Every choice label fits a WhatsApp button (20 code points) in every language, or has a short form that does.

The labels are found in the code, not listed by hand: every `Option(...)` of bot/ and every `(id, t(...))` row
the desk builds, with the label dicts they index (`DELIVERY_LABELS[mode]`, `t(ACTION_LABELS[action])`…)
resolved by importing the module that defines them. A new long label without a short form in
bot/flows/short_labels.py (and its `msgctxt "short"` translations) fails here.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.flows.short_labels import SHORT_LABELS
from bot.flows.spec import Option
from bot.i18n import LOCALES, SHORT_CONTEXT, reload_catalogues, short_label, translator

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 20  # a WhatsApp reply button's title; list rows allow 24
PLACEHOLDER = re.compile(r"{(\w+)}")


@dataclass
class Found:
    """What the code offers as choices: msgids, literal texts, and the labels shown together."""

    msgids: dict[str, str] = field(default_factory=dict)  # msgid → where it is first offered
    literals: dict[str, str] = field(default_factory=dict)  # untranslated labels known in advance (language names)
    groups: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (where, msgids shown together)
    unresolved: list[str] = field(default_factory=list)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _origins(tree: ast.Module, module: str) -> dict[str, str]:
    """Name → module it comes from, for the names a module defines at top level or imports with `from`."""
    origins: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            origins.update((alias.asname or alias.name, node.module) for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            origins.update((target.id, module) for target in targets if isinstance(target, ast.Name))
    return origins


def _called(node: ast.expr, name: str) -> bool:
    """`node` is a call to `name` or to `something.name`."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == name) or (isinstance(func, ast.Attribute) and func.attr == name)


class Scanner:
    """Walks one module of bot/ and records the labels it offers."""

    def __init__(self, path: Path, found: Found) -> None:
        self.where = str(path.relative_to(ROOT))
        self.module = _module_name(path)
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.origins = _origins(self.tree, self.module)
        self.found = found

    def value(self, name: str) -> Any:
        module = self.origins.get(name)
        return getattr(importlib.import_module(module), name) if module else None

    def texts(self, node: ast.expr) -> tuple[list[str], bool] | None:
        """The label texts an expression stands for, and whether they are a dict's values; None if unknown."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value], False
        if _called(node, "N_") and isinstance(node, ast.Call) and node.args:
            return self.texts(node.args[0])
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            labels = self.value(node.value.id)
            if isinstance(labels, dict) and all(isinstance(text, str) for text in labels.values()):
                return list(labels.values()), True
        return None

    def option_label(self, node: ast.Call) -> tuple[ast.expr | None, bool]:
        """The label argument of an `Option(...)` call and whether it is literal (shown untranslated)."""
        label = node.args[1] if len(node.args) > 1 else next(
            (keyword.value for keyword in node.keywords if keyword.arg == "label"), None)
        literal = any(keyword.arg == "literal" and not (isinstance(keyword.value, ast.Constant)
                                                        and keyword.value.value is False)
                      for keyword in node.keywords)
        return label, literal

    def row_label(self, node: ast.expr) -> ast.expr | None:
        """The msgid expression of an `(id, t(...))` row, the desk's way of writing an option."""
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            option_id, label = node.elts
            if isinstance(option_id, (ast.Constant, ast.JoinedStr)) and _called(label, "t"):
                assert isinstance(label, ast.Call)
                return label.args[0] if label.args else label
        return None

    def record(self, node: ast.expr, label: ast.expr | None, literal: bool) -> list[str]:
        """Note the msgids of one option (or of the dict it indexes); returns them."""
        where = f"{self.where}:{node.lineno}"
        texts = self.texts(label) if label is not None else None
        if label is None or texts is None:
            if not literal:  # a literal label built at run time (a place, a reference, a name) is the renderer's
                self.found.unresolved.append(f"{where}: {ast.unparse(node)}")
            return []
        values, from_dict = texts
        if literal:
            self.found.literals.update((text, where) for text in values)
            return []
        for text in values:
            self.found.msgids.setdefault(text, where)
        if from_dict and len(values) > 1:  # a labels dict: its choices are offered together
            self.found.groups.append((f"{where} {ast.unparse(label)}", tuple(values)))
        return values

    def element(self, node: ast.expr) -> list[str]:
        """The msgids of one element of a tuple or list of options (an Option, a row, or a module's Option)."""
        if _called(node, "Option"):
            assert isinstance(node, ast.Call)
            return self.record(node, *self.option_label(node))
        label = self.row_label(node)
        if label is not None:
            return self.record(node, label, literal=False)
        if isinstance(node, ast.Name):
            option = self.value(node.id)
            if isinstance(option, Option) and not option.literal:
                return [option.label]
        return []

    def scan(self) -> None:
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.expr):
                continue
            if _called(node, "Option") or self.row_label(node) is not None:
                self.element(node)  # every option, wherever it is written
            elif isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) > 1:
                together = [msgid for element in node.elts for msgid in self.element(element)]
                if len(together) > 1:  # a literal tuple or list of options: shown together
                    self.found.groups.append((f"{self.where}:{node.lineno}", tuple(together)))


def scan_code() -> Found:
    found = Found()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        Scanner(path, found).scan()
    # The static choices of every registered flow step, as the engine shows them.
    from bot.flows.engine import FLOWS, Choose

    for flow in FLOWS.values():
        for step in flow.steps.values():
            if isinstance(step, Choose) and isinstance(step.options, tuple):
                labels = tuple(option.label for option in step.options if not option.literal)
                for label in labels:
                    found.msgids.setdefault(label, f"flow {flow.id}:{step.id}")
                if len(labels) > 1:
                    found.groups.append((f"flow {flow.id}:{step.id}", labels))
    unique = {msgids: where for where, msgids in reversed(found.groups)}  # each group once, first place named
    found.groups = [(where, msgids) for msgids, where in unique.items()]
    return found


FOUND = scan_code()
FIXED = sorted(msgid for msgid in FOUND.msgids if not PLACEHOLDER.search(msgid))
WITH_PLACEHOLDERS = sorted(msgid for msgid in FOUND.msgids if PLACEHOLDER.search(msgid))


def shown(locale: str, msgid: str) -> str:
    """What a 20-character button shows for `msgid` in `locale`."""
    return short_label(locale, translator(locale)(msgid), LIMIT)


def test_the_scan_finds_the_choices() -> None:
    assert not FOUND.unresolved, f"labels the test cannot resolve to msgids: {FOUND.unresolved}"
    for msgid in ("Request information", "Extend the deadline", "It answers in part", "Cancel this action",
                  "National defence and State security", "Here in the chat", "Overdue", "None of these"):
        assert msgid in FOUND.msgids, msgid
    assert set(FOUND.literals) >= {"الدارجة", "Français", "العربية الفصحى"}
    assert len(FIXED) > 80 and len(FOUND.groups) > 15


@pytest.mark.parametrize("locale", LOCALES)
def test_every_label_fits_or_has_a_short_form(locale: str) -> None:
    t = translator(locale)
    wrong = []
    for msgid in FIXED:
        full = t(msgid)
        result = short_label(locale, full, LIMIT)
        if len(result) > LIMIT or result not in (full, t.find(SHORT_CONTEXT, msgid)):
            wrong.append(f"{msgid!r} ({FOUND.msgids[msgid]}): {full!r} → {result!r}")
    assert not wrong, f"{len(wrong)} labels too long in {locale} without a short form that fits: {wrong}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_english_msgids_fit_or_have_a_short_form(locale: str) -> None:
    # Shown when a catalogue lacks a translation: the English short form lives in bot/flows/short_labels.py.
    wrong = [f"{msgid!r} → {short_label(locale, msgid, LIMIT)!r}" for msgid in FIXED
             if short_label(locale, msgid, LIMIT) not in (msgid, SHORT_LABELS.get(msgid))
             or len(short_label(locale, msgid, LIMIT)) > LIMIT]
    assert not wrong, wrong


def test_literal_labels_fit() -> None:
    assert not [text for text in FOUND.literals if len(text) > LIMIT]


@pytest.mark.parametrize("locale", (*LOCALES, "en"))
def test_labels_shown_together_stay_distinct(locale: str) -> None:
    def text(msgid: str) -> str:  # "en": the English msgid, as any locale would show it without a translation
        return short_label("fr", msgid, LIMIT) if locale == "en" else shown(locale, msgid)

    clashes = []
    for where, msgids in FOUND.groups:
        texts = [text(msgid) for msgid in msgids]
        if len(set(texts)) < len(texts):
            clashes.append(f"{where}: {texts}")
    assert not clashes, clashes


@pytest.mark.parametrize("locale", (*LOCALES, "en"))
def test_shortening_never_merges_two_labels(locale: str) -> None:
    """Across all the choices: two labels that read differently in full still read differently on a button."""

    def full(msgid: str) -> str:
        return msgid if locale == "en" else translator(locale)(msgid)

    def text(msgid: str) -> str:
        return short_label("fr", msgid, LIMIT) if locale == "en" else shown(locale, msgid)

    by_text: dict[str, set[str]] = {}
    for msgid in FIXED:
        by_text.setdefault(text(msgid), set()).add(full(msgid))
    merged = {text: fulls for text, fulls in by_text.items() if len(fulls) > 1}
    assert not merged, merged


def test_short_forms_are_all_needed_and_fit_in_english() -> None:
    stale = [msgid for msgid in SHORT_LABELS if msgid not in FOUND.msgids]
    assert not stale, f"short forms of messages no longer offered as a choice: {stale}"
    for msgid, english in SHORT_LABELS.items():
        assert (english is None) == (len(msgid) <= LIMIT), msgid  # an English short form only when needed
        assert english is None or len(english) <= LIMIT, english


@pytest.mark.parametrize("locale", LOCALES)
def test_a_translated_label_has_one_short_form(locale: str) -> None:
    # The renderer only sees the translated text: two messages translated alike must share their short form.
    t = translator(locale)
    shorts: dict[str, set[str]] = {}
    for msgid in FIXED:
        short = t.find(SHORT_CONTEXT, msgid)
        if short is not None:
            shorts.setdefault(t(msgid), set()).add(short)
    assert not {full: found for full, found in shorts.items() if len(found) > 1}


def test_short_label() -> None:
    assert short_label("fr", "Réclamation, observation ou suggestion", 20) == "Réclamation ou avis"
    assert short_label("fr", "Réclamation, observation ou suggestion", 40) == "Réclamation, observation ou suggestion"
    assert short_label("ar", "المعلومات في طور الإعداد", 20) == "قيد الإعداد"
    assert short_label("ary", "Complaint, observation or suggestion", 20) == "Complaint, feedback"  # the English fallback
    cut = short_label("fr", "Tétouan (commune, Tétouan)", 20)  # a place name: no short form, cut
    assert cut == "Tétouan (commune, T…" and len(cut) == 20
    assert short_label("fr", "Réclamation, observation ou suggestion", 5) == "Récl…"  # the short form does not fit either
    reload_catalogues()
    assert short_label("fr", "Elle répond en partie", 20) == "En partie"


def _longest_date(locale: str) -> str:
    day = date(2026, 1, 1)
    return max((translator(locale).date(day + timedelta(days=offset)) for offset in range(365)), key=len)


@pytest.mark.xfail(strict=True, reason="the desk's calendar buttons ('Confirm {date}', 'Move to {date}') write the "
                                       "date in full, e.g. 'Confirmer le 30 septembre 2026': they need a short "
                                       "date format in bot/services/desk_reports.py")
@pytest.mark.parametrize("locale", LOCALES)
def test_labels_with_a_date_fit(locale: str) -> None:
    assert WITH_PLACEHOLDERS
    for msgid in WITH_PLACEHOLDERS:
        names = set(PLACEHOLDER.findall(msgid))
        assert names == {"date"}, f"{msgid!r}: which value would {names} take at most?"
        text = translator(locale)(msgid, date=_longest_date(locale))
        assert short_label(locale, text, LIMIT) == text, text
