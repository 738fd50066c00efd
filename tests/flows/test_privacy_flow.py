"""The citizen's rights over their data on the engine alone (bot/flows/privacy.py): which words open them, what
each choice decides, and what stale buttons and bad input get. The service side is tests/services/test_privacy.py,
the channels tests/e2e/test_privacy_*.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.flows.engine import advance
from bot.flows.spec import (
    CorrectDetail,
    Effect,
    Forget,
    Inbound,
    InboundKind,
    RequestView,
    Send,
    ShowMyData,
    State,
    WithdrawConsent,
)
from bot.i18n import translator
from tests.flows.test_citizen_flows import CTX, TETOUAN, at, options, say, tap, texts

FR = translator("fr")
ACCESS = RequestView(reference="BAB-7K3MQ9", kind="access", status="submitted", collectivity_code=TETOUAN,
                     subject="Le budget 2025", received_on=date(2026, 11, 16), due_on=date(2026, 12, 15))
CLOSED = replace(ACCESS, reference="BAB-22MQ9K", kind="complaint", status="closed")
WITH_REQUESTS = replace(CTX, requests=(ACCESS, CLOSED))


def effects_of(kind: type, effects: list[Effect]) -> list[Effect]:
    return [effect for effect in effects if isinstance(effect, kind)]


@pytest.mark.parametrize("words", ["/mydata", "mes données", "Mes donnees", "m3lomati", "معلوماتي", "بياناتي",
                                   "mes infos"])
def test_mydata_in_every_language_shows_the_data_from_anywhere(words: str) -> None:
    state, effects = say(at("access:name", topic="Le budget 2025 de la commune"), words)
    assert effects_of(ShowMyData, effects) == [ShowMyData(locale="fr")]
    assert (state.flow, state.step) == ("privacy", "home")
    assert options(effects) == ["correct", "consent", "forget", "menu"]


@pytest.mark.parametrize(("locale", "words"), [("fr", "mes données"), ("ar", "بياناتي"), ("ary", "معلوماتي"),
                                             ("ary_Latn", "m3lomati")])
@pytest.mark.parametrize("asked", ["/help", "help"])
def test_both_helps_name_the_word_that_opens_the_data(locale: str, words: str, asked: str) -> None:
    start = replace(at("access:topic" if asked == "/help" else "menu:main"), locale=locale)
    if asked == "/help":  # the commands' help, from inside a flow
        _, effects = say(start, "/help")
    else:  # the menu's Help button: what Bab does
        _, effects = advance(start, Inbound(kind=InboundKind.CHOICE, choice_id="help", version=start.version), CTX)
    assert any(words in text for text in texts(effects)), texts(effects)
    state, _ = say(start, words)
    assert (state.flow, state.step) == ("privacy", "home")


@pytest.mark.parametrize("words", ["/forget", "oubliez-moi", "effacer mes données", "ms7 m3lomati", "امسح معلوماتي",
                                   "احذف بياناتي"])
def test_forget_in_every_language_asks_first(words: str) -> None:
    state, effects = say(at("menu:main"), words)
    assert (state.flow, state.step) == ("privacy", "forget")
    assert not effects_of(Forget, effects)  # nothing is erased before the confirmation


def test_the_confirmation_says_what_goes_and_what_stays_and_offers_withdraw_or_keep() -> None:
    state, effects = say(at("menu:main"), "/forget", WITH_REQUESTS)
    question = texts(effects)[-1]
    assert FR("Erase what Bab holds about you? Here is what happens:\n"
              "• Erased: your name, card number and contact, the photos and locations you sent, the texts of your "
              "messages and of your requests, and this conversation.\n"
              "• Kept, with nothing that says who you are: for each request, the collectivity, the type, the dates, "
              "the status and the legal ground of a refusal, for the public statistics.\n"
              "• It cannot be undone. If you write again, you start afresh.") in question
    assert "BAB-7K3MQ9" in question and "BAB-22MQ9K" not in question  # only the open one is to decide
    assert options(effects) == ["withdraw", "keep", "no"]
    for choice, expected in (("withdraw", "withdraw"), ("keep", "keep")):
        after, done = advance(state, Inbound(kind=InboundKind.CHOICE, choice_id=choice, version=state.version),
                              WITH_REQUESTS)
        assert effects_of(Forget, done) == [Forget(open_requests=expected, locale="fr")]
        assert (after.flow, after.answers, after.scratch, after.history) == ("menu", {}, {}, [])


def test_without_open_requests_it_is_yes_or_no_and_no_erases_nothing() -> None:
    state, effects = say(at("menu:main"), "/forget")
    assert options(effects) == ["yes", "no"]
    after, done = tap(state, "no")
    assert not effects_of(Forget, done) and after.flow == "menu"
    assert FR("Nothing was erased.") in texts(done)


def test_a_stale_forget_button_erases_nothing() -> None:
    state, _ = say(at("menu:main"), "/forget")
    moved, _ = say(state, "menu")  # the conversation moved on; the old "yes" button is still on screen
    _, effects = tap(moved, "yes", version=state.version)
    assert not effects_of(Forget, effects)
    assert texts(effects)[0] == FR("That button belongs to an earlier question. Here is where we are now:")
    forged, effects = tap(state, "everything")  # an id that was never offered
    assert not effects_of(Forget, effects) and forged.step == "forget"


def test_a_correction_is_checked_like_the_form_and_kept_out_of_the_state() -> None:
    state, _ = say(at("menu:main"), "/mydata", WITH_REQUESTS)
    state, effects = advance(state, Inbound(kind=InboundKind.CHOICE, choice_id="correct", version=state.version),
                             WITH_REQUESTS)
    assert options(effects) == ["name", "id_number", "contact", "cancel"]
    state, effects = advance(state, Inbound(kind=InboundKind.CHOICE, choice_id="id_number",
                                            version=state.version), WITH_REQUESTS)
    bad, effects = advance(state, Inbound(kind=InboundKind.TEXT, text="123"), WITH_REQUESTS)
    assert bad.step == "value" and not effects_of(CorrectDetail, effects)
    assert FR("That does not look like a card number. It is one or two letters then digits, like AB123456.") in texts(
        effects)
    done, effects = advance(state, Inbound(kind=InboundKind.TEXT, text="cd 987 654"), WITH_REQUESTS)
    assert effects_of(CorrectDetail, effects) == [CorrectDetail(field="id_number", value="CD987654", locale="fr")]
    assert "CD987654" not in str(done.to_json())
    assert (done.flow, done.step) == ("privacy", "home")


def test_name_and_card_number_are_offered_only_where_an_access_request_holds_them() -> None:
    complaints = replace(CTX, requests=(CLOSED,))
    state, _ = say(at("menu:main"), "/mydata", complaints)
    _, effects = advance(state, Inbound(kind=InboundKind.CHOICE, choice_id="correct", version=state.version),
                         complaints)
    assert options(effects) == ["contact", "cancel"]
    _, effects = advance(state, Inbound(kind=InboundKind.CHOICE, choice_id="correct", version=state.version), CTX)
    assert options(effects) == ["cancel"]  # nothing held: nothing to correct


def test_a_photo_where_the_new_value_is_asked_gets_a_clear_answer() -> None:
    state = State(flow="privacy", step="value", scratch={"field": "name"}, locale="fr", locale_confirmed=True,
                  version=7)
    after, effects = advance(state, Inbound(kind=InboundKind.PHOTO, attachment_id=4), CTX)
    assert after.step == "value" and not effects_of(CorrectDetail, effects)
    assert texts(effects) == [FR("Thank you, but I cannot use a file at this step."),
                              FR("Your full name, as on your identity card:")]


@pytest.mark.parametrize("what", ["contact", "location", "photos"])
def test_consent_is_withdrawn_after_a_confirmation(what: str) -> None:
    state, _ = say(at("menu:main"), "/mydata")
    state, _ = tap(state, "consent")
    state, effects = tap(state, what)
    assert options(effects) == ["yes", "no"] and not effects_of(WithdrawConsent, effects)
    _, refused = tap(state, "no")
    assert not effects_of(WithdrawConsent, refused)
    after, effects = tap(state, "yes")
    assert effects_of(WithdrawConsent, effects) == [WithdrawConsent(what=what, locale="fr")]
    assert after.step == "home"


def test_the_confirmation_is_in_the_citizens_language() -> None:
    for locale in ("ary", "ary_Latn", "ar"):
        state = State(locale=locale, locale_confirmed=True, flow="menu", step="main", version=3)
        _, effects = advance(state, Inbound(kind=InboundKind.TEXT, text="/forget"), WITH_REQUESTS)
        sent = [effect.message for effect in effects if isinstance(effect, Send)]
        assert sent and all(message.locale == locale for message in sent)
        assert all("Erase what Bab holds" not in message.text and "BAB-7K3MQ9" in message.text for message in sent)


@pytest.mark.parametrize(("words", "step"), [
    ("je veux voir mes données personnelles", "home"), ("bghit nchof m3lomati dyali", "home"),
    ("شنو عندكم عليا من معلومات", "home"), ("bghit nms7 m3lomati dyali", "forget"),
    ("Je veux exercer mon droit à l'oubli", "forget"), ("احذف بياناتي من فضلك", "forget"),
])
def test_a_sentence_that_asks_for_ones_data_or_its_erasure_opens_it(words: str, step: str) -> None:
    state, effects = say(at("menu:main"), words)
    assert (state.flow, state.step) == ("privacy", step)
    assert bool(effects_of(ShowMyData, effects)) == (step == "home")
    assert not effects_of(Forget, effects)
