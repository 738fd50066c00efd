"""What the access and feedback flows share at their end: the send / change / cancel step and the edit loop."""

from __future__ import annotations

from collections.abc import Callable

from bot.flows.engine import Turn
from bot.flows.spec import Option, Submit
from bot.i18n import N_


def label_of(turn: Turn, options: tuple[Option, ...], option_id: object) -> str:
    """The translated label of the option with that id ('' when none has it)."""
    return next((turn.t(option.label) for option in options if option.id == option_id), "")


def confirm_handler(kind_of: Callable[[Turn], str]) -> Callable[[Turn, Option], bool]:
    """On 'send', file the request (kind from `kind_of`); on 'cancel', drop it; otherwise go to the edit step."""

    def on_confirm(turn: Turn, option: Option) -> bool:
        if option.id == "send":
            answers = dict(turn.state.answers)
            turn.effects.append(Submit(kind=kind_of(turn), answers=answers, locale=turn.t.locale))
            turn.state.answers = {}
            turn.go("menu:main", remember=False)
            return True
        if option.id == "cancel":
            turn.say(N_("Cancelled. Nothing was sent."))
            turn.go("menu:main", remember=False)
            return True
        return False

    return on_confirm


def edit_handler(flow_id: str) -> Callable[[Turn, Option], bool]:
    """Go to the chosen field's step, and come back to the summary once it is answered."""

    def on_edit(turn: Turn, option: Option) -> bool:
        turn.go(option.id)
        turn.state.scratch["return_to"] = f"{flow_id}:confirm"
        return True

    return on_edit
