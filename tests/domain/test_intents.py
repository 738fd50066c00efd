"""bot.domain.intents and bot.domain.competence: the rules behind the evaluation set, one behaviour at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.competence import competence_of, competences, suggest
from bot.domain.directory import Directory
from bot.domain.intents import is_short_answer, understand
from bot.flows.feedback import SERVICE_OPTIONS


@pytest.fixture(scope="module")
def directory(template_db: tuple[Path, Directory]) -> Directory:
    return template_db[1]


def commune(directory: Directory, name: str) -> str:
    return next(code for code in directory.codes()
                if (place := directory.get(code)) and place.level == "commune" and place.name_fr == name)


def test_the_competence_table_cites_the_organic_laws() -> None:
    rows = competences()
    services = {option.id for option in SERVICE_OPTIONS}
    laws = {"commune": "113-14", "province": "112-14", "region": "111-14"}
    for row in rows:
        if row.state:
            assert row.law is None and row.article is None and row.service is None, row.topic
        else:
            assert row.law == laws[row.level] and row.article and row.article.isdigit(), row.topic
        assert row.service is None or row.service in services, row.topic
        assert row.terms, row.topic
    assert {row.topic for row in rows if row.state} >= {"id_card", "police", "courts", "schools", "hospitals",
                                                         "ministries"}
    assert {row.service for row in rows if row.service} == services - {"other"}


def test_the_competent_level_is_found_from_the_place_named(directory: Directory) -> None:
    fes = commune(directory, "Fès")
    waste = suggest("waste", (fes,), directory)
    assert waste is not None and waste.collectivity is not None and waste.collectivity.code == fes
    training = suggest("vocational_training", (fes,), directory)
    assert training is not None and training.collectivity is not None
    assert training.collectivity.level == "region" and training.collectivity.name_fr == "Fès-Meknès"
    rural = suggest("rural_transport", (fes,), directory)
    assert rural is not None and rural.collectivity is not None and rural.collectivity.level == "province"
    card = suggest("id_card", (fes,), directory)
    assert card is not None and card.collectivity is None and card.competence.state
    assert suggest("no such topic", (fes,), directory) is None
    lighting = competence_of("lighting")
    assert lighting is not None and lighting.level == "commune"


@pytest.mark.parametrize("text", ["ok", "wakha", "oui", "لا", "1", "2", "merci", "ah", "ok merci", "واخا", ""])
def test_short_answers_are_answers(text: str) -> None:
    assert is_short_answer(text)
    assert understand(text).intent is None


@pytest.mark.parametrize("text", ["3ndi chikaya", "aide", "bghit nchki 3la zbel", "fin wsal talab dyali"])
def test_requests_are_not_short_answers(text: str) -> None:
    assert not is_short_answer(text)
    assert understand(text).intent is not None


def test_every_decision_names_the_words_that_made_it(directory: Directory) -> None:
    found = understand("3ndi chikaya 3la zbel f casa", directory)
    assert found.intent == "feedback" and found.sure and found.kind == "complaint"
    assert "chikaya" in found.evidence and "topic:waste" in found.evidence
    assert found.places[0] == commune(directory, "Casablanca")


def test_a_reference_in_a_sentence_asks_for_the_status() -> None:
    found = understand("salam, fin wsal BAB-7K3MQ9 3afak?")
    assert found.intent == "status" and found.reference == "BAB-7K3MQ9"


def test_close_intents_are_not_sure() -> None:
    found = understand("chikaya 3la zbel wla talab ma3lomat?")
    assert not found.sure and set(found.alternatives) == {"access", "feedback"}


def test_ordinary_words_are_not_places(directory: Directory) -> None:
    for text in ("bghit n3ref ch7al sarfat l commune 3la l7adi9a", "fin wsal talab dyali", "safi bla",
                 "الباركينغ فوسط المدينة ماكاينش", "بغيت محضر الدورة الأخيرة"):
        assert understand(text, directory).places == (), text


def test_a_place_after_a_preposition_may_be_spelt_another_way(directory: Directory) -> None:
    assert understand("شحال فيها الميزانية ديال الناظور", directory).places[0] == commune(directory, "Nador")
    assert understand("3ndi chikaya 3la zbel f safi", directory).places[0] == commune(directory, "Safi")
