"""The directory of Morocco's territorial collectivities and fuzzy place-name matching (pure: stdlib + rapidfuzz).

Rows come from HCP's RGPH 2024 list (`bot/data/morocco_collectivities.csv`: 12 regions,
75 provinces/prefectures, 1,503 communes) plus the 41 arrondissements and a small exonym
table as aliases of their commune. `Directory.match` follows the research note
(shared/knowledge/language.md, §5.2): exact lookup of normalised names, rapidfuzz on
normalised strings, then a consonant-skeleton lookup guarded against ordinary words.
Matching only suggests; the bot must confirm the place with the user. Files are read only
by the `read_*` functions and, once per process, for the default chat-word list
(`bot.domain.language.chat_words`).
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.domain.language import chat_words as default_chat_words
from bot.domain.text import normalise, skeleton, tifinagh_to_latin

__all__ = [
    "EXONYMS",
    "MIN_SCORE",
    "PALACE_COMMUNES",
    "Alias",
    "Collectivity",
    "Directory",
    "Match",
    "read_aliases",
    "read_collectivities",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
COLLECTIVITIES_CSV = DATA_DIR / "morocco_collectivities.csv"
ARRONDISSEMENTS_CSV = DATA_DIR / "morocco_arrondissements.csv"


@dataclass(frozen=True, slots=True)
class Collectivity:
    """One region, province/prefecture or commune, as HCP lists it."""

    code: str  # HCP code: "RR", "RR.PPP" or "RR.PPP.CC.NN"
    level: str  # "region" | "province" | "commune"
    name_fr: str
    name_ar: str
    parent_code: str | None
    population: int  # RGPH 2024 legal population
    lat: float
    lon: float
    province_type: str | None  # "prefecture" | "province"; on a commune, its parent's type
    commune_type: str | None  # "urbaine" | "rurale" for communes


@dataclass(frozen=True, slots=True)
class Alias:
    """Another name for a collectivity: an arrondissement of a city, or an exonym / common spelling."""

    code: str
    alias: str
    kind: str  # "arrondissement" | "exonym"


@dataclass(frozen=True, slots=True)
class Match:
    """A matching collectivity, its score in 0..100, and the name or alias that matched."""

    collectivity: Collectivity
    score: float
    matched: str


# Exonyms, Darija spellings and common French spellings that neither HCP name nor the
# skeleton reliably reaches (§5.1). Keyed by commune code, with the HCP name for readers.
EXONYMS: dict[str, tuple[str, ...]] = {
    "06.141.01.0": ("Casa", "Dar el Beida", "Dar Bida", "Dar el Bida", "Dar Lbida", "Darbida", "Lbida",
                    "Kaza", "كازا", "كازابلانكا", "البيضاء"),  # Casablanca
    "01.511.01.0": ("Tangier", "Tangiers", "Tanja", "Tánger", "ⵜⴰⵏⵊⴰ"),  # Tanger
    "03.231.01.0": ("Fez", "Fas"),  # Fès
    "07.351.01.0": ("Marrakesh", "Marrakch", "Mrrakch", "Mrakch", "Kech"),  # Marrakech
    "01.571.01.11": ("Titwan", "Tetuán", "Tetouane"),  # Tétouan
    "01.151.01.01": ("Chaouen", "Xauen", "Chefchaouene", "Chafchaouen", "Chefchawen", "Chawen"),  # Chefchaouen
    "06.181.01.03": ("Mazagan", "Jdida", "Ljdida"),  # El Jadida
    "07.211.01.05": ("Mogador", "Sswira", "Souira"),  # Essaouira
    "08.201.01.05": ("Ksar es Souk", "Ksar Souk", "Rachidia"),  # Errachidia
    "01.051.01.01": ("Alhucemas", "Lhoceima", "Hoceima", "Lhouceima"),  # Al Hoceima
    "12.391.01.01": ("Villa Cisneros",),  # Dakhla
    "04.441.01.0": ("Sla",),  # Salé
    "03.061.01.01": ("Mknas", "Miknas", "Meknassa"),  # Meknès
    "04.281.01.01": ("9nitra", "Knitra", "Lqnitra", "Port-Lyautey"),  # Kénitra
    "04.421.01.0": ("Rbat", "Ribat"),  # Rabat
    "06.371.01.01": ("Mohammedia", "Lmohammadia", "Lmohamadia", "Fedala"),  # Mohammadia
    "11.321.01.03": ("Laayoun", "Layoune", "El Aaiún"),  # Laâyoune
    "11.221.01.01": ("Smara", "Semara", "Essmara"),  # Es-Semara
    "09.541.01.13": ("Taroudant", "Taroudante"),  # Taroudannt
    "02.411.01.23": ("Wjda",),  # Oujda
    "07.431.01.03": ("Asfi",),  # Safi
    "01.331.01.01": ("Alcazarquivir", "L9sar lkbir", "Lqsar lkbir", "Ksar Lkbir"),  # Ksar El Kebir
    "01.331.01.03": ("Laaraich", "L3rayech"),  # Larache
    "07.191.01.03": ("Kelaa des Sraghna", "El Kelaa des Sraghna", "Kalaa Sraghna", "El Kelaa", "Kelaa"),  # Kelâat Sraghna
    "03.531.01.01": ("Ghafsai",),  # Rhafsai
    "07.427.01.01": ("Benguerir", "Bengrir", "Ben Grir"),  # Ben Guerir
    "04.501.01.07": ("Tmara",),  # Témara
    "02.381.01.05": ("Nadour", "Nadore"),  # Nador
    "01.405.01.09": ("Ouazzane", "Wazzan", "Wezzane"),  # Ouezzane
    "05.091.01.01": ("Bni Mlal",),  # Béni Mellal
}

# Palace communes (Méchouar de Casablanca, Méchouar-Fès-El Jadid, Al Machouar-Stinia,
# Touarga, Méchouar-Kasba): a few thousand residents each. A general query for their
# city must reach the city, so they only rank high on a query naming them specifically.
PALACE_COMMUNES: frozenset[str] = frozenset(
    {"06.141.01.81", "03.231.01.03", "03.061.01.03", "04.421.01.07", "07.351.01.01"}
)

MIN_SCORE = 75.0  # below this a candidate is noise, not a suggestion
_MAX_QUERY = 100  # characters; place names are short and rapidfuzz is O(n*m)
_MIN_LETTERS = 3  # "la", "f", "لا": nothing shorter names a place
_FUZZY_CANDIDATES = 100  # WRatio's token-set score crowds the top with names sharing "el", "sidi"
_MIN_SKELETON = 3  # consonants; "sidi" (sd) or "had" (hd) would match villages
_FUZZY_SKELETON_SIMILARITY = 55.0  # string ratio needed besides a near-equal skeleton
_LEVEL_RANK = {"commune": 0, "province": 1, "region": 2}
_GENERIC_MIN_NAMES = 5  # a token shared by this many names does not identify a place

# Scores per kind of evidence. An arrondissement is a little below an official name, so a
# real commune of the same name ranks first; skeleton equality sits below any exact match.
_EXACT = 100.0
_EXACT_ARRONDISSEMENT = 97.0
_CONTAINED = 92.0
_SKELETON = 90.0
_SKELETON_LOOSE = 88.0

# Words people put around a place name ("ana mn titwan", "je suis de Fès", "f casa").
_FILLER = frozenset(normalise(w) for w in (
    "f", "fi", "fe", "mn", "men", "min", "ana", "je", "suis", "habite", "de", "du", "d", "a",
    "à", "au", "la", "le", "l", "commune", "ville", "mdina", "lmdina", "jma3a", "jama3a",
    "province", "préfecture", "prefecture", "in", "from", "i", "live", "hna", "sakn", "saken",
    "kansken", "kanskon", "dyal", "dial", "svp", "merci", "3afak", "afak", "please",
    "في", "ف", "من", "انا", "أنا", "ساكن", "مدينة", "جماعة", "عمالة", "إقليم", "اقليم",
    "بلدية", "ديال", "عافاك", "شكرا",
))


def _opt(value: str) -> str | None:
    return value or None


def read_collectivities(path: Path | None = None) -> list[Collectivity]:
    """Read the HCP collectivities CSV (default: the copy in bot/data); rows in file order."""
    with (path or COLLECTIVITIES_CSV).open(encoding="utf-8", newline="") as fh:
        return [
            Collectivity(
                code=row["code"],
                level=row["level"],
                name_fr=row["name_fr"],
                name_ar=row["name_ar"],
                parent_code=_opt(row["parent_code"]),
                population=int(row["population"] or 0),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                province_type=_opt(row["province_type"]),
                commune_type=_opt(row["commune_type"]),
            )
            for row in csv.DictReader(fh)
        ]


def read_aliases(path: Path | None = None) -> list[Alias]:
    """Read arrondissements (French and Arabic names, as aliases of their commune) and append the built-in exonyms."""
    aliases: list[Alias] = []
    with (path or ARRONDISSEMENTS_CSV).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for name in (row["name_fr"], row["name_ar"]):
                if name:
                    aliases.append(Alias(code=row["commune_code"], alias=name, kind="arrondissement"))
    for code, names in EXONYMS.items():
        aliases.extend(Alias(code=code, alias=name, kind="exonym") for name in names)
    return aliases


@dataclass(frozen=True, slots=True)
class _Entry:
    """One searchable string: a collectivity's name, or an alias pointing at it."""

    code: str
    text: str  # normalised form used for exact and fuzzy matching
    shown: str  # the name as written, reported in Match.matched
    kind: str  # "name" | "arrondissement" | "exonym"


