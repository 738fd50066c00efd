"""What a citizen does after filing: answer a clarification, rate an answer, complain to the head of the
collectivity (law 31-13), and prepare a complaint to the CDAI. Reached from notices' 'go:' buttons and from
'My requests'; every step re-checks that the request is the citizen's own and that the remedy is open."""

from __future__ import annotations

from bot.domain.lifecycle import RATINGS
from bot.domain.remedies import DECIDED
from bot.domain.requests import Kind
from bot.domain.validation import check_free_text
from bot.flows.confirm import confirm_handler
from bot.flows.delays import delay, delays
from bot.flows.engine import Ask, Choose, Flow, Turn, on_go, register
from bot.flows.labels import status_label
from bot.flows.mine import own_request, place_name
from bot.flows.remedies import (
    COMPLAINT_NOT_OPEN,
    NOT_AWAITING_REPLY,
    cdai_option,
    complain_option,
)
from bot.flows.spec import Option, Rate, Reply, RequestView
from bot.i18n import N_

CDAI_ADDRESS = "https://www.cdai.ma"
COMPLAIN_CONFIRM = (Option("send", N_("Send the complaint")), Option("cancel", N_("Cancel")))


def _own(turn: Turn, args: list[str]) -> RequestView | None:
    """The citizen's request named by the button; says so and re-prompts when it is not theirs or unknown."""
    view = own_request(turn, args[0]) if args else None
    if view is None:
        turn.stale()
    return view


@on_go("menu")
def go_menu(turn: Turn, args: list[str]) -> None:
    turn.go("menu:main", remember=False)


@on_go("resume")
def go_resume(turn: Turn, args: list[str]) -> None:
    """A template's button when nothing waited any more (it was delivered already): where we are now."""
    turn.prompt()


@on_go("reply")
def go_reply(turn: Turn, args: list[str]) -> None:
    view = _own(turn, args)
    if view is None:
        return
    if view.status != "clarification":
        turn.error(NOT_AWAITING_REPLY, reference=view.reference)
        return
    turn.go("followup:reply", remember=False)
    turn.state.scratch["ref"] = view.reference


def on_reply(text: str, turn: Turn) -> str:
    reference = str(turn.state.scratch.get("ref", ""))
    answer = check_free_text(text, min_chars=2, max_chars=4000)
    turn.effects.append(Reply(reference=reference, text=answer, locale=turn.t.locale))
    return answer


@on_go("rate")
def go_rate(turn: Turn, args: list[str]) -> None:
    view = _own(turn, args)
    if view is None:
        return
    rating = args[1] if len(args) > 1 else ""
    if rating not in RATINGS or view.status not in DECIDED:
        turn.error(N_("Request {reference} has no answer to rate right now."), reference=view.reference)
        return
    turn.effects.append(Rate(reference=view.reference, rating=rating, locale=turn.t.locale))
    if rating == "answered":
        turn.say(N_("Thank you! Request {reference} is closed. Type menu for anything else."),
                 reference=view.reference)
        turn.go("menu:main", remember=False)
        return
    options: tuple[Option, ...] = ()
    if view.kind == "access" and view.can_complain:
        turn.say(N_("Thank you for telling me. If the answer does not satisfy you, you can complain to the head of "
                    "the collectivity within {delay} (law 31-13). I can write it with you now."),
                 delay=delay(turn.t, turn.ctx.rules["complaint_to_head_filing"]))
        options = (complain_option(view.reference),)
    elif view.kind == "head_complaint":
        turn.say(N_("Thank you for telling me. The next step is the Commission for the right of access to "
                    "information (CDAI): I can prepare what to send it."))
        options = (cdai_option(view.reference),)
    else:
        turn.say(N_("Thank you for telling me. Your rating is kept with the request."))
    options = (*options, Option("go:menu", N_("Main menu")))
    turn.say_text(turn.t(N_("What would you like to do?")),
                  tuple((option.id, turn.label(option)) for option in options), with_version=True)


@on_go("complain")
def go_complain(turn: Turn, args: list[str]) -> None:
    view = _own(turn, args)
    if view is None:
        return
    if not view.can_complain:
        turn.error(COMPLAINT_NOT_OPEN, reference=view.reference,
                   delay=delay(turn.t, turn.ctx.rules["complaint_to_head_filing"]))
        return
    turn.go("complain:reason", remember=False)
    turn.state.answers = {"parent": view.reference, "place": view.collectivity_code}


def complain_summary(turn: Turn) -> str:
    t = turn.t
    answers = turn.state.answers
    return "\n".join([
        t(N_("Your complaint to the head of {place} about request {reference}:"),
          place=place_name(turn, str(answers.get("place", ""))), reference=answers.get("parent", "")),
        "",
        str(answers.get("description", "")),
        "",
        t(N_("The head of the collectivity has {delay} to answer you (law 31-13). Send it?"),
          delay=delay(t, turn.ctx.rules["head_answer"])),
    ])


@on_go("cdai")
def go_cdai(turn: Turn, args: list[str]) -> None:
    view = _own(turn, args)
    if view is None:
        return
    if not view.can_go_to_cdai:
        turn.error(N_("The CDAI comes after a complaint to the head of the collectivity that was refused, not "
                      "answered in time or answered in part; that is not the case of {reference} yet."),
                   reference=view.reference)
        return
    turn.say_text(cdai_letter(turn, view))
    turn.prompt()


def cdai_letter(turn: Turn, complaint: RequestView) -> str:
    """How to seize the CDAI, and the facts of the case ready to copy into its complaint form."""
    t = turn.t
    parent = own_request(turn, complaint.parent_reference or "")
    lines = [
        t(N_("How to complain to the Commission for the right of access to information (CDAI):\n"
             "• within {cdai} of the head's answer, or of the end of the {head} the head had to answer;\n"
             "• with the CDAI complaint form on {site}, by e-mail or by post;\n"
             "• attach the answers you received, if any.\n\nThe facts, ready to copy:"), site=CDAI_ADDRESS,
          **delays(t, turn.ctx.rules, cdai="cdai_filing", head="head_answer")),
        "",
    ]
    if parent is not None:
        lines += [
            t(N_("1. Request for information {reference} to {place}, received on {received}, answer due by "
                 "{due}: {status}."), reference=parent.reference, place=place_name(turn, parent.collectivity_code),
              received=t.date(parent.received_on), due=t.date(parent.due_on), status=status_label(parent.status, t)),
            t(N_("Information requested: {subject}"), subject=parent.subject),
        ]
    lines += [
        t(N_("2. Complaint to the head of the collectivity {reference}, received on {received}, answer due by "
             "{due}: {status}."), reference=complaint.reference, received=t.date(complaint.received_on),
          due=t.date(complaint.due_on), status=status_label(complaint.status, t)),
        t(N_("Complaint: {subject}"), subject=complaint.subject),
    ]
    return "\n".join(lines)


register(Flow(id="followup", start="reply", steps={
    "reply": Ask(id="reply", question=N_("Write your answer to the collectivity's question:"), save="reply",
                 next="menu:main", check=on_reply),
}))

register(Flow(id="complain", start="reason", steps={
    "reason": Ask(
        id="reason",
        question=N_("Tell the head of the collectivity what is wrong: no answer in time, an incomplete answer, or a "
                    "refusal you contest, and why:"),
        save="description", next="confirm",
        check=lambda text, turn: check_free_text(text, min_chars=10, max_chars=4000),
    ),
    "confirm": Choose(id="confirm", question=complain_summary, options=COMPLAIN_CONFIRM,
                      on_choose=confirm_handler(lambda turn: Kind.HEAD_COMPLAINT.value)),
}))
