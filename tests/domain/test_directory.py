"""Tests for bot.domain.directory: the HCP collectivity list and place-name matching."""

from __future__ import annotations

import time
from functools import lru_cache

import pytest

from bot.domain.directory import (
    EXONYMS,
    MIN_SCORE,
    PALACE_COMMUNES,
    Alias,
    Collectivity,
    Directory,
    Match,
    read_aliases,
    read_collectivities,
)

CASABLANCA = "06.141.01.0"
RABAT = "04.421.01.0"
TETOUAN = "01.571.01.11"

# The 39 queries of language.md §5.3, with the commune each must reach first.
QUERIES_5_3 = {
    "01.571.01.11": ["Tetouan", "Tétouan", "تطوان", "titwan", "tetwan"],  # Tétouan
    "06.141.01.0": ["Casa", "Dar el Beida", "الدار البيضاء"],  # Casablanca
    "03.231.01.0": ["Fes", "Fès", "فاس", "fas"],  # Fès
    "07.351.01.0": ["Marrakesh", "mrrakch", "مراكش"],  # Marrakech
    "01.511.01.0": ["tanja", "طنجة", "Tangier"],  # Tanger
    "04.281.01.01": ["kenitra", "9nitra", "القنيطرة"],  # Kénitra
    "11.321.01.03": ["laayoune", "l3youn", "العيون"],  # Laâyoune
    "02.411.01.23": ["oujda", "wjda"],  # Oujda
    "09.001.01.01": ["Agadir", "أكادير"],  # Agadir
    "08.401.01.07": ["Ouarzazate", "warzazat"],  # Ouarzazate
    "01.151.01.01": ["Chefchaouen", "chaouen"],  # Chefchaouen
    "01.051.01.01": ["lhoceima", "الحسيمة"],  # Al Hoceima
    "07.211.01.05": ["Essaouira", "sswira"],  # Essaouira
    "09.541.01.13": ["Taroudant"],  # Taroudannt
    "08.201.01.05": ["Errachidia", "rachidia"],  # Errachidia
}
ALL_5_3 = [(q, code) for code, qs in QUERIES_5_3.items() for q in qs]

# "Further checks" of §5.3 and other spellings people use.
MORE_QUERIES = [
    ("ⵜⵉⵟⵟⴰⵡⵉⵏ", TETOUAN),
    ("ⴼⴰⵙ", "03.231.01.0"),
    ("ⵕⵕⴱⴰⵟ", RABAT),
    ("ⵎⵕⵕⴰⴽⵛ", "07.351.01.0"),
    ("ⴰⴳⴰⴷⵉⵔ", "09.001.01.01"),
    ("ⵜⴰⵏⵊⴰ", "01.511.01.0"),
    ("ⵡⴰⵔⵣⴰⵣⴰⵜ", "08.401.01.07"),
    ("ⵜⵉⵣⵏⵉⵜ", "09.581.01.07"),
    ("Sidi Bennour", "06.467.01.07"),
    ("sidi bnour", "06.467.01.07"),
    ("Ksar el kebir", "01.331.01.01"),
    ("l9sar lkbir", "01.331.01.01"),
    ("Khouribga", "05.311.01.07"),
    ("5ribga", "05.311.01.07"),
    ("Beni Mellal", "05.091.01.01"),
    ("bni mlal", "05.091.01.01"),
    ("bengrir", "07.427.01.01"),
    ("tmara", "04.501.01.07"),
    ("sla", "04.441.01.0"),
    ("lmohamadia", "06.371.01.01"),
    ("nadour", "02.381.01.05"),
    ("الناظور", "02.381.01.05"),  # ظ for ض
    ("Rabat", RABAT),
    ("الرباط", RABAT),
    ("Casablanca", CASABLANCA),
    ("casablanka", CASABLANCA),
    ("Casablnca", CASABLANCA),
    ("Marakech", "07.351.01.0"),
    ("Meknes", "03.061.01.01"),
    ("مكناس", "03.061.01.01"),
    ("Mohammedia", "06.371.01.01"),
    ("Moulay Abdellah", "06.181.05.01"),  # HCP writes "My Abdellah"
    ("Smara", "11.221.01.01"),
    ("Wazzan", "01.405.01.09"),
    # a place inside a short sentence
    ("ana mn titwan", TETOUAN),
    ("je suis de Tétouan", TETOUAN),
    ("f casa", CASABLANCA),
    ("commune de Sidi Bennour", "06.467.01.07"),
]