def _norm(s: str) -> str:
    return normalise(tifinagh_to_latin(s))


def _drop_glued_article(word: str) -> str:
    # Darija glues the article to the next consonant: "lhoceima", "l9sar", "لمحمدية".
    # "Lamine" or "Larache" start with a real l followed by a vowel and keep it.
    if len(word) > 2 and word[0] in ("l", "ل") and word[1] not in "aeiouyاوي":
        return word[1:]
    return word


# Prepositions and articles glued to a place name in chat: "frabat", "lcasa", "بفاس", "فالرباط", "للدار البيضاء".
_GLUED = ("fal", "fel", "bel", "f", "b", "l", "فال", "بال", "لل", "ال", "ف", "ب", "ل")


# Words before a place name: "f casa", "à Fès", "de Salé", "ديال الرباط", "جماعة تطوان".
_LOCATIVE = frozenset(normalise(word) for word in (
    "f", "fi", "fe", "b", "l", "mn", "men", "d", "dyal", "dial", "3la", "à", "a", "au", "de", "du", "pres", "vers",
    "commune", "ville", "jama3at", "jama3a", "mdinat", "في", "ف", "ب", "من", "ديال", "ديال", "جماعة", "لجماعة",
    "مدينة", "بمدينة", "عمالة", "إقليم", "اقليم", "بجماعة",
))
# Everyday words that are also the name of some place ("المدينة" is an arrondissement of Tanger, "الدورة" a
# commune): never a place on their own in a sentence.
_EVERYDAY = frozenset(normalise(word) for word in (
    "المدينة", "مدينة", "الدورة", "medina", "lmdina", "mdina", "centre", "markaz", "lmarkaz", "المركز", "السوق",
    "souk", "الحي", "الجماعة", "jama3a", "ljama3a", "commune", "الجهة", "jiha", "ljiha", "region", "province",
    "الإقليم", "العمالة", "prefecture", "ville", "quartier", "douar", "dwar", "الدوار", "derb", "الدرب", "oued",
    "wad", "lwad", "الواد",
))
_MENTION_SIMILARITY = 70.0  # fuzz.ratio a skeleton match in a sentence must also reach
_MENTION_SIMILARITY_SHORT = 80.0  # the same for a skeleton of three consonants (الناظور / الناضور)


