"""The staff desk inside the conversation engine: its steps only hand over to the service.

The inbox lives in the database (lists, scopes, other people's requests), so the desk's steps render and act
through effects the service carries out: `DeskShow` (render the current step) and `DeskInput` (act on a
message). The engine still owns what it is good at: global commands, stale buttons, back and cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.engine import Flow, Turn, on_go, register
from bot.flows.spec import DeskInput, DeskShow, Inbound

# list: the inbox page; open: one request and its actions; compose: text (and files) for an action;
# pick: one choice among a list the service shows (reason, ground, exception, clerk, place, answer kind);
# overdue and stats: the coordinators' reports; calendar: confirming or moving estimated holidays.
DESK_STEPS = ("list", "open", "compose", "pick", "overdue", "stats", "calendar")


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