# Arrondissements resolve to their city's commune.
ARRONDISSEMENTS = [
    ("Sidi Moumen", CASABLANCA),
    ("سيدي مومن", CASABLANCA),
    ("Hay Hassani", CASABLANCA),
    ("Ain chock", CASABLANCA),
    ("عين الشق", CASABLANCA),
    ("Maarif", CASABLANCA),
    ("Anfa", CASABLANCA),
    ("Gueliz", "07.351.01.0"),
    ("Souissi", RABAT),
    ("Yacoub El Mansour", RABAT),
    ("Bni Makada", "01.511.01.0"),
    ("Tabriquet", "04.441.01.0"),
    ("Saiss", "03.231.01.0"),
]

# Chat words and junk that must never come back as a place (§5.3 negative controls).
NEGATIVE = [
    "bghit", "merci", "asdfgh", "😀😀", "", "   ", "3afak", "aide", "salam", "demande",
    "wakha", "la", "oui", "non", "ok", "bonjour", "chikaya", "talab", "bghit nchki", "123",
    "لا", "سلام", "شكرا", "بغيت", "واخا", "عافاك", "x" * 10_000, "?!", "ⴰⵣⵓⵍ",
]


@lru_cache(maxsize=1)
def _directory() -> Directory:
    return Directory(read_collectivities(), read_aliases())


def _top(query: str) -> Match:
    matches = _directory().match(query)
    assert matches, f"no match for {query!r}"
    return matches[0]


def test_counts() -> None:
    rows = read_collectivities()
    levels = [c.level for c in rows]
    assert levels.count("region") == 12
    assert levels.count("province") == 75
    assert levels.count("commune") == 1503
    assert len(_directory()) == 1590


def test_rows_are_typed() -> None:
    tetouan = _directory().get(TETOUAN)
    assert tetouan == Collectivity(
        code=TETOUAN, level="commune", name_fr="Tétouan", name_ar="تطوان", parent_code="01.571",
        population=422757, lat=tetouan.lat, lon=tetouan.lon, province_type="province", commune_type="urbaine",
    )
    assert 35.0 < tetouan.lat < 36.0 and -6.0 < tetouan.lon < -5.0
    region = _directory().get("01")
    assert region is not None and region.parent_code is None and region.commune_type is None


def test_get_and_parent() -> None:
    d = _directory()
    assert d.get("nope") is None
    commune = d.get(CASABLANCA)
    assert commune is not None
    province = d.parent(commune)
    assert province is not None and province.code == "06.141" and province.level == "province"
    region = d.parent(province)
    assert region is not None and region.code == "06" and d.parent(region) is None


def test_aliases() -> None:
    aliases = read_aliases()
    arrondissements = [a for a in aliases if a.kind == "arrondissement"]
    assert len(arrondissements) == 2 * 41  # French and Arabic name of each
    assert Alias(CASABLANCA, "Sidi Moumen", "arrondissement") in aliases
    assert Alias(CASABLANCA, "Casa", "exonym") in aliases
    d = _directory()
    for a in aliases:
        target = d.get(a.code)
        assert target is not None and target.level == "commune", a


def test_exonym_and_palace_codes_exist() -> None:
    d = _directory()
    for code in [*EXONYMS, *PALACE_COMMUNES]:
        c = d.get(code)
        assert c is not None and c.level == "commune", code


@pytest.mark.parametrize(("query", "code"), ALL_5_3)
def test_queries_of_5_3(query: str, code: str) -> None:
    assert _top(query).collectivity.code == code


def test_there_are_39_queries() -> None:
    assert len(ALL_5_3) == 39


@pytest.mark.parametrize(("query", "code"), MORE_QUERIES)
def test_more_queries(query: str, code: str) -> None:
    assert _top(query).collectivity.code == code


@pytest.mark.parametrize(("query", "code"), ARRONDISSEMENTS)
def test_arrondissements_reach_their_commune(query: str, code: str) -> None:
    top = _top(query)
    assert top.collectivity.code == code
    assert top.matched != top.collectivity.name_fr  # reports the arrondissement that matched


@pytest.mark.parametrize("query", NEGATIVE, ids=lambda q: q[:20] or "empty")
def test_negative_controls(query: str) -> None:
    assert _directory().match(query) == []


@pytest.mark.parametrize("query", ["bghit", "merci", "asdfgh", "😀😀", "", "x" * 10_000, "3afak", "aide", "demande"])
def test_negative_controls_hold_without_the_chat_word_list(query: str) -> None:
    bare = Directory(read_collectivities(), read_aliases(), chat_words=())
    assert bare.match(query) == []