def _mention_variants(words: list[str]) -> list[str]:
    """The n-gram as written, then with a glued preposition or article dropped from its first word."""
    first, rest = words[0], words[1:]
    variants = [" ".join(words)]
    for prefix in _GLUED:
        if first.startswith(prefix) and len(first) - len(prefix) >= 3:
            variants.append(" ".join([first[len(prefix):], *rest]))
    return variants


def _skeleton_keys(norm: str) -> tuple[frozenset[str], frozenset[str]]:
    """Strict and loose skeleton keys of a normalised string, spaces removed (so "bengrir" meets "Ben Guerir").

    Strict keys: the skeleton, and the skeleton with glued articles dropped (lhoceima /
    الحسيمة). Loose keys also drop w, because French "ou" and Arabic و are written as a
    vowel by one side and a consonant by the other (Bouyablane / بويبلان). Keys of fewer
    than three consonants are not returned: they collide with too many ordinary words.
    """
    variants = {norm, " ".join(_drop_glued_article(w) for w in norm.split())}
    strict = {skeleton(v).replace(" ", "") for v in variants}
    loose = {k.replace("w", "") for k in strict}
    return (frozenset(k for k in strict if len(k) >= _MIN_SKELETON),
            frozenset(k for k in loose if len(k) >= _MIN_SKELETON))


