"""The citizen's rights over their data (law 09-08): see it (/mydata), correct it, object to an optional detail
(erased from their requests, and not asked again until they allow it again), erase it (/forget). Pure decisions; `bot.services.privacy` carries out the effects and says how it went."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.requests import OPEN_STATUSES, Kind
from bot.domain.validation import Invalid, check_contact, check_id_number, check_name
from bot.flows.engine import (
    FLOW_COMMANDS,
    Choose,
    Flow,
    Turn,
    match_option,
    option_rows,
    register,
    wrong_kind,
)
from bot.flows.spec import (
    CorrectDetail,
    Forget,
    Inbound,
    InboundKind,
    Option,
    RequestView,
    ShowMyData,
    WithdrawConsent,
)
from bot.i18n import N_

MENU = Option("menu", N_("Main menu"))
HOME_OPTIONS = (
    Option("correct", N_("Correct my details")),
    Option("consent", N_("Remove optional data")),
    Option("forget", N_("Erase my data")),
    MENU,
)
FIELD_OPTIONS = {
    "name": Option("name", N_("My name")),
    "id_number": Option("id_number", N_("My card number")),
    "contact": Option("contact", N_("My contact")),
}
FIELD_QUESTIONS = {
    "name": N_("Your full name, as on your identity card:"),
    "id_number": N_("Your national identity card (CNIE) number, or your residence card number if you are a "
                    "foreign resident:"),
    "contact": N_("Where can the administration reach you? An e-mail address, a phone number or a postal "
                  "address:"),
}
CHECKS = {"name": check_name, "id_number": check_id_number, "contact": check_contact}
CONSENT_OPTIONS = (
    Option("contact", N_("Complaint contact")),
    Option("location", N_("Locations")),
    Option("photos", N_("Photos")),
)
OBJECTIONS = tuple(option.id for option in CONSENT_OPTIONS)  # what a citizen may object to (citizens.objections)
# Once objected to, the same detail is offered to be allowed again.
ALLOW_OPTIONS = {
    "contact": Option("allow_contact", N_("Ask my contact again")),
    "location": Option("allow_location", N_("Ask locations again")),
    "photos": Option("allow_photos", N_("Ask photos again")),
}
CONSENT_WHAT = {
    "contact": N_("the phone number or e-mail address you left on your complaints, observations and suggestions"),
    "location": N_("the locations you shared"),
    "photos": N_("the photos you sent"),
}
CANCEL = Option("cancel", N_("Cancel"))
YES_ERASE = Option("yes", N_("Yes, erase it"))
KEEP_IT = Option("no", N_("No, keep it"))
FORGET_ALL = Option("yes", N_("Yes, erase all"))
FORGET_WITHDRAW = Option("withdraw", N_("Erase, withdraw them"))
FORGET_KEEP = Option("keep", N_("Erase, keep them"))
FORGET_NOTHING = Option("no", N_("No, erase nothing"))


def open_requests(turn: Turn) -> tuple[RequestView, ...]:
    """The citizen's requests still waiting for an answer."""
    return tuple(view for view in turn.ctx.requests if view.status in OPEN_STATUSES)


def show_my_data(turn: Turn) -> None:
    """'/mydata' from anywhere: what is held, in words and as files, then what can be done with it."""
    turn.effects.append(ShowMyData(locale=turn.t.locale))
    turn.go("privacy:home", remember=False)


def start_forget(turn: Turn) -> None:
    """'/forget' from anywhere: the confirmation that says what goes and what stays."""
    turn.go("privacy:forget", remember=False)


FLOW_COMMANDS.update(mydata=show_my_data, forget=start_forget)


def on_home(turn: Turn, option: Option) -> bool:
    if option.id == "menu":
        turn.go("menu:main", remember=False)
    else:
        turn.go(option.id)
    return True


def field_options(turn: Turn) -> tuple[Option, ...]:
    """Name and card number only where an access request holds them (the form asks them there alone)."""
    if not turn.ctx.requests:
        return (CANCEL,)
    access = any(view.kind == Kind.ACCESS for view in turn.ctx.requests)
    fields = ("name", "id_number", "contact") if access else ("contact",)
    return (*(FIELD_OPTIONS[name] for name in fields), CANCEL)


def correct_question(turn: Turn) -> str:
    if not turn.ctx.requests:
        return turn.t(N_("You have not sent any request, so Bab holds no name, card number or contact of yours. "
                         "There is nothing to correct."))
    return turn.t(N_("Which detail would you like to correct? The new one replaces the old one on your requests, "
                     "and the collectivity of each open request is told."))


def on_field(turn: Turn, option: Option) -> bool:
    if option.id == "cancel":
        turn.go("home", remember=False)
    else:
        turn.go("value", scratch={"field": option.id})
    return True


