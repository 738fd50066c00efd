"""Which level of collectivity handles an everyday topic, and why (pure; the table is bot/data/competences.tsv).

A topic ("waste", "lighting", "id_card"…) belongs to a commune, a prefecture/province, a region or the State, with
the article of organic law 113-14, 112-14 or 111-14 that gives the competence. `suggest` turns a topic and the
places a citizen named into the collectivity to address: the commune named for a commune topic, its province or
region for theirs. State topics get no collectivity: the citizen is pointed to the State's own channels.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.domain.directory import Collectivity, Directory
from bot.domain.text import normalise

__all__ = ["COMPETENCES_PATH", "Competence", "Suggestion", "competence_of", "competences", "suggest"]

COMPETENCES_PATH = Path(__file__).resolve().parent.parent / "data" / "competences.tsv"
LEVELS = ("commune", "province", "region", "state")


@dataclass(frozen=True, slots=True)
class Competence:
    """One row of the table: a topic, the level that handles it, the feedback service id and the legal source."""

    topic: str
    level: str  # "commune" | "province" | "region" | "state"
    service: str | None  # the feedback flow's service id ("waste"…), None when the flow has none for it
    law: str | None  # "113-14"…; None for State topics
    article: str | None
    terms: tuple[str, ...]  # normalised words and phrases that name the topic

    @property
    def state(self) -> bool:
        """The topic belongs to the State (ID cards, police, courts, schools, hospitals, ministries)."""
        return self.level == "state"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The collectivity to address for a topic at a place, with the competence that says so."""

    competence: Competence
    collectivity: Collectivity | None  # None for State topics or when no place is known


@lru_cache(maxsize=2)
def competences(path: Path = COMPETENCES_PATH) -> tuple[Competence, ...]:
    """The competence table, read once."""
    rows: list[Competence] = []
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        for row in csv.DictReader(lines, delimiter="\t"):
            level = row["level"]
            if level not in LEVELS:
                raise ValueError(f"unknown level {level!r} for topic {row['topic']!r}")
            terms = tuple(dict.fromkeys(normalise(term) for term in row["terms"].split("|") if normalise(term)))
            rows.append(Competence(
                topic=row["topic"], level=level, service=row["service"] or None,
                law=None if row["law"] in ("", "-") else row["law"],
                article=None if row["article"] in ("", "-") else row["article"], terms=terms,
            ))
    return tuple(rows)


def competence_of(topic: str) -> Competence | None:
    """The row for a topic id, or None."""
    return next((row for row in competences() if row.topic == topic), None)


def _up_to(place: Collectivity, level: str, directory: Directory) -> Collectivity | None:
    """The place itself or its parent at `level` (a commune's province or region)."""
    current: Collectivity | None = place
    while current is not None and current.level != level:
        current = directory.parent(current)
    return current


def suggest(topic: str, places: tuple[str, ...], directory: Directory) -> Suggestion | None:
    """The collectivity competent for `topic` among or above the named `places` (codes, best first)."""
    row = competence_of(topic)
    if row is None:
        return None
    if row.state:
        return Suggestion(row, None)
    for code in places:
        place = directory.get(code)
        if place is None:
            continue
        competent = _up_to(place, row.level, directory)
        if competent is not None:
            return Suggestion(row, competent)
    return Suggestion(row, None)