def test_exact_name_beats_chat_word_list() -> None:
    # "safi" is Darija for "enough" and also the city of Safi
    assert _top("Safi").collectivity.code == "07.431.01.03"


def test_commune_before_province_of_the_same_name() -> None:
    matches = _directory().match("Tétouan")
    assert [m.collectivity.level for m in matches[:2]] == ["commune", "province"]
    assert matches[0].score == matches[1].score == 100


def test_scores_are_sorted_and_bounded() -> None:
    for query in ["Sidi", "Casablanca", "bni mlal", "Agadir", "oulad teima"]:
        scores = [m.score for m in _directory().match(query, limit=10)]
        assert scores == sorted(scores, reverse=True)
        assert all(MIN_SCORE <= s <= 100 for s in scores)


def test_limit_and_levels() -> None:
    d = _directory()
    assert len(d.match("Tétouan", limit=1)) == 1
    only_provinces = d.match("Tétouan", levels={"province"})
    assert only_provinces and all(m.collectivity.level == "province" for m in only_provinces)
    assert d.match("Oriental")[0].collectivity.code == "02"  # a region matches too


def test_homonyms_come_back_together() -> None:
    matches = _directory().match("Sidi Boubker")
    top_two = matches[:2]
    assert {m.collectivity.name_fr for m in top_two} == {"Sidi Boubker"}
    assert all(m.score == 100 for m in top_two)
    parents = {_directory().parent(m.collectivity) for m in top_two}
    assert len(parents) == 2 and None not in parents  # told apart by their province


@pytest.mark.parametrize(
    ("query", "city"),
    [
        ("Rabat", RABAT),
        ("الرباط", RABAT),
        ("Casablanca", CASABLANCA),
        ("الدار البيضاء", CASABLANCA),
        ("Casa", CASABLANCA),
        ("Fès", "03.231.01.0"),
        ("فاس", "03.231.01.0"),
        ("Meknès", "03.061.01.01"),
        ("Marrakech", "07.351.01.0"),
        ("Kasba Marrakech", "07.351.01.0"),
    ],
)
def test_palace_communes_never_outrank_their_city(query: str, city: str) -> None:
    codes = [m.collectivity.code for m in _directory().match(query, limit=10)]
    assert codes[0] == city
    for palace in PALACE_COMMUNES & set(codes):
        assert codes.index(palace) > codes.index(city)


@pytest.mark.parametrize(
    ("query", "palace"),
    [
        ("Touarga", "04.421.01.07"),
        ("Méchouar de Casablanca", "06.141.01.81"),
        ("mechouar kasba", "07.351.01.01"),
        ("المشور فاس الجديد", "03.231.01.03"),
    ],
)
def test_palace_communes_match_when_named(query: str, palace: str) -> None:
    assert _top(query).collectivity.code == palace


def test_nearest_communes() -> None:
    d = _directory()
    tetouan = d.get(TETOUAN)
    assert tetouan is not None
    nearest = d.nearest_communes(tetouan.lat, tetouan.lon)
    assert len(nearest) == 3
    assert nearest[0].code == TETOUAN
    assert all(c.level == "commune" for c in nearest)
    assert d.nearest_communes(33.5731, -7.5898, limit=1)[0].code == CASABLANCA  # central Casablanca


def test_directory_from_a_small_list() -> None:
    rows = [c for c in read_collectivities() if c.code.startswith("01.571")]
    d = Directory(rows, [Alias(TETOUAN, "Titwan", "exonym"), Alias("99.999.99.99", "Nowhere", "exonym")])
    assert len(d) == len(rows) == 23  # the province and its 22 communes
    assert d.match("titwan")[0].collectivity.code == TETOUAN
    assert d.match("Nowhere") == []  # aliases of unknown codes are ignored
    province = d.get("01.571")
    assert province is not None
    assert d.parent(province) is None  # its region is not in this directory


def test_speed() -> None:
    # Generous bounds for slow CI machines; measured ≈0.1 s build and ≈3 ms per match.
    start = time.perf_counter()
    d = Directory(read_collectivities(), read_aliases())
    assert time.perf_counter() - start < 5.0
    start = time.perf_counter()
    for query, _ in ALL_5_3:
        d.match(query)
    assert (time.perf_counter() - start) / len(ALL_5_3) < 0.05
