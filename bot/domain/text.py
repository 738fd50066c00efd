"""Text normalisation for matching keywords, options and place names (pure, stdlib only).

Four scripts reach the bot: Arabic (MSA and Darija), Latin (French, Arabizi Darija,
Latin Tamazight) and Tifinagh. The functions here fold the spelling variation that does
not change meaning, so that the same comparison works on both sides: the user's text
and our keyword lists or place names. Rules follow the team's research note
(shared/knowledge/language.md, §3). Nothing here does I/O or keeps state.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "normalise",
    "normalise_arabic",
    "normalise_latin",
    "script_counts",
    "skeleton",
    "tifinagh_to_latin",
]

# --- script classes (§2.1) -------------------------------------------------------------

_ARABIC_CHAR = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_TIFINAGH_CHAR = re.compile(r"[\u2D30-\u2D7F]")
_LATIN_CHAR = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")


def script_counts(s: str) -> dict[str, int]:
    """Count the letters of each script in `s`: keys "arab", "latn", "tfng" (digits, emoji and punctuation are not counted)."""
    counts = {"arab": 0, "latn": 0, "tfng": 0}
    for ch in s:
        if _LATIN_CHAR.match(ch):
            counts["latn"] += 1
        elif _ARABIC_CHAR.match(ch):
            # Arabic punctuation and digits sit in the same block; only letters are evidence.
            if unicodedata.category(ch).startswith("L"):
                counts["arab"] += 1
        elif _TIFINAGH_CHAR.match(ch):
            counts["tfng"] += 1
    return counts


# --- Arabic script (§3.1) ------------------------------------------------------------

# Tashkeel, superscript alef, Quranic marks and tatweel carry no meaning for matching.
_TASHKEEL = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
# Invisible joiners and bidi controls get pasted in from other apps and break equality.
_INVISIBLE = re.compile(r"[\u200B-\u200F\u061C\u202A-\u202E\u2066-\u2069\uFEFF]")

_ARABIC_FOLD = str.maketrans(
    {
        # alef forms and hamza carriers: Darija spells words without hamza (مسؤول/مسول)
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
        "ؤ": "و", "ئ": "ي", "ء": "",
        "ى": "ي", "ة": "ه",
        # Moroccan and Persian letters: ڭ ݣ گ write /g/ in Moroccan names (أݣادير)
        "ڭ": "ك", "ݣ": "ك", "گ": "ك", "ک": "ك",
        "ڤ": "ف", "پ": "ب", "چ": "ش", "ی": "ي", "ۍ": "ي", "ې": "ي",
        "ہ": "ه", "ە": "ه", "ۀ": "ه",
        # Eastern Arabic-Indic and Persian digits, so digit logic sees 0-9
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)


def normalise_arabic(s: str) -> str:
    """Fold Arabic-script spelling variants (NFKC, tashkeel, alef/hamza/ya/ta marbuta, Moroccan letters, digits); other scripts pass through."""
    s = unicodedata.normalize("NFKC", s)
    s = _INVISIBLE.sub("", s)
    s = _TASHKEEL.sub("", s)
    # مسؤول is spelt مسول in Darija: a hamza seat before its own long vowel merges with it.
    s = s.replace("ؤو", "و")
    return s.translate(_ARABIC_FOLD)


# --- Latin script (§3.2) -------------------------------------------------------------

# Berber Latin letters that NFKD does not decompose (ṣ ṭ ḍ ẓ ṛ ḥ do, and lose their dot).
_LATIN_FOLD = str.maketrans({"ɣ": "gh", "ɛ": "3", "ə": "e", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d"})
_LATIN_PUNCT = re.compile(r"[-'’‘`´ʼʻ_.‐‑‒–—]")
_SPACES = re.compile(r"\s+")


def _strip_marks(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))


def normalise_latin(s: str) -> str:
    """Casefold, strip accents, fold Berber letters, turn - ' ’ _ . into spaces and collapse spaces."""
    s = _strip_marks(s.casefold()).translate(_LATIN_FOLD)
    s = _LATIN_PUNCT.sub(" ", s)
    return _SPACES.sub(" ", s).strip()


