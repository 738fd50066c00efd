"""A notice's button pressed in the middle of a form: the form is kept, and the menu offers to go on with it.

On the engine alone (no database, no channel): the state the engine returns is what the service stores, so the
suspended form is in the conversation state JSON. End to end, on the web chat, in tests/e2e/test_web_suspended_form.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.flows.engine import Context, advance
from bot.flows.spec import Effect, Forget, Inbound, InboundKind, RequestView, State, Submit
from tests.flows.test_citizen_flows import CTX, FR, TETOUAN, at, options, say, tap, texts

ANSWERED = RequestView(reference="BAB-7K3MQ9", kind="access", status="answered", collectivity_code=TETOUAN,
                       subject="Le budget 2025", received_on=date(2026, 11, 2), due_on=date(2026, 11, 30),
                       answered_on=date(2026, 11, 20), can_complain=True)
ASKED = replace(ANSWERED, reference="BAB-4PQ2WX", status="clarification", answered_on=None, can_complain=False)
NOTICES = replace(CTX, requests=(ANSWERED, ASKED))
HALF_DONE = {"topic": "Le budget 2025 de la commune", "place": TETOUAN, "urgent": "no", "delivery": "chat",
             "name": "Amina El Idrissi"}


def half_way() -> State:
    """An access request with five answers given, at the card number."""
    state = at("access:id_number", **HALF_DONE)
    state.history = ["topic", "place", "urgent", "delivery", "name"]
    return state


def press(state: State, choice: str, ctx: Context = NOTICES) -> tuple[State, list[Effect]]:
    """A notice's 'go:' button: sent outside the conversation, with version 0."""
    return advance(state, Inbound(kind=InboundKind.CHOICE, choice_id=choice, version=0), ctx)


def test_answering_a_clarification_mid_form_keeps_the_form_and_offers_to_continue_it() -> None:
    state, _ = press(half_way(), f"go:reply:{ASKED.reference}")
    assert (state.flow, state.step) == ("followup", "reply")
    assert [draft["answers"] for draft in state.suspended] == [HALF_DONE]
    assert State.from_json(state.to_json()).suspended == state.suspended  # stored with the conversation
    state, effects = say(state, "Le budget de fonctionnement, s'il vous plaît", NOTICES)
    assert (state.flow, state.step) == ("menu", "main")
    assert options(effects)[0] == "resume"
    assert FR("Your request for information is not sent yet: your answers are kept. Tap “Continue my request” "
              "to finish it.") in texts(effects)[-1]
    state, effects = tap(state, "resume")
    assert (state.flow, state.step, state.answers) == ("access", "id_number", HALF_DONE)
    assert state.suspended == [] and state.history == ["topic", "place", "urgent", "delivery", "name"]
    assert texts(effects) == [FR("Let us go on where we were."), FR(
        "Your national identity card (CNIE) number, or your residence card number if you are a foreign resident:")]
    # The form goes on to the end as if nothing had happened, with every answer given before the notice.
    for step in (lambda s: say(s, "ab 123456"), lambda s: say(s, "0612345678")):
        state, effects = step(state)
    state, effects = tap(state, "send")
    submitted = [effect for effect in effects if isinstance(effect, Submit)]
    assert submitted and submitted[0].answers == {**HALF_DONE, "id_number": "AB123456", "contact": "+212612345678"}


def test_rating_an_answer_and_complaining_to_the_head_mid_form_come_back_to_the_form() -> None:
    state, effects = press(half_way(), f"go:rate:{ANSWERED.reference}:answered")
    assert state.flow == "menu" and options(effects)[0] == "resume" and len(state.suspended) == 1
    # A complaint started from a notice is a form too: cancelling it comes back to the menu, the first form kept.
    state, _ = press(half_way(), f"go:complain:{ANSWERED.reference}")
    assert (state.flow, len(state.suspended)) == ("complain", 1)
    state, effects = say(state, "annuler")
    assert state.flow == "menu" and options(effects)[0] == "resume"
    state, _ = tap(state, "resume")
    assert (state.flow, state.step, state.answers) == ("access", "id_number", HALF_DONE)


def test_a_button_that_does_not_leave_the_form_suspends_nothing() -> None:
    state, _ = press(half_way(), "go:resume")  # a template's "read it" with nothing waiting: the question again
    assert (state.flow, state.step, state.suspended) == ("access", "id_number", [])
    state, _ = press(half_way(), "go:reply:BAB-UNKNOWN")  # not theirs: re-prompted where they are
    assert (state.flow, state.suspended) == ("access", [])
    # Nothing typed yet: nothing to keep.
    state, _ = press(at("access:topic"), f"go:reply:{ASKED.reference}")
    assert state.suspended == []


def test_a_form_left_for_the_language_chooser_is_kept_too() -> None:
    state, _ = say(half_way(), "langue")
    assert state.flow == "lang"
    state, _ = press(state, f"go:reply:{ASKED.reference}")
    assert [draft["answers"] for draft in state.suspended] == [HALF_DONE]


def test_cancel_at_the_menu_drops_the_kept_form_and_forget_erases_it() -> None:
    state, _ = press(half_way(), "go:menu")
    assert state.flow == "menu" and len(state.suspended) == 1
    state, effects = say(state, "annuler")
    assert state.suspended == [] and texts(effects)[0] == FR("Cancelled. Nothing was sent.")
    assert "resume" not in options(effects)
    # /forget erases the kept forms with everything else (their answers hold a name, a card number…).
    state, _ = press(half_way(), "go:menu")
    state, _ = say(state, "/forget", NOTICES)
    state, effects = tap(state, "yes")
    assert any(isinstance(effect, Forget) for effect in effects) and state.suspended == []


def test_at_most_three_forms_are_kept_the_newest_first() -> None:
    state = half_way()
    for n in range(4):
        state.flow, state.step, state.answers = "access", "id_number", {**HALF_DONE, "name": f"Nom {n}"}
        state, _ = press(state, "go:menu")
    assert [draft["answers"]["name"] for draft in state.suspended] == ["Nom 1", "Nom 2", "Nom 3"]
    state, _ = tap(state, "resume")
    assert state.answers["name"] == "Nom 3" and len(state.suspended) == 2


def test_my_data_is_on_the_menu_and_opens_what_mydata_opens() -> None:
    state, effects = say(at("menu:main"), "menu")
    assert "mydata" in options(effects)
    by_button, button_effects = tap(state, "mydata")
    by_command, command_effects = say(state, "/mydata")
    assert (by_button.flow, by_button.step) == (by_command.flow, by_command.step) == ("privacy", "home")
    assert [type(effect) for effect in button_effects] == [type(effect) for effect in command_effects]
