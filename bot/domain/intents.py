"""What a free message asks for, and the details it already gives (pure, deterministic; no channel, no I/O).

`understand(text, directory)` reads a message the way people write it (Darija in Arabic letters or Arabizi,
French, MSA, mixed) and returns its language and script, its intent (an access request, a complaint /
observation / suggestion, the status of one's requests, help, a language change, cancel, seeing or erasing one's
data), and the details that can fill the flow's steps: the kind of feedback, the service or topic concerned (bot/data/competences.tsv), the
places it names, a request reference, and whether the message itself says what is wanted. Keywords live in
bot/data/intents.tsv; scores are sums of weights, so every decision can be explained by the words that fired.
When two intents are close the answer is not `sure` and the caller asks one short question.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.domain.competence import Competence, Suggestion, competences, suggest
from bot.domain.directory import Directory
from bot.domain.language import Detection, detect_language
from bot.domain.requests import find_reference
from bot.domain.text import normalise

__all__ = ["INTENTS", "INTENTS_PATH", "Understanding", "is_short_answer", "understand"]

INTENTS_PATH = Path(__file__).resolve().parent.parent / "data" / "intents.tsv"
INTENTS = ("access", "feedback", "status", "help", "language", "cancel", "mydata", "forget")
FEEDBACK_KINDS = ("complaint", "observation", "suggestion")

# A score this high says the intent; a lead this large over the runner-up makes it sure.
_ENOUGH = 2
_LEAD = 2
# Verbs of wanting: with a hint of a document ("le budget", "المحضر") they make an access request.
_WANT = frozenset(normalise(word) for word in (
    "bghit", "bghina", "brit", "voudrais", "veux", "souhaite", "aimerais", "souhaiterais", "besoin", "demande",
    "أريد", "اريد", "أود", "أرغب", "بغيت", "بغينا", "نريد", "نطلب", "أطلب", "اطلب",
))
# Glued articles and prepositions dropped from a word before lookup: "lchikaya", "الشكاية", "فالزنقة".
_PREFIXES = ("fal", "fel", "bel", "al", "el", "l", "فال", "بال", "وال", "لل", "ال", "و", "ف", "ب", "ل")
# Words that carry no detail: function words, greetings, politeness, in every language we read.
_FILLER = frozenset(normalise(word) for word in (
    "salam", "slm", "salamo", "alaykom", "3likom", "bonjour", "bonsoir", "salut", "hello", "hi", "merci",
    "chokran", "3afak", "afak", "svp", "stp", "s'il", "vous", "plait", "please",
    "ana", "bghit", "bghina", "3ndi", "3andi", "kayn", "kayna", "dyal", "dial", "dyali", "diali", "d", "l", "f",
    "fi", "b", "3la", "ala", "mn", "men", "m3a", "o", "w", "wa", "had", "hadi", "hada", "wach", "chi", "li",
    "je", "j", "voudrais", "veux", "souhaite", "aimerais", "ai", "il", "y", "a", "de", "du", "des", "le", "la",
    "les", "un", "une", "et", "au", "aux", "en", "pour", "sur", "dans", "ma", "mon", "mes", "est", "c", "qu",
    "que", "qui", "ce", "cette", "avec", "par", "pas", "ne", "n", "me", "m", "moi", "nous", "notre",
    "السلام", "عليكم", "سلام", "مرحبا", "شكرا", "عافاك", "من", "فضلك", "لو", "سمحت", "انا", "أنا", "بغيت",
    "عندي", "ديال", "ديالي", "في", "ف", "على", "الى", "إلى", "عن", "و", "هذا", "هذه", "هاد", "واش", "شي", "اللي",
    "الذي", "التي", "أريد", "اريد", "أود", "ان", "أن", "لي", "كاين", "كاينة", "هناك", "يوجد", "مع", "ب",
    # greetings of the day and the verbs and nouns of asking: "مساء الخير، أود تقديم اقتراح" says no detail
    "مساء", "صباح", "الخير", "النور", "bonsoir", "bonne", "journee", "sba7", "lkhir", "msa", "mse",
    "تقديم", "ارسال", "إرسال", "أقدم", "اقدم", "نقدم", "نصيفط", "ندير", "نكتب", "طلب", "الطلب", "talab", "tleb",
    "ndir", "nsift", "nkteb", "ndepozi", "nqdem", "n9dem", "deposer", "faire", "envoyer", "formuler", "adresser",
    "demande", "une", "information", "informations", "ma3lomat", "ma3louma", "معلومات", "معلومة", "المعلومات",
    "haja", "7aja", "chi", "شي", "حاجة", "quelque", "chose", "svp", "من", "فضلكم",
    "شنو", "خاصني", "باش", "كيفاش", "chno", "khassni", "khasni", "bach", "kifach", "comment", "quoi", "quel",
))
# Words that are answers ("ok", "wakha", "لا") or numbers: never a request on their own, never a language switch.
_ANSWERS = frozenset(normalise(word) for word in (
    "ok", "okay", "oki", "wakha", "waxa", "wakhha", "ah", "iyeh", "eh", "oui", "non", "la", "lla", "no", "yes",
    "safi", "merci", "chokran", "d'accord", "daccord", "لا", "نعم", "اه", "آه", "واخا", "صافي", "شكرا", "ايه",
))


@dataclass(frozen=True, slots=True)
class _Cue:
    """One keyword row: its intent, the feedback kind it implies (if any), its weight and normalised terms."""

    intent: str
    kind: str | None
    weight: int
    terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message asks and says; `intent` is None when nothing fired (a greeting, an answer, noise)."""

    detection: Detection
    intent: str | None = None
    sure: bool = False
    alternatives: tuple[str, ...] = ()  # the intents to offer when not sure, best first
    kind: str | None = None  # for feedback: "complaint" | "observation" | "suggestion"
    topic: Competence | None = None  # the everyday topic named ("waste", "id_card"…)
    places: tuple[str, ...] = ()  # collectivity codes the message names, best first
    suggestion: Suggestion | None = None  # the competent collectivity for the topic at the place
    reference: str | None = None  # a request reference (BAB-XXXXXX)
    details: str | None = None  # the message itself when it says what is wanted, to prefill the topic/description
    evidence: tuple[str, ...] = field(default_factory=tuple)  # the words that fired, for explanations and tests

    @property
    def service(self) -> str | None:
        """The feedback flow's service id for the topic, if the flow has one."""
        return self.topic.service if self.topic else None


