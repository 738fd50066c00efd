"""Measure the understanding of free messages on the labelled set: accuracy per language and intent, the intent
confusion table, and the time to understand one message.

Run with `.venv/bin/python benchmarks/bench_understanding.py`. The set is tests/understanding/eval_*.tsv (the same
rows the floors in tests/understanding/test_evaluation.py run on). Three files are also scored alone, written one
after the other once the rules were tuned on the rest: `eval_heldout.tsv` and `eval_blind.tsv` were then tuned on
too (their first, blind scores are in the README), `eval_unseen.tsv` never was. BENCH_ROUNDS sets how many times
each message is timed (default 5).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the evaluation helpers live with the tests

from bot.domain.directory import Directory, read_aliases, read_collectivities
from bot.domain.intents import INTENTS, understand
from tests.understanding.evaluation import Scores, evaluate, load_cases, p99

MEASURES = ("language", "intent", "details", "place_top1", "place_top3")


def rate(row: dict[str, int] | Scores, measure: str) -> str:
    if isinstance(row, Scores):
        hits, total = row.hits[measure], row.total[measure]
    else:
        hits, total = row.get(f"{measure}:hits", 0), row.get(f"{measure}:total", 0)
    return f"{100 * hits / total:5.1f}% ({hits}/{total})" if total else "       -"


def precision(scores: Scores) -> str:
    """How often an intent, when one is given, is the right one; a message with none gets the menu instead."""
    given = sum(count for (wanted, got), count in scores.confusion.items() if got != "none")
    right = sum(count for (wanted, got), count in scores.confusion.items() if got != "none" and got == wanted)
    unknown = sum(count for (wanted, got), count in scores.confusion.items() if got == "none" and wanted != "none")
    return f"intent precision {100 * right / given:.1f}% ({right}/{given}), menu instead {unknown}"


def table(title: str, rows: dict[str, dict[str, int]]) -> None:
    print(f"\n{title}")
    print(f"  {'':10}" + "".join(f"{measure:>22}" for measure in MEASURES))
    for key in sorted(rows):
        print(f"  {key:10}" + "".join(f"{rate(rows[key], measure):>22}" for measure in MEASURES))


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    directory = Directory(read_collectivities(), read_aliases())
    cases = load_cases()
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; {len(cases)} labelled messages")
    scores = evaluate(directory, cases)
    print("\nOverall:  " + "  ".join(f"{measure} {rate(scores, measure)}" for measure in MEASURES)
          + f"  {precision(scores)}")
    for source in ("eval_heldout.tsv", "eval_blind.tsv", "eval_unseen.tsv"):
        subset = evaluate(directory, [case for case in cases if case.source == source])
        print(f"{source[5:-4]:9} " + "  ".join(f"{measure} {rate(subset, measure)}" for measure in MEASURES)
              + f"  {precision(subset)}")
    table("Per language (expected):", scores.by_lang)
    table("Per intent (expected):", scores.by_intent)

    labels = [*INTENTS, "state", "none"]
    print("\nIntent confusion (rows: expected, columns: understood):")
    print(f"  {'':9}" + "".join(f"{label[:8]:>9}" for label in labels))
    for wanted in labels:
        print(f"  {wanted[:8]:9}" + "".join(f"{scores.confusion[(wanted, got)] or '.':>9}" for got in labels))

    texts = [case.text for case in cases]
    for text in texts:  # warm-up: tables read once, caches filled
        understand(text, directory)
    runs: list[list[float]] = []
    for _ in range(rounds):
        run = []
        for text in texts:
            started = time.perf_counter()
            understand(text, directory)
            run.append((time.perf_counter() - started) * 1000)
        runs.append(run)
    timings = sorted(value for run in runs for value in run)
    fastest = [min(values) for values in zip(*runs, strict=True)]  # each message's own cost, without other load
    print(f"\nTime to understand one message ({rounds} rounds of {len(texts)}): "
          f"median {timings[len(timings) // 2]:.3f} ms, p99 {p99(timings):.3f} ms, max {timings[-1]:.3f} ms; "
          f"each message's fastest run: p99 {p99(fastest):.3f} ms, max {max(fastest):.3f} ms")
    if scores.misses:
        print(f"\nMisses ({len(scores.misses)}):")
        for miss in scores.misses:
            print(f"  {miss[:160]}")


if __name__ == "__main__":
    main()