def _drop_punctuation(s: str) -> str:
    # Any Unicode punctuation (? ! , ؟ ، « » …) separates words; emoji and other symbols stay.
    return "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in s)


def normalise(s: str) -> str:
    """Normalise mixed-script text for keyword and option matching; Arabizi digits (3, 7, 9…) are kept as digits."""
    # Arabic folding first: normalise_latin's NFKD would split أ into ا + hamza and lose
    # nothing, but ة, ى or ڭ need the Arabic table anyway.
    s = normalise_latin(normalise_arabic(s))
    s = _drop_punctuation(s)
    return _SPACES.sub(" ", s).strip()


# --- Tifinagh (§6.1) -----------------------------------------------------------------

# IRCAM Tifinagh -> Latin. Digraphs (gh, kh, ch) are spelled out so that the Latin
# skeleton reads them as single consonants, not as a hard c or a g.
_TIFINAGH_TO_LATIN = str.maketrans(
    {
        "ⴰ": "a", "ⴱ": "b", "ⴳ": "g", "ⴷ": "d", "ⴹ": "d", "ⴻ": "e", "ⴼ": "f", "ⴽ": "k",
        "ⵀ": "h", "ⵃ": "h", "ⵄ": "3", "ⵅ": "kh", "ⵇ": "q", "ⵉ": "i", "ⵊ": "j", "ⵍ": "l",
        "ⵎ": "m", "ⵏ": "n", "ⵓ": "u", "ⵔ": "r", "ⵕ": "r", "ⵖ": "gh", "ⵙ": "s", "ⵚ": "s",
        "ⵛ": "ch", "ⵜ": "t", "ⵟ": "t", "ⵡ": "w", "ⵢ": "y", "ⵣ": "z", "ⵥ": "z",
        "ⵯ": "w", "ⴲ": "b", "ⴴ": "gh", "ⴸ": "dj", "ⴺ": "dh", "ⴿ": "kh", "ⵝ": "th", "ⵠ": "v", "ⵒ": "p",
        "\u2D70": " ", "\u2D7F": "",
    }
)


def tifinagh_to_latin(s: str) -> str:
    """Transliterate IRCAM Tifinagh letters to plain Latin (ⵜⵉⵟⵟⴰⵡⵉⵏ -> tittawin); other characters pass through."""
    return s.translate(_TIFINAGH_TO_LATIN)


# --- consonant skeleton (§3.2, place names) ------------------------------------------

# Standalone articles written before a name in French spellings (El Jadida, Ech-Challalate).
_LATIN_ARTICLES = frozenset({"el", "al", "l", "ad", "ed", "es", "er", "et", "ez", "ech", "ej", "en", "as", "ar", "at"})
_ARABIZI_DIGITS = str.maketrans({"3": "", "2": "", "7": "h", "9": "k", "5": "k", "8": "h",
                                 "0": "", "1": "", "4": "", "6": ""})
_VOWELS = frozenset("aeiou")
_VOWELS_Y = _VOWELS | {"y"}  # y is a glide: "ou" after it is w (youssef, laayoune), as Arabic spells يو
# After the digraph pass, "C" stands for the shin sound (ch, sh, x, ش) and "G" for
# a hard g spelled "gu"; both keep them apart from the hard c and the soft g.
_LATIN_DIGRAPHS = (
    ("tch", "C"), ("sch", "C"), ("ch", "C"), ("sh", "C"), ("kh", "k"), ("gh", "k"),
    ("dj", "j"), ("ph", "f"), ("th", "t"), ("dh", "d"), ("ck", "k"), ("x", "C"),
)
_SOFT_C = re.compile(r"c(?=[eiy])")
_HARD_GU = re.compile(r"gu(?=[eiy])")
_SOFT_G = re.compile(r"g(?=[eiy])")
_DOUBLES = re.compile(r"(.)\1+")
# "Abdelkrim" glues the article that Arabic writes as a separate word (عبد الكريم).
_ABD_EL = re.compile(r"\babd[ae]l(?=[a-z]{2})")