def _skeleton_guard(key: str) -> float:
    """Minimum fuzz.ratio between query and name for a skeleton match on `key`.

    Ordinary words share short skeletons with villages (bghit ~ Labkhati, merci ~ El Marsa,
    bonjour ~ ابن جرير), so the spelling must also look alike; the shorter the key, the
    closer (§5.3).
    """
    return 60.0 if len(key) <= 3 else 50.0 if len(key) == 4 else 40.0


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(a))


class Directory:
    """An in-memory index of collectivities, built once; lookups and matching never do I/O."""

    def __init__(
        self,
        collectivities: Iterable[Collectivity],
        aliases: Iterable[Alias] = (),
        *,
        chat_words: Iterable[str] | None = None,
    ) -> None:
        """Build the index (≈0.1 s); `chat_words` (default: all language markers) are never fuzzily matched on their own."""
        self._chat_words: frozenset[str] = frozenset(
            normalise(w) for w in (default_chat_words() if chat_words is None else chat_words)
        )
        self._items: dict[str, Collectivity] = {c.code: c for c in collectivities}
        entries: list[_Entry] = []
        for c in self._items.values():
            for name in (c.name_fr, c.name_ar):
                entries.append(_Entry(c.code, _norm(name), name, "name"))
                # HCP abbreviates Moulay as "My" (My Abdellah); people write it in full.
                if name.startswith("My "):
                    entries.append(_Entry(c.code, _norm("Moulay " + name[3:]), name, "name"))
        for a in aliases:
            if a.code in self._items:
                entries.append(_Entry(a.code, _norm(a.alias), a.alias, a.kind))
        self._entries: list[_Entry] = [e for e in entries if e.text]
        self._choices: list[str] = [e.text for e in self._entries]

        self._exact: dict[str, list[int]] = {}
        self._strict: dict[str, list[int]] = {}
        self._loose: dict[str, list[int]] = {}
        self._spellings: dict[str, list[tuple[str, str]]] = {}  # code -> (normalised, as written)
        for i, e in enumerate(self._entries):
            self._exact.setdefault(e.text, []).append(i)
            strict, loose = _skeleton_keys(e.text)
            for k in strict:
                self._strict.setdefault(k, []).append(i)
            for k in loose:
                self._loose.setdefault(k, []).append(i)
            self._spellings.setdefault(e.code, []).append((e.text, e.shown))
        self._strict_keys: list[str] = list(self._strict)

        token_names = Counter(t for e in self._entries if e.kind == "name" for t in set(e.text.split()))
        self._generic: frozenset[str] = frozenset(t for t, n in token_names.items() if n >= _GENERIC_MIN_NAMES)
        self._palace_city: dict[str, str] = self._palace_cities()
        self._communes: list[Collectivity] = [c for c in self._items.values() if c.level == "commune"]

    def _palace_cities(self) -> dict[str, str]:
        """Map each palace commune to its city: the most populous other commune of its province."""
        out: dict[str, str] = {}
        for code in PALACE_COMMUNES:
            palace = self._items.get(code)
            if palace is None:
                continue
            siblings = [c for c in self._items.values()
                        if c.parent_code == palace.parent_code and c.level == "commune" and c.code != code]
            if siblings:
                out[code] = max(siblings, key=lambda c: c.population).code
        return out

    def __len__(self) -> int:
        """Number of collectivities (aliases not counted)."""
        return len(self._items)

    def get(self, code: str) -> Collectivity | None:
        """The collectivity with this HCP code, or None."""
        return self._items.get(code)

    def codes(self) -> list[str]:
        """Every collectivity code."""
        return list(self._items)

    def parent(self, c: Collectivity) -> Collectivity | None:
        """The province of a commune or the region of a province; None for a region."""
        return self._items.get(c.parent_code) if c.parent_code else None

    def nearest_communes(self, lat: float, lon: float, limit: int = 3) -> list[Collectivity]:
        """Communes whose centroid is closest to (lat, lon), nearest first."""
        return sorted(self._communes, key=lambda c: _haversine_km(lat, lon, c.lat, c.lon))[:limit]

    def match(self, query: str, limit: int = 4, *, levels: Collection[str] | None = None) -> list[Match]:
        """Collectivities whose name plausibly matches `query`, best first, scores ≥ MIN_SCORE; [] for noise.

        Ranking: score, then communes before provinces before regions, then population.
        `levels` keeps only those levels (e.g. {"commune"}).
        """
        text = _norm(query[:_MAX_QUERY])
        if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
            return []
        best: dict[str, tuple[float, str]] = {}
        self._score_into(text, best)
        stripped = self._strip_filler(text)
        if stripped and stripped != text:
            self._score_into(stripped, best)
        self._demote_palaces(text, best)

        matches = [
            Match(self._items[code], round(score, 1), shown)
            for code, (score, shown) in best.items()
            if score >= MIN_SCORE and (levels is None or self._items[code].level in levels)
        ]
        matches.sort(key=lambda m: (-m.score, _LEVEL_RANK.get(m.collectivity.level, 3), -m.collectivity.population))
        return matches[:limit]

    def mentions(self, text: str, limit: int = 3, *, ignore: Collection[str] = ()) -> list[Match]:
        """Collectivities a free sentence names exactly ("3ndi chikaya f casa", "à Fès", "بالرباط"), best first.

        Only exact normalised names and aliases of 1-4 words count, longest first, with a glued preposition
        ("frabat", "بفاس") or article dropped; chat words, words shared by many names ("sidi") and the words in
        `ignore` (the caller's topic vocabulary) never do. No fuzzy matching: in a sentence it would turn ordinary
        words into villages (§5.3), so a misspelt place is left to the place question.
        """
        tokens = _norm(text[:400]).split()
        taken = [False] * len(tokens)
        found: dict[str, tuple[int, int, str]] = {}  # code -> (words matched, position, shown)
        blocked = self._chat_words | self._generic | _EVERYDAY | frozenset(_norm(word) for word in ignore)

        def after_preposition(start: int) -> bool:
            return start > 0 and tokens[start - 1] in _LOCATIVE

        for width in (4, 3, 2, 1):
            for start in range(len(tokens) - width + 1):
                if any(taken[start:start + width]):
                    continue
                words = tokens[start:start + width]
                if width == 1 and (len(words[0]) < 3 or (words[0] in blocked and not after_preposition(start))):
                    continue
                for variant in _mention_variants(words):
                    hits = self._exact.get(variant)
                    if not hits or (width == 1 and variant in blocked and not after_preposition(start)):
                        continue
                    for i in hits:
                        entry = self._entries[i]
                        found.setdefault(entry.code, (width, start, entry.shown))
                    taken[start:start + width] = [True] * width
                    break
        # A name after a preposition ("f tiznit", "ديال الناظور", "فتزنيت") spelt another way (تيزنيت, الناضور):
        # its consonant skeleton, guarded by spelling similarity, for these words only.
        for start, word in enumerate(tokens):
            glued = len(_mention_variants([word])) > 1
            if taken[start] or len(word) < 4 or not (after_preposition(start) or glued):
                continue
            for variant in _mention_variants([word]):
                if variant in blocked or len(variant) < 4:
                    continue
                for key in _skeleton_keys(variant)[0]:
                    # three consonants collide with many villages: then the spelling must be closer
                    least = _MENTION_SIMILARITY if len(key) >= 4 else _MENTION_SIMILARITY_SHORT
                    for i in self._strict.get(key, ()):
                        entry = self._entries[i]
                        if " " not in entry.text and fuzz.ratio(variant, entry.text) >= least:
                            found.setdefault(entry.code, (0, start, entry.shown))
                            taken[start] = True
        matches = [Match(self._items[code], 100.0 if self._items[code].level != "region" else 99.0, shown)
                   for code, (_, _, shown) in found.items()]
        matches.sort(key=lambda m: (-found[m.collectivity.code][0], _LEVEL_RANK.get(m.collectivity.level, 3),
                                    -m.collectivity.population, found[m.collectivity.code][1]))
        return matches[:limit]

    # --- scoring ---------------------------------------------------------------------

    @staticmethod
    def _strip_filler(text: str) -> str:
        """Drop filler words ("ana mn", "je suis de", "svp") from both ends of a normalised query."""
        tokens = text.split()
        while tokens and tokens[0] in _FILLER:
            tokens.pop(0)
        while tokens and tokens[-1] in _FILLER:
            tokens.pop()
        return " ".join(tokens)

    @staticmethod
    def _offer(best: dict[str, tuple[float, str]], code: str, score: float, shown: str) -> None:
        if score > best.get(code, (0.0, ""))[0]:
            best[code] = (score, shown)

    def _score_into(self, q: str, best: dict[str, tuple[float, str]]) -> None:
        """Add every candidate for normalised query `q` to `best` (code -> (score, matched)), keeping maxima."""
        # 1. exact normalised lookup
        for i in self._exact.get(q, ()):
            e = self._entries[i]
            self._offer(best, e.code, _EXACT_ARRONDISSEMENT if e.kind == "arrondissement" else _EXACT, e.shown)
        if q in self._chat_words or all(t in self._chat_words for t in q.split()):
            # "wakha", "merci", "سلام": an answer to the question, not a misspelt place.
            return

        # 2. rapidfuzz on full normalised strings. WRatio picks the candidates; the final
        # score avoids its partial and token-set parts, which reward a shared fragment.
        for _, _, i in process.extract(q, self._choices, scorer=fuzz.WRatio, processor=None,
                                       limit=_FUZZY_CANDIDATES, score_cutoff=60):
            e = self._entries[i]
            self._offer(best, e.code, self._fuzzy_score(q, e.text), e.shown)

        # 3. consonant skeleton, guarded against ordinary words (§5.3 negative controls).
        strict, loose = _skeleton_keys(q)
        for keys, table, base in ((strict, self._strict, _SKELETON), (loose, self._loose, _SKELETON_LOOSE)):
            for k in keys:
                for code in {self._entries[i].code for i in table.get(k, ())}:
                    similarity, shown = self._closest_spelling(q, code)
                    if similarity >= _skeleton_guard(k):
                        self._offer(best, code, base, shown)
        # Near-equal skeletons (fuzz.ratio on keys), only for 4+ consonants: shorter keys
        # collide with too many villages.
        for k in strict:
            if len(k) < 4:
                continue
            for key, ratio, _ in process.extract(k, self._strict_keys, scorer=fuzz.ratio, limit=10, score_cutoff=80):
                if ratio == 100:
                    continue  # equal keys were scored above
                for code in {self._entries[i].code for i in self._strict[key]}:
                    similarity, shown = self._closest_spelling(q, code)
                    if similarity >= _FUZZY_SKELETON_SIMILARITY:
                        self._offer(best, code, min(0.5 * ratio + 0.5 * similarity, _SKELETON - 1), shown)

    def _fuzzy_score(self, q: str, name: str) -> float:
        """Similarity 0..100 of query and name, both normalised, robust to word order and extra words."""
        score = max(float(fuzz.ratio(q, name)), 0.95 * fuzz.token_sort_ratio(q, name, processor=None))
        if len(name) > len(q):
            return max(score, self._cover_score(q, name))
        # The message is longer than the name: look for the name among its words. WRatio's
        # partial and token-set scores would credit a shared "el" or "sidi" instead.
        if f" {name} " in f" {q} " and len(name) >= 4:
            return _CONTAINED  # "ana mn tetouan"
        q_tokens, width = q.split(), len(name.split())
        windows = (" ".join(q_tokens[j:j + width]) for j in range(len(q_tokens) - width + 1))
        return max(score, 0.95 * max((fuzz.ratio(w, name) for w in windows), default=0.0))

    def _cover_score(self, q: str, name: str) -> float:
        """Score a query that names part of a longer name ("Bernoussi" for "Sidi Bernoussi").

        Every query word except generic ones must match a name word, at least one of
        them distinctive (not "sidi", "oulad", "ait"…); the score grows with the share
        of the name covered.
        """
        q_tokens, n_tokens = q.split(), name.split()
        covered: set[int] = set()
        distinctive = False
        for qt in q_tokens:
            hit = next((j for j, nt in enumerate(n_tokens)
                        if j not in covered and len(qt) >= 3 and fuzz.ratio(qt, nt) >= 88), None)
            if hit is None:
                if qt in self._generic or len(qt) < 3:
                    continue  # "el kelaa" for "Kelâat Sraghna": the article may be extra
                return 0.0
            covered.add(hit)
            distinctive |= n_tokens[hit] not in self._generic
        if not distinctive:
            return 0.0
        share = sum(len(n_tokens[j]) for j in covered) / sum(len(t) for t in n_tokens)
        return 70.0 + 20.0 * share

    def _closest_spelling(self, q: str, code: str) -> tuple[float, str]:
        """The spelling of this collectivity (name or alias) most like the query, and its fuzz.ratio."""
        return max((float(fuzz.ratio(q, text)), shown) for text, shown in self._spellings[code])

    def _demote_palaces(self, q: str, best: dict[str, tuple[float, str]]) -> None:
        """Keep palace communes below their city unless the query names the palace itself."""
        q_tokens = q.split()
        for code, city_code in self._palace_city.items():
            if code not in best:
                continue
            city_tokens = {t for text, _ in self._spellings[city_code] for t in text.split()}
            own = {t for text, _ in self._spellings[code] for t in text.split()} - city_tokens - self._generic
            if any(fuzz.ratio(qt, t) >= 85 for qt in q_tokens for t in own):
                continue
            score, shown = best[code]
            cap = best[city_code][0] - 1.0 if city_code in best else score
            best[code] = (min(0.75 * score, cap), shown)