def _variants(token: str) -> list[str]:
    """A word as written and with a glued article or preposition dropped."""
    out = [token]
    for prefix in _PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 3:
            out.append(token[len(prefix):])
    return out


@lru_cache(maxsize=2)
def _cues(path: Path = INTENTS_PATH) -> tuple[_Cue, ...]:
    """The keyword table, read once."""
    rows: list[_Cue] = []
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        for row in csv.DictReader(lines, delimiter="\t"):
            if row["intent"] not in INTENTS:
                raise ValueError(f"unknown intent {row['intent']!r}")
            terms = frozenset(normalise(term) for term in row["terms"].split("|") if normalise(term))
            rows.append(_Cue(row["intent"], row["kind"] or None, int(row["weight"]), terms))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class _Text:
    """A message prepared for lookups: its words (with variants) and the padded phrase strings."""

    tokens: tuple[str, ...]
    words: frozenset[str]
    phrases: tuple[str, ...]  # " a b c " as written and with glued articles dropped

    def has(self, term: str) -> bool:
        if " " in term:
            return any(f" {term} " in phrase for phrase in self.phrases)
        return term in self.words


def _prepare(text: str) -> _Text:
    tokens = tuple(normalise(text[:1000]).split())
    words: set[str] = set()
    for token in tokens:
        words.update(_variants(token))
    stripped = " ".join(_variants(token)[-1] for token in tokens)
    return _Text(tokens, frozenset(words), (f" {' '.join(tokens)} ", f" {stripped} "))


@lru_cache(maxsize=64)
def _split(terms: frozenset[str]) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """A term set as its one-word terms (for a set intersection) and its phrases keyed by their first word."""
    phrases: dict[str, list[str]] = {}
    for term in sorted(t for t in terms if " " in t):
        phrases.setdefault(term.split(" ", 1)[0], []).append(term)
    return frozenset(t for t in terms if " " not in t), {word: tuple(found) for word, found in phrases.items()}


def _fired(terms: frozenset[str], prepared: _Text) -> list[str]:
    """The terms of a set that the message contains, in a stable order."""
    words, phrases = _split(terms)
    candidates = (phrase for word in sorted(prepared.words & phrases.keys()) for phrase in phrases[word])
    return sorted(words & prepared.words) + [phrase for phrase in candidates if prepared.has(phrase)]


# Words that open a question: with a topic and no word of trouble, the message asks rather than reports.
_QUESTION_WORDS = frozenset(normalise(word) for word in (
    "wach", "wech", "chno", "achno", "chkoun", "chkon", "ch7al", "chhal", "imta", "fin", "kifach", "3lach",
    "combien", "qui", "quel", "quelle", "quels", "quand", "pourquoi", "comment", "est-ce",
    "هل", "ما", "ماذا", "كم", "متى", "لماذا", "كيف", "من", "شكون", "شحال", "واش", "شنو", "فوقاش", "علاش",
))


def asks_a_question(text: str, prepared: _Text) -> bool:
    """The message is a question: a question mark, or a question word first."""
    return text.rstrip().endswith(("?", "؟")) or bool(prepared.tokens and prepared.tokens[0] in _QUESTION_WORDS)


def is_short_answer(text: str) -> bool:
    """'ok', 'wakha', 'oui', 'لا', '1': an answer to a question, never a request or a language switch."""
    tokens = normalise(text).split()
    if not tokens:
        return True
    if len(tokens) == 1 and (tokens[0].isdigit() or tokens[0] in _ANSWERS or len(tokens[0]) <= 2):
        return True
    return len(tokens) <= 2 and all(token in _ANSWERS or token.isdigit() for token in tokens)