@dataclass(frozen=True, slots=True)
class CorrectValue:
    """Asks the new value of the field chosen, checks it as the request form does, then corrects it."""

    id: str = "value"

    def field(self, turn: Turn) -> str:
        found = str(turn.state.scratch.get("field", ""))
        return found if found in FIELD_QUESTIONS else "contact"

    def prompt(self, turn: Turn) -> None:
        turn.say_text(turn.t(FIELD_QUESTIONS[self.field(turn)]), option_rows(turn, (CANCEL,)), with_version=True)

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        if inbound.kind not in (InboundKind.TEXT, InboundKind.CHOICE):
            wrong_kind(turn, inbound, expects_choice=False)
            return
        if match_option(turn, (CANCEL,), inbound) is not None:
            turn.go("home", remember=False)
            return
        if inbound.kind is InboundKind.CHOICE:
            turn.stale()
            return
        field = self.field(turn)
        try:
            value = CHECKS[field](inbound.text)
        except Invalid as invalid:
            turn.error(invalid.message, **invalid.params)
            return
        # The value goes into the effect only: the conversation state keeps no copy of it.
        turn.effects.append(CorrectDetail(field=field, value=value, locale=turn.t.locale))
        turn.go("home", remember=False)


def consent_options(turn: Turn) -> tuple[Option, ...]:
    """Each optional detail: to object to it, or, once objected to, to allow it again."""
    return (*(ALLOW_OPTIONS[option.id] if option.id in turn.ctx.objections else option
              for option in CONSENT_OPTIONS), CANCEL)


def consent_home_question(turn: Turn) -> str:
    t = turn.t
    lines = [t(N_("Which optional detail should be erased from your requests? Your requests stay as they are "
                  "otherwise."))]
    if turn.ctx.objections:
        lines.append(t(N_("Bab no longer asks you for: {what}. You can allow it again below."),
                       what=", ".join(t(CONSENT_WHAT[what]) for what in OBJECTIONS if what in turn.ctx.objections)))
    return "\n\n".join(lines)


def on_consent(turn: Turn, option: Option) -> bool:
    if option.id == "cancel":
        turn.go("home", remember=False)
    elif option.id.startswith("allow_") and option.id[6:] in OBJECTIONS:
        turn.effects.append(WithdrawConsent(what=option.id[6:], locale=turn.t.locale, restore=True))
        turn.go("home", remember=False)
    else:
        turn.go("consent_confirm", scratch={"what": option.id})
    return True


def consent_question(turn: Turn) -> str:
    what = str(turn.state.scratch.get("what", ""))
    return turn.t(N_("Erase {what} from all your requests, and no longer be asked for it? The collectivity of each "
                     "open request concerned is told. You will still get the answers here in the chat."),
                  what=turn.t(CONSENT_WHAT.get(what, "")))


def on_consent_confirm(turn: Turn, option: Option) -> bool:
    what = str(turn.state.scratch.get("what", ""))
    if option.id == "yes" and what in CONSENT_WHAT:
        turn.effects.append(WithdrawConsent(what=what, locale=turn.t.locale))
    turn.go("home", remember=False)
    return True


def forget_question(turn: Turn) -> str:
    t = turn.t
    lines = [t(N_(
        "Erase what Bab holds about you? Here is what happens:\n"
        "• Erased: your name, card number and contact, the photos and locations you sent, the texts of your "
        "messages and of your requests, and this conversation.\n"
        "• Kept, with nothing that says who you are: for each request, the collectivity, the type, the dates, the "
        "status and the legal ground of a refusal, for the public statistics.\n"
        "• It cannot be undone. If you write again, you start afresh."))]
    pending = open_requests(turn)
    if pending:
        lines.append(t(N_("Your requests still open: {references}. Withdraw them (the collectivity is told that no "
                          "answer is needed), or keep them open: the collectivity then keeps what you asked, and "
                          "answers you here."), references=", ".join(view.reference for view in pending)))
    return "\n\n".join(lines)


def forget_options(turn: Turn) -> tuple[Option, ...]:
    if open_requests(turn):
        return FORGET_WITHDRAW, FORGET_KEEP, FORGET_NOTHING
    return FORGET_ALL, FORGET_NOTHING


def on_forget(turn: Turn, option: Option) -> bool:
    if option.id == "no":
        turn.say(N_("Nothing was erased."))
        turn.go("menu:main", remember=False)
        return True
    turn.effects.append(Forget(open_requests="withdraw" if option.id == "withdraw" else "keep",
                               locale=turn.t.locale))
    # A clean state: nothing of the old conversation (answers, history, drafts) survives the turn.
    turn.state.answers, turn.state.scratch, turn.state.history = {}, {}, []
    turn.go("menu:main", remember=False)
    return True


register(Flow(id="privacy", start="home", steps={
    "home": Choose(id="home", question=N_("What would you like to do with your data?"), options=HOME_OPTIONS,
                   on_choose=on_home),
    "correct": Choose(id="correct", question=correct_question, options=field_options, on_choose=on_field),
    "value": CorrectValue(),
    "consent": Choose(id="consent", question=consent_home_question, options=consent_options,
                      on_choose=on_consent),
    "consent_confirm": Choose(id="consent_confirm", question=consent_question, options=(YES_ERASE, KEEP_IT),
                              on_choose=on_consent_confirm),
    "forget": Choose(id="forget", question=forget_question, options=forget_options, on_choose=on_forget),
}))
