"""Rule-based language detection for short chat messages (pure, stdlib only).

No offline detector knows Moroccan Arabic or Tamazight, so we follow the research note
(shared/knowledge/language.md, §2): pick the script first, then count marker words from
`bot/data/markers.tsv` (plus a few built-in French and MSA words) and Arabizi digits.
The answer is "fr", "ar" (MSA), "ary" (Darija, in either script), "zgh" (Tamazight, Tifinagh or Latin)
or None when the cues do not decide; the caller then keeps the session language. Reading the marker file once is the only I/O.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.domain.text import normalise, script_counts

__all__ = ["MARKERS_PATH", "Detection", "chat_words", "detect_language"]

MARKERS_PATH = Path(__file__).resolve().parent.parent / "data" / "markers.tsv"


@dataclass(frozen=True, slots=True)
class Detection:
    """Outcome of detection: `locale` is None when unsure (then `confident` is False); `script` is "arab", "latn", "tfng" or "none"."""

    locale: str | None  # the language: "fr" | "ar" | "ary" | "zgh" | None (bot.i18n.locale_for adds the script)
    confident: bool
    script: str


@dataclass(frozen=True, slots=True)
class _Cues:
    """Normalised marker terms of one language, split by strength; multi-word terms are phrases."""

    strong: frozenset[str]
    weak: frozenset[str]


# French words the marker file lacks: the commonest function words. Words shared with
# English or Darija ("on", "son", "ta", "sa") are left out on purpose.
_FRENCH_EXTRA = (
    "accord", "elle", "ils", "elles", "un", "de", "et", "que", "qui", "quoi", "dans", "pour",
    "par", "sur", "avec", "sans", "mais", "tes", "ses", "vos", "notre", "nos", "ce", "cette",
    "ces", "cela", "ca", "salut", "peux", "pouvez", "faire", "fait", "aider", "demander", "quel",
    "quelle", "plait", "deposer", "en", "tres", "bien", "bon", "aussi", "sont", "ai", "avez",
    "avoir", "etre", "moi", "toi", "nom", "probleme", "laissez", "tomber", "annuler", "plainte", "reclamation",
)
# The halves of elisions: "c'est" -> "c est", "j'ai" -> "j ai". The note found "c'est bon"
# and "d'accord" fell through when the tokeniser kept the apostrophe. Single letters are
# weak: they only add to French evidence found elsewhere.
_FRENCH_ELISIONS = ("j", "c", "qu", "n", "s", "m", "t", "d", "jusqu", "lorsqu", "puisqu")
# MSA constructions that Darija writes differently (Darija: شنو هي, ما غاديش, باش).
_MSA_EXTRA = ("ما هي", "ما هو", "لم", "لن", "قد", "أن", "إلى", "الذين", "أستطيع", "أرغب", "هناك",
              # MSA words and forms Darija says otherwise (كاين, بزاف, قدام, عندي, كامل, هادي…)
              "يوجد", "توجد", "لا يوجد", "لا توجد", "جدا", "منذ", "أمام", "حول", "لدي", "لدينا", "بخصوص", "يتم",
              "تم", "كله", "كلها", "أطلب", "أقترح", "أبلغ", "يرفض", "ترفض", "تتوقف", "يتوقف", "متوقفة", "متوقف",
              "الاطلاع", "إحداث", "تركيب", "انقطاع", "بلغت", "مصاريف", "تسليمي", "شارعنا", "حينا", "أشهر",
              "ثلاثة", "ستة", "أسبوع", "ضد", "لا تعمل", "لا يعمل", "كيف", "أحتاج", "تكلم", "معي", "الإلغاء",
              "تبت", "تفتقر", "تفيض")
# Common Latin Tamazight greetings and words missing from the file (the "tanmmirt", "mamek").
_TAMAZIGHT_EXTRA = ("azul", "azoul", "tanmmirt", "tanemmirt", "tanmirt", "tanmmirt nnek", "mamek", "mamk", "manik",
                    "fellak", "fellam", "fellawen", "flawn", "ansuf", "ansuf yiswen", "is tgit", "tamazight",
                    "tamaziɣt", "tutlayt")
# Common Darija words missing from the file ("la chokran" was misread as French).
_DARIJA_EXTRA = ("chokran", "choukran", "chukran", "nchouf", "3lik", "m3ak", "dyalna", "dyalkom", "dialna",
                 "kaynch", "ma kaynch", "dwar", "l7oma", "l7ay", "derb", "zen9a", "mherres", "mherresa", "kamel",
                 "jawbni", "jawbouni", "kteb", "kteb lia", "nhder", "3andna", "3ndna", "mazal", "nchki", "bghit",
                 "ma bghitch", "lghi", "kifach", "fin", "wesh")

# Greetings and thanks that say nothing about the language (used in every register) but
# are still chat words, not place names.
_GREETINGS = frozenset(normalise(w) for w in (
    "salam", "slm", "salamo alaykom", "سلام", "السلام عليكم", "شكرا", "hi", "hello", "ok",
))

# An Arabizi digit touching letters: "3afak", "t9der", "sm7". Bare numbers like
# "15 mars" or "2024" do not fire (§2.1).
_ARABIZI = re.compile(r"(?<=[a-z])[235789](?=[a-z])|\b[2379](?=[a-z]{2})|(?<=[a-z]{2})[379]\b")
# Accented letters that French uses and Darija-in-Latin does not.
_FRENCH_ACCENTS = re.compile(r"[éèêàçùûôîœëï]")
# Berber Latin letters (tamaziɣt, ḥ, ṣ…): evidence of Latin Tamazight.
_BERBER_LETTERS = re.compile(r"[ɣɛḥṛṣṭẓḍ]")
# Tifinagh above this share of letters means Tamazight (§0, step 2).
_TIFINAGH_SHARE = 0.3


@lru_cache(maxsize=4)
def _load_cues(path: Path = MARKERS_PATH) -> dict[str, _Cues]:
    """Read markers.tsv once into normalised cue sets per language ("fr", "ar", "ary", "zgh")."""
    strong: dict[str, set[str]] = {}
    weak: dict[str, set[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            lang = row["lang"]
            # "any-ar" intent keywords say nothing about register; skip them.
            if lang not in ("fr", "ar", "ary", "zgh"):
                continue
            term = normalise(row["term"])
            if not term:
                continue
            bucket = strong if row["strength"] == "strong" else weak
            bucket.setdefault(lang, set()).add(term)
    for lang, extra in (("fr", _FRENCH_EXTRA), ("ar", _MSA_EXTRA), ("ary", _DARIJA_EXTRA), ("zgh", _TAMAZIGHT_EXTRA)):
        strong.setdefault(lang, set()).update(normalise(t) for t in extra)
    weak.setdefault("fr", set()).update(_FRENCH_ELISIONS)
    cues: dict[str, _Cues] = {}
    for lang in ("fr", "ar", "ary", "zgh"):
        s = frozenset(strong.get(lang, set()))
        # A term listed both ways counts as strong.
        cues[lang] = _Cues(strong=s, weak=frozenset(weak.get(lang, set())) - s)
    return cues


def chat_words() -> frozenset[str]:
    """Every normalised marker term of every language: chat words ("wakha", "merci", "سلام"…) that are not place names on their own."""
    terms: set[str] = set(_GREETINGS)
    for cues in _load_cues().values():
        terms |= cues.strong | cues.weak
    return frozenset(terms)


def _count(terms: frozenset[str], tokens: list[str], padded: str) -> int:
    """Count token hits for one-word terms and phrase hits for multi-word terms."""
    hits = sum(1 for tok in tokens if tok in terms)
    hits += sum(1 for t in terms if " " in t and f" {t} " in padded)
    return hits


def _dominant_script(text: str) -> str:
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return "none"
    if counts["tfng"] / total > _TIFINAGH_SHARE:
        return "tfng"
    return "arab" if counts["arab"] >= counts["latn"] else "latn"


def _decide(winner: str, win: int, lose: int, script: str) -> Detection:
    # Confident when the loser has nothing, or the winner leads clearly.
    return Detection(winner, confident=lose == 0 or win >= 2 * lose, script=script)


def _detect_arabic(tokens: list[str], padded: str, cues: dict[str, _Cues]) -> Detection:
    ary = _count(cues["ary"].strong, tokens, padded)
    msa = _count(cues["ar"].strong, tokens, padded)
    if ary > msa:
        return _decide("ary", ary, msa, "arab")
    if msa > ary:
        return _decide("ar", msa, ary, "arab")
    # A tie (usually 0-0 on short messages) is "Arabic, register unknown": the caller
    # keeps the session's register.
    return Detection(None, confident=False, script="arab")


def _detect_latin(raw: str, tokens: list[str], padded: str, cues: dict[str, _Cues]) -> Detection:
    folded = raw.casefold()
    digit_hits = len(_ARABIZI.findall(padded))
    ary_strong = _count(cues["ary"].strong, tokens, padded)
    fr_strong = _count(cues["fr"].strong, tokens, padded)
    accents = 1 if _FRENCH_ACCENTS.search(folded) else 0
    zgh = _count(cues["zgh"].strong, tokens, padded) + len(_BERBER_LETTERS.findall(folded))

    ary = 2 * ary_strong + 2 * digit_hits
    fr = 2 * fr_strong + accents
    # Weak cues ("la", "fin", "ok") are also words of the other language: they only add
    # weight to a language that already has real evidence (§2.1).
    if ary:
        ary += _count(cues["ary"].weak, tokens, padded)
    if fr:
        fr += _count(cues["fr"].weak, tokens, padded)

    if zgh and 2 * zgh > max(ary, fr):
        # Latin Tamazight ("azul", "tanemmirt"): recognised; the caller greets it (bot.i18n.locale_for).
        return Detection("zgh", confident=zgh >= 1 and max(ary, fr) == 0, script="latn")
    if ary == 0 and fr == 0:
        return Detection(None, confident=False, script="latn")
    # Code-switching ("merci bzaf") is normal; a tie goes to Darija, because Darija
    # evidence (strong marker or Arabizi digit) in a Moroccan chat is rarely accidental.
    if ary >= fr:
        return _decide("ary", ary, fr, "latn")
    return _decide("fr", fr, ary, "latn")


def detect_language(text: str) -> Detection:
    """Guess the language of a short message; never raises, and answers locale None when the cues are absent or tied."""
    text = text[:2000]  # long pastes carry no more signal and would only cost time
    script = _dominant_script(text)
    if script == "none":
        return Detection(None, confident=False, script=script)
    if script == "tfng":
        return Detection("zgh", confident=True, script=script)  # any Tifinagh practically settles it (§2.1)
    cues = _load_cues()
    norm = normalise(text)
    tokens = norm.split()
    padded = f" {norm} "
    if script == "arab":
        return _detect_arabic(tokens, padded, cues)
    return _detect_latin(text, tokens, padded, cues)
