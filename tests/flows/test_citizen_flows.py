"""The citizen's flows on the engine alone: no database, no channel, a two-line directory.

`advance(state, inbound, ctx)` is the whole conversation logic: each test gives a state and a message and reads
the new state and the effects (messages to send, a request to file). The same conversations end to end, on
every channel, are the golden transcripts (tests/golden/transcripts/).
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain.deadlines import Rule, Unit, rules_with
from bot.domain.directory import Collectivity, Directory
from bot.flows.engine import FLOWS, Context, advance
from bot.flows.spec import Effect, Inbound, InboundKind, Send, State, Submit
from bot.i18n import translator

TETOUAN = "01.571.01.11"
DIRECTORY = Directory([
    Collectivity(TETOUAN, "commune", "Tétouan", "تطوان", None, 380000, 35.57, -5.37, "province", "urbaine"),
    Collectivity("03.231.01.0", "commune", "Fès", "فاس", None, 1250000, 34.03, -5.0, "prefecture", "urbaine"),
], chat_words=())
CTX = Context(directory=DIRECTORY, default_locale="fr")
FR = translator("fr")
TOPIC_QUESTION = str(getattr(FLOWS["access"].steps["topic"], "question"))


def say(state: State, text: str, ctx: Context = CTX) -> tuple[State, list[Effect]]:
    return advance(state, Inbound(kind=InboundKind.TEXT, text=text), ctx)


def tap(state: State, option_id: str, version: int | None = None) -> tuple[State, list[Effect]]:
    inbound = Inbound(kind=InboundKind.CHOICE, choice_id=option_id,
                      version=state.version if version is None else version)
    return advance(state, inbound, CTX)


def texts(effects: list[Effect]) -> list[str]:
    return [effect.message.text for effect in effects if isinstance(effect, Send)]


def options(effects: list[Effect]) -> list[str]:
    return [option_id for effect in effects if isinstance(effect, Send) for option_id, _ in effect.message.options]


def at(step: str, **answers: object) -> State:
    flow, _, name = step.partition(":")
    return State(flow=flow, step=name, answers=dict(answers), locale="fr", locale_confirmed=True, version=5)


def test_an_access_request_from_its_topic_to_the_request_filed() -> None:
    state, _ = say(at("access:topic"), "Le budget 2025 de la commune")
    assert state.step == "place"
    state, effects = say(state, "tetouan")
    assert options(effects)[0] == TETOUAN  # the directory's candidates, then "none of these"
    for step in (lambda s: tap(s, TETOUAN), lambda s: tap(s, "no"), lambda s: tap(s, "chat"),
                 lambda s: say(s, "Amina El Idrissi"), lambda s: say(s, "ab 123456"), lambda s: say(s, "0612345678")):
        state, effects = step(state)
    assert state.step == "confirm" and "Amina El Idrissi" in texts(effects)[0] and "AB123456" in texts(effects)[0]
    state, effects = tap(state, "send")
    submitted = [effect for effect in effects if isinstance(effect, Submit)]
    assert len(submitted) == 1 and submitted[0].kind == "access"
    assert submitted[0].answers == {"topic": "Le budget 2025 de la commune", "place": TETOUAN, "urgent": "no",
                                    "delivery": "chat", "name": "Amina El Idrissi", "id_number": "AB123456",
                                    "contact": "+212612345678"}
    assert (state.flow, state.answers) == ("menu", {})


def test_a_bad_answer_is_explained_and_the_same_question_asked_again() -> None:
    state, effects = say(at("access:topic"), "budget")  # too short to tell what is wanted
    assert (state.step, state.version) == ("topic", 5)
    error, question = texts(effects)
    assert question == FR(TOPIC_QUESTION) and error != question and "10" in error  # says how long it must be


def test_a_photo_where_text_is_asked_gets_a_clear_answer_and_the_question_again() -> None:
    state, effects = advance(at("access:name"), Inbound(kind=InboundKind.PHOTO, attachment_id=3), CTX)
    assert (state.step, state.version, "name" in state.answers) == ("name", 5, False)
    assert texts(effects) == [FR("Thank you, but I cannot use a file at this step."),
                              FR("Your full name, as on your identity card:")]


def test_a_button_from_an_earlier_question_changes_nothing() -> None:
    state, effects = tap(at("access:urgent", topic="Le budget 2025 de la commune"), "chat", version=4)
    assert (state.step, state.version, state.answers) == ("urgent", 5, {"topic": "Le budget 2025 de la commune"})
    assert texts(effects)[0] == FR("That button belongs to an earlier question. Here is where we are now:")


def test_back_goes_to_the_previous_question_and_cancel_drops_everything() -> None:
    state, _ = say(at("access:topic"), "Le budget 2025 de la commune")
    state, effects = say(state, "back")
    assert state.step == "topic" and texts(effects)[-1] == FR(TOPIC_QUESTION)
    state, effects = say(state, "annuler")
    assert state.flow == "menu" and texts(effects)[0] == FR("Cancelled. Nothing was sent.")
    state, _ = tap(state, "access")
    assert (state.flow, state.step, state.answers) == ("access", "topic", {})  # a new request starts afresh


def test_changing_language_mid_flow_asks_the_same_question_again_in_the_new_language() -> None:
    state, _ = say(at("access:name", topic="Le budget 2025 de la commune", place=TETOUAN), "langue")
    assert state.flow == "lang"
    state, effects = tap(state, "ar")
    assert (state.flow, state.step, state.locale) == ("access", "name", "ar")
    assert state.answers == {"topic": "Le budget 2025 de la commune", "place": TETOUAN}
    assert texts(effects)[-1] == translator("ar")("Your full name, as on your identity card:")


def test_the_urgency_question_states_the_day_counts_of_the_rule_table() -> None:
    state = at("access:place", topic="Le budget 2025 de la commune")
    state, _ = say(state, "tetouan")
    _, effects = tap(state, TETOUAN)
    calendar_days = texts(effects)[-1]
    assert "3" in calendar_days and "20" in calendar_days
    changed = dict(rules_with(Unit.WORKING))
    changed["access"] = Rule("access", 30, Unit.WORKING, "a new law")
    _, effects = advance(state, Inbound(kind=InboundKind.CHOICE, choice_id=TETOUAN, version=state.version),
                         replace(CTX, rules=changed))
    assert "30" in texts(effects)[-1] and texts(effects)[-1] != calendar_days
