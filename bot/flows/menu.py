"""The main menu (with the one-tap language confirmation of a first conversation) and the language chooser."""

from __future__ import annotations

from bot.flows.delays import delays
from bot.flows.engine import (
    DRAFTS,
    FLOW_COMMANDS,
    FLOWS,
    Choose,
    Flow,
    Turn,
    free_text,
    register,
    resume_draft,
    resume_saved,
)
from bot.flows.spec import Option
from bot.i18n import LANGUAGE_NAMES, LOCALES, N_

MENU_OPTIONS = (
    Option("access", N_("Request information")),
    Option("feedback", N_("Complaint, observation or suggestion")),
    Option("mine", N_("My requests")),
    Option("mydata", N_("My data")),  # what the /mydata command opens (bot/flows/privacy.py)
    Option("help", N_("Help")),
)


DESK_OPTION = Option("desk", N_("Inbox (staff)"))
RESUME_OPTION = Option("resume", N_("Continue my request"))

# The citizen's forms a notice's button suspends instead of dropping, each with the line the menu shows while
# it waits (a whole sentence per form, so that each language can agree it with its noun).
DRAFTS.update({
    "access": N_("Your request for information is not sent yet: your answers are kept. Tap “Continue my "
                 "request” to finish it."),
    "feedback": N_("Your complaint, observation or suggestion is not sent yet: your answers are kept. Tap "
                   "“Continue my request” to finish it."),
    "complain": N_("Your complaint to the head of the collectivity is not sent yet: your answers are kept. Tap "
                   "“Continue my request” to finish it."),
})


def menu_options(turn: Turn) -> tuple[Option, ...]:
    """The menu (with a suspended form first and the inbox for staff), plus the other languages until the user
    has confirmed one."""
    options = (DESK_OPTION, *MENU_OPTIONS) if turn.ctx.staff_role else MENU_OPTIONS
    if turn.state.suspended:
        options = (RESUME_OPTION, *options)
    if turn.state.locale_confirmed:
        return options
    others = tuple(Option(f"lang:{locale}", LANGUAGE_NAMES[locale], literal=True)
                   for locale in LOCALES if locale != turn.state.locale)
    return (*options, *others)


def waiting_draft(turn: Turn) -> str | None:
    """The menu's line about the newest suspended form, or None when no form waits."""
    if not turn.state.suspended:
        return None
    message = DRAFTS.get(str(turn.state.suspended[-1].get("flow")))
    return turn.t(message) if message else None


def menu_question(turn: Turn) -> str:
    if turn.state.locale_confirmed:
        question = turn.t(N_("What would you like to do?"))
    else:
        question = turn.t(N_("What would you like to do? (I will go on in this language; tap another language "
                             "below if you prefer.)"))
    draft = waiting_draft(turn)
    return f"{draft}\n\n{question}" if draft else question


def on_menu(turn: Turn, option: Option) -> bool:
    if option.id.startswith("lang:"):
        turn.set_locale(option.id.partition(":")[2])
        turn.ask_again()
        return True
    if not turn.state.locale_confirmed and turn.state.locale:
        # Picking something in the proposed language is the confirmation we asked for.
        turn.set_locale(turn.state.locale)
    if option.id == "help":
        say_help(turn)
        turn.ask_again()
        return True
    if option.id == "resume":
        if not resume_draft(turn):  # the form's flow is gone (an upgrade): the menu again, without the button
            turn.ask_again()
        return True
    if option.id in FLOW_COMMANDS:  # "my data": the same as typing /mydata
        FLOW_COMMANDS[option.id](turn)
        return True
    turn.go(f"{option.id}:{FLOWS[option.id].start}", remember=False)
    return True


def say_help(turn: Turn) -> None:
    """What Bab does, the two procedures and their legal delays."""
    turn.say(N_("Bab passes your request or complaint to the competent commune, province or region, gives you a "
                    "reference and the legal date for the answer, and tells you here when the answer comes.\n\n"
                    "• Request information: law 31-13 gives you the right to documents and data held by your "
                    "collectivity. The answer is due within {access} ({urgent} when it is urgent).\n"
                    "• Complaint, observation or suggestion: decree 2-17-265. The answer is due within {feedback}.\n"
                    "• My requests: follow or withdraw what you sent.\n\n"
                    "Type menu, back, cancel or language at any time, and my data to see what Bab keeps about "
                    "you, to correct or erase it."),
             **delays(turn.t, turn.ctx.rules, access="access", urgent="urgent", feedback="feedback_answer"))


register(Flow(id="menu", start="main", steps={
    "main": Choose(id="main", question=menu_question, options=menu_options, on_choose=on_menu, on_text=free_text),
}))


def on_language(turn: Turn, option: Option) -> bool:
    turn.set_locale(option.id)
    turn.say(N_("Alright, I will write to you in this language from now on."))
    resume_saved(turn)
    return True


register(Flow(id="lang", start="choose", steps={
    "choose": Choose(
        id="choose",
        question=N_("Which language do you prefer?"),
        options=tuple(Option(locale, LANGUAGE_NAMES[locale], literal=True) for locale in LOCALES),
        on_choose=on_language,
    ),
}))
