"""Run the labelled evaluation set (tests/understanding/eval_*.tsv) through the real understanding and score it.

Each row: the message, the locale Bab should answer in (`*`: not scored, for "ok", "1"), the intent (`none`: no
request; `state`: a State matter explained instead), the feedback kind, the topic (bot/data/competences.tsv), whether
the message itself fills the topic / description (`y`/`n`), and the collectivity it names ("Fès/commune"). Shared by
tests/understanding/test_evaluation.py (the floors) and benchmarks/bench_understanding.py (the figures).
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.directory import Directory
from bot.domain.intents import Understanding, understand
from bot.flows.engine import first_locale
from bot.flows.spec import Inbound, InboundKind
from bot.i18n import locale_for

HERE = Path(__file__).resolve().parent
DEFAULT_LOCALE = "ary"


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled message."""

    text: str
    lang: str
    intent: str
    kind: str
    topic: str
    details: str
    place: str
    source: str


@dataclass
class Scores:
    """Hits and totals per measure, the confusion of intents, and per-message latency."""

    total: Counter[str] = field(default_factory=Counter)
    hits: Counter[str] = field(default_factory=Counter)
    by_lang: dict[str, Counter[str]] = field(default_factory=dict)
    by_intent: dict[str, Counter[str]] = field(default_factory=dict)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def rate(self, measure: str) -> float:
        return self.hits[measure] / self.total[measure] if self.total[measure] else 1.0

    def count(self, measure: str, ok: bool, case: Case, detail: str = "") -> None:
        self.total[measure] += 1
        self.hits[measure] += ok
        for key, table in ((case.lang, self.by_lang), (case.intent, self.by_intent)):
            row = table.setdefault(key, Counter())
            row[f"{measure}:total"] += 1
            row[f"{measure}:hits"] += ok
        if not ok:
            self.misses.append(f"{measure}: {case.text!r} ({case.source}) {detail}")


def load_cases() -> list[Case]:
    """Every row of every eval_*.tsv file."""
    cases = []
    for path in sorted(HERE.glob("eval_*.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = csv.reader((line for line in handle if not line.startswith("#") and line.strip()),
                              delimiter="\t")
            for row in rows:
                text, lang, intent, kind, topic, details, place = row
                cases.append(Case(text, lang, intent, kind, topic, details, place, path.name))
    return cases


def place_code(directory: Directory, label: str) -> str:
    """The code of "Name/level" (HCP French name), failing loudly on a label that names nothing."""
    name, _, level = label.partition("/")
    found = [match.collectivity.code for match in directory.match(name, limit=10)
             if match.collectivity.name_fr == name and match.collectivity.level == level]
    if not found:
        raise ValueError(f"no {level} named {name!r}")
    return found[0]


def reply_locale(text: str, found: Understanding) -> str:
    """The locale Bab answers a first message in (a preview language, Tamazight, counts as recognised)."""
    preview = locale_for(found.detection.locale, found.detection.script)
    if preview == "zgh":
        return "zgh"
    return first_locale(Inbound(kind=InboundKind.TEXT, text=text), DEFAULT_LOCALE)


def observed_intent(found: Understanding) -> str:
    if found.topic is not None and found.topic.state and found.intent in (None, "access", "feedback"):
        return "state"
    return found.intent or "none"


def evaluate(directory: Directory, cases: list[Case] | None = None) -> Scores:
    """Score every case: language+script, intent, details (kind, topic, prefill), place top-1 and top-3."""
    scores = Scores()
    for case in cases or load_cases():
        started = time.perf_counter()
        found = understand(case.text, directory)
        scores.latencies_ms.append((time.perf_counter() - started) * 1000)
        if case.lang != "*":
            got = reply_locale(case.text, found)
            scores.count("language", got == case.lang, case, f"got {got}")
        intent = observed_intent(found)
        scores.confusion[(case.intent, intent)] += 1
        scores.count("intent", intent == case.intent, case, f"got {intent} {found.evidence}")
        if case.intent in ("access", "feedback", "state") and intent == case.intent:
            wanted = (case.kind if case.intent == "feedback" else "-", case.topic,
                      case.details if case.intent != "state" else "-")
            got_details = (found.kind or "-" if case.intent == "feedback" else "-",
                           found.topic.topic if found.topic else "-",
                           ("y" if found.details else "n") if case.intent != "state" else "-")
            scores.count("details", got_details == wanted, case, f"wanted {wanted} got {got_details}")
        if case.place != "-":
            code = place_code(directory, case.place)
            scores.count("place_top1", found.places[:1] == (code,), case, f"got {found.places}")
            scores.count("place_top3", code in found.places[:3], case, f"got {found.places}")
    return scores


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