def _latin_word_skeleton(w: str) -> str:
    w = w.translate(_ARABIZI_DIGITS)
    for a, b in _LATIN_DIGRAPHS:
        w = w.replace(a, b)
    w = _SOFT_C.sub("s", w)
    w = _HARD_GU.sub("G", w)
    # French spelling: "ge"/"gi" is /ʒ/ (Tanger, طنجة) while "gue"/"gui" is a hard g
    # (Guelmim, كلميم).
    w = _SOFT_G.sub("j", w)
    out: list[str] = []
    i, n = 0, len(w)
    while i < n:
        ch = w[i]
        if ch == "o" and i + 1 < n and w[i + 1] == "u":
            # French "ou" is the consonant w at the start of a word or next to a vowel
            # (Ouarzazate, Tétouan, Essaouira) and the vowel u between consonants
            # (Khouribga, Nadour), matching how Arabic spells و.
            before = w[i - 1] if i > 0 else ""
            after = w[i + 2] if i + 2 < n else ""
            if i == 0 or before in _VOWELS_Y or after in _VOWELS_Y:
                out.append("w")
            i += 2
            continue
        out.append(ch)
        i += 1
    w = "".join(out)
    # Only shin is "C" by now, so any lowercase c left is hard: k. Then g/q join k (§3.2).
    w = w.replace("c", "k").replace("G", "k").replace("g", "k").replace("q", "k").replace("C", "c")
    w = w.replace("v", "f").replace("p", "b")
    w = "".join(ch for ch in w if ch.isascii() and ch.isalpha() and ch not in _VOWELS and ch != "y")
    return _DOUBLES.sub(r"\1", w)


_ARABIC_SKELETON = {
    "ب": "b", "ت": "t", "ط": "t", "ث": "t", "ج": "j", "ح": "h", "ه": "h", "خ": "k",
    "د": "d", "ض": "d", "ذ": "d", "ظ": "d", "ر": "r", "ز": "z", "س": "s", "ص": "s",
    "ش": "c", "غ": "k", "ف": "f", "ق": "k", "ك": "k", "ل": "l", "م": "m", "ن": "n",
}


def _arabic_word_skeleton(w: str) -> str:
    if w == "الله":
        # the one common word whose final ه is a consonant (عبد الله = Abdellah)
        return "lh"
    if w.startswith("ال") and len(w) > 3:
        w = w[2:]
    out: list[str] = []
    n = len(w)
    for i, ch in enumerate(w):
        if ch == "و":
            # و is w at the start or next to ا, ع or ي (الصويرة, بوعزة, العيون); between
            # consonants it is the long vowel u (تارودانت), which the Latin side drops too.
            before = w[i - 1] if i > 0 else ""
            after = w[i + 1] if i + 1 < n else ""
            if i == 0 or before in ("ا", "ع", "ي") or after in ("ا", "ع", "ي"):
                out.append("w")
            continue
        if ch == "ه" and i == n - 1 and i > 0:
            # final ه is mostly a ta marbuta (normalised from ة) and is not pronounced
            continue
        out.append(_ARABIC_SKELETON.get(ch, ""))
    return _DOUBLES.sub(r"\1", "".join(out))


def skeleton(s: str) -> str:
    """Consonant skeleton of `s`, one key per word joined by spaces; Latin, Arabizi, Arabic and Tifinagh spellings of a name share it."""
    words = _ABD_EL.sub("abd ", normalise(tifinagh_to_latin(s))).split()
    keys: list[str] = []
    for w in words:
        if _ARABIC_CHAR.search(w):
            key = _arabic_word_skeleton(w)
        elif w in _LATIN_ARTICLES:
            continue
        else:
            key = _latin_word_skeleton(w)
        if key:
            keys.append(key)
    return " ".join(keys)
