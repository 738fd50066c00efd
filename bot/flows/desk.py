"""The staff desk inside the conversation engine: its steps only hand over to the service.

The inbox lives in the database (lists, scopes, other people's requests), so the desk's steps render and act
through effects the service carries out: `DeskShow` (render the current step) and `DeskInput` (act on a
message). The engine still owns what it is good at: global commands, stale buttons, back and cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.engine import Flow, Turn, on_go, register
from bot.flows.spec import DeskInput, DeskShow, Inbound
from bot.i18n import N_

# list: the inbox page; open: one request and its actions; compose: text (and files) for an action;
# pick: one choice among a list the service shows (reason, ground, exception, clerk, place, answer kind);
# overdue and stats: the coordinators' reports; calendar: confirming or moving estimated holidays.
DESK_STEPS = ("list", "open", "compose", "pick", "overdue", "stats", "calendar")

FILTER_LABELS = {
    "open": N_("To handle"),
    "overdue": N_("Overdue"),
    "mine": N_("Mine"),
    "unassigned": N_("Unassigned"),
    "all": N_("All open"),
}
ACTION_LABELS = {
    "take": N_("Take it"),
    "answer": N_("Answer"),
    "clarify": N_("Ask for clarification"),
    "extend": N_("Extend (+20 working days)"),
    "refuse": N_("Refuse"),
    "transfer": N_("Transfer"),
    "assign": N_("Assign to a clerk"),
    "note": N_("Internal note"),
}
COMPOSE_PROMPTS = {
    "answer": N_("Write your answer to the citizen. You can send documents or photos first: they go with it."),
    "clarify": N_("Write your question to the citizen:"),
    "note": N_("Write an internal note (the citizen does not see it):"),
    "refuse": N_("Write the reason for the refusal, as the citizen will read it:"),
    "transfer": N_("Type the name of the collectivity to transfer it to:"),
}
EVENT_LABELS = {
    "submitted": N_("received"),
    "open": N_("opened"),
    "take": N_("taken"),
    "assigned": N_("assigned"),
    "clarify": N_("clarification asked"),
    "clarified": N_("citizen answered"),
    "extend": N_("extended"),
    "answer": N_("answered"),
    "answer_partially": N_("answered in part"),
    "refuse": N_("refused"),
    "transfer": N_("transferred"),
    "withdraw": N_("withdrawn by the citizen"),
    "close": N_("closed"),
    "rated": N_("rated by the citizen"),
    "note": N_("internal note"),
    "overdue": N_("deadline passed"),
    "due_moved": N_("due date moved"),
}


@dataclass(frozen=True, slots=True)
class DeskStep:
    id: str

    def prompt(self, turn: Turn) -> None:
        turn.effects.append(DeskShow())

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        turn.effects.append(DeskInput(inbound))


register(Flow(id="desk", start="list", steps={step: DeskStep(step) for step in DESK_STEPS}))


@on_go("open")
def open_from_notice(turn: Turn, args: list[str]) -> None:
    """A staff notice's 'open' button: straight to that request (the service checks the scope)."""
    if turn.ctx.staff_role is None or not args:
        turn.stale()
        return
    turn.go("desk:open", remember=False)
    turn.state.scratch["ref"] = args[0]