def _topic(prepared: _Text) -> tuple[Competence | None, set[str]]:
    """The competence row whose terms cover most words, and the words that fired. A local topic wins over a
    State one ("a pothole in front of the school"), then the one named first, then the longest term."""
    best: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    found: Competence | None = None
    used: set[str] = set()
    for index, row in enumerate(competences()):
        hits = _fired(frozenset(row.terms), prepared)
        if not hits:
            continue
        words = {word for term in hits for word in term.split()}
        covered = {position for position, token in enumerate(prepared.tokens)
                   if any(variant in words for variant in _variants(token))}
        first = min(covered, default=len(prepared.tokens))
        rank = (0 if row.state else 1, max(len(covered), 1), -first, max(len(term) for term in hits), -index)
        if rank > best:
            best, found = rank, row
            used = {word for term in hits for word in term.split()}
    return found, used


def understand(text: str, directory: Directory | None = None) -> Understanding:
    """Read one free message: language, intent (with how sure), and the details it carries."""
    detection = detect_language(text)
    if is_short_answer(text):
        return Understanding(detection)
    prepared = _prepare(text)
    scores = dict.fromkeys(INTENTS, 0)
    kinds: dict[str, int] = {}
    evidence: list[str] = []
    cue_words: set[str] = set()
    asking_words: set[str] = set()
    for cue in _cues():
        counted: set[str] = set()
        for term in _fired(cue.terms, prepared):
                stem = term if " " in term else _variants(term)[-1]
                if stem in counted:  # "الشكاية" and "شكاية" are one word said once
                    continue
                counted.add(stem)
                scores[cue.intent] += cue.weight
                evidence.append(term)
                cue_words.update(term.split())
                if cue.weight >= _ENOUGH:  # "bghit n3ref", "chikaya": the request itself, not its content
                    asking_words.update(term.split())
                if cue.kind:
                    kinds[cue.kind] = kinds.get(cue.kind, 0) + cue.weight
    if scores["access"] >= 1 and prepared.words & _WANT:
        scores["access"] += 1
        evidence.append("want")
    topic, topic_words = _topic(prepared)
    if topic is not None:
        evidence.append(f"topic:{topic.topic}")
        said = [token for token in prepared.tokens if token not in _FILLER]
        if asks_a_question(text, prepared):
            pass  # "wach momkin n3ref…?", "J'aimerais connaître le coût…": a question is not a problem report
        elif not topic.state and not any(scores.values()) and len(said) >= 4:
            scores["feedback"] += _ENOUGH  # "الباركينغ فالجديدة عامر ديما": a local service described is a report
        elif not topic.state and scores["access"] == 0 and scores["feedback"] >= 1 and not scores["status"]:
            scores["feedback"] += 1  # "الضو مقطوع": a local service and a word of trouble
        elif not topic.state and scores["access"] < _ENOUGH and not scores["status"]:
            scores["feedback"] += 1  # a local service named without "I want to know" is usually a problem report
    # A reference inside a sentence ("fin wsal BAB-7K3MQ9?"): find_reference reads one word, or the whole text.
    reference = next((found for found in map(find_reference, text.split()) if found), None) or find_reference(text)
    if reference is not None:
        scores["status"] += 3
    places: tuple[str, ...] = ()
    if directory is not None:
        ignore = cue_words | topic_words
        places = tuple(match.collectivity.code for match in directory.mentions(text, ignore=ignore))
    ranked = sorted(INTENTS, key=lambda name: (-scores[name], INTENTS.index(name)))
    top, second = ranked[0], ranked[1]
    if scores[top] < _ENOUGH:
        return Understanding(detection, topic=topic, places=places, reference=reference,
                             evidence=tuple(evidence))
    sure = scores[top] - scores[second] >= _LEAD or scores[second] == 0
    alternatives = tuple(name for name in ranked[:2] if scores[name] >= _ENOUGH) if not sure else ()
    kind = None
    if top == "feedback" or "feedback" in alternatives:
        kind = max(FEEDBACK_KINDS, key=lambda name: (kinds.get(name, 0), -FEEDBACK_KINDS.index(name)))
        if not kinds.get(kind):
            kind = "complaint"
    content = [token for token in prepared.tokens
               if token not in _FILLER and token not in asking_words and not any(
                   variant in asking_words or variant in _FILLER for variant in _variants(token)[1:])]
    wanted = 2
    details = text.strip() if len(content) >= wanted and len(text.strip()) >= 10 else None
    suggestion = suggest(topic.topic, places, directory) if topic is not None and directory is not None else None
    return Understanding(
        detection, intent=top, sure=sure, alternatives=alternatives, kind=kind, topic=topic, places=places,
        suggestion=suggestion, reference=reference, details=details if top in ("access", "feedback") else None,
        evidence=tuple(evidence),
    )
