"""'My requests': the citizen's own requests with status and due date, one opened by button or reference."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.lifecycle import Action, allowed
from bot.domain.requests import find_reference
from bot.flows.engine import (
    Choose,
    Flow,
    Turn,
    free_text,
    match_option,
    option_rows,
    register,
    run_go,
    wrong_kind,
)
from bot.flows.labels import kind_label, status_label
from bot.flows.places import local_name
from bot.flows.remedies import remedy_options
from bot.flows.spec import Explain, Inbound, InboundKind, Option, RequestView, Withdraw
from bot.i18n import N_

LIST_LIMIT = 8
MENU = Option("menu", N_("Main menu"))


def own_request(turn: Turn, reference: str) -> RequestView | None:
    """The citizen's request with that reference; None for unknown ones and for other people's alike."""
    return next((view for view in turn.ctx.requests if view.reference == reference), None)


def place_name(turn: Turn, code: str) -> str:
    place = turn.ctx.directory.get(code)
    return local_name(place, turn.t) if place else code


@dataclass(frozen=True, slots=True)
class RequestList:
    """Lists the requests; a button or a typed reference opens one."""

    id: str = "list"

    def options(self, turn: Turn) -> tuple[Option, ...]:
        shown = turn.ctx.requests[:LIST_LIMIT]
        return (*(Option(f"open:{view.reference}", view.reference, literal=True) for view in shown), MENU)

    def prompt(self, turn: Turn) -> None:
        t = turn.t
        if not turn.ctx.requests:
            turn.say_text(t(N_("You have not sent any request yet.")), option_rows(turn, (MENU,)))
            return
        lines = [t(N_("Your requests (newest first):"))]
        for view in turn.ctx.requests[:LIST_LIMIT]:
            lines.append(t(N_("• {reference}: {kind} to {place}, {status}, answer due {due}"),
                           reference=view.reference, kind=kind_label(view.kind, t),
                           place=place_name(turn, view.collectivity_code), status=status_label(view.status, t),
                           due=t.date(view.due_on)))
        if len(turn.ctx.requests) > LIST_LIMIT:
            lines.append(t(N_("To open an older one, type its reference.")))
        else:
            lines.append(t(N_("Tap one to see it, or type its reference.")))
        turn.say_text("\n".join(lines), option_rows(turn, self.options(turn)))

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        if inbound.kind not in (InboundKind.TEXT, InboundKind.CHOICE):
            wrong_kind(turn, inbound, expects_choice=True)
            return
        option = match_option(turn, self.options(turn), inbound)
        if option is MENU:
            turn.go("menu:main", remember=False)
            return
        reference = option.id.partition(":")[2] if option else find_reference(inbound.text or "")
        if reference is None:
            if inbound.kind is InboundKind.CHOICE:
                turn.stale()
            elif free_text(turn, inbound.text):  # "bghit nchki 3la zbel" here: no question is pending
                return
            else:
                turn.error(N_("Please tap one of your requests, or type its reference (it looks like BAB-7K3MQ9)."))
            return
        if own_request(turn, reference) is None:
            turn.error(N_("I find no request {reference} among yours. Check the reference."), reference=reference)
            return
        turn.state.scratch["open"] = reference
        turn.go("detail")


def detail_question(turn: Turn) -> str:
    t = turn.t
    view = own_request(turn, str(turn.state.scratch.get("open", "")))
    if view is None:
        return t(N_("This request is no longer available."))
    return "\n".join([
        t(N_("{kind} {reference}"), kind=kind_label(view.kind, t), reference=view.reference),
        t(N_("To: {place}"), place=place_name(turn, view.collectivity_code)),
        t(N_("Subject: {subject}"), subject=view.subject),
        t(N_("Received on {date}"), date=t.date(view.received_on)),
        t(N_("Answer due by {date}"), date=t.date(view.due_on)),
        t(N_("Status: {status}"), status=status_label(view.status, t)),
        *([t(N_("Answered on {date}"), date=t.date(view.answered_on))] if view.answered_on else []),
        *([t(N_("The deadline has passed without an answer."))] if view.overdue else []),
    ])


def detail_options(turn: Turn) -> tuple[Option, ...]:
    view = own_request(turn, str(turn.state.scratch.get("open", "")))
    withdrawable = view is not None and Action.WITHDRAW in allowed(view.kind, view.status)
    withdraw = (Option("withdraw", N_("Withdraw this request")),) if withdrawable else ()
    remedies = remedy_options(view) if view else ()
    why = (Option("why", N_("Why this date?")),) if view else ()
    return (*remedies, *why, *withdraw, Option("list", N_("Back to my requests")), MENU)


def on_detail(turn: Turn, option: Option) -> bool:
    if option.id.startswith("go:"):
        run_go(turn, option.id)
    elif option.id == "why":
        turn.effects.append(Explain(reference=str(turn.state.scratch.get("open", "")), locale=turn.t.locale))
        turn.prompt()
    elif option.id == "list":
        turn.go("list")
    elif option.id == "menu":
        turn.go("menu:main", remember=False)
    else:
        turn.go("withdraw")
    return True


def on_withdraw(turn: Turn, option: Option) -> bool:
    reference = str(turn.state.scratch.get("open", ""))
    if option.id == "yes":
        turn.effects.append(Withdraw(reference=reference, locale=turn.t.locale))
        turn.go("menu:main", remember=False)
    else:
        turn.go("detail")
    return True


register(Flow(id="mine", start="list", steps={
    "list": RequestList(),
    "detail": Choose(id="detail", question=detail_question, options=detail_options, on_choose=on_detail),
    "withdraw": Choose(
        id="withdraw",
        question=N_("Withdraw this request? The collectivity will be told that you no longer need an answer."),
        options=(Option("yes", N_("Yes, withdraw it")), Option("no", N_("No, keep it"))),
        on_choose=on_withdraw,
    ),
}))
