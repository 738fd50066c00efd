"""Act on what a free message asks (bot.domain.intents): start the flow it names with the details it gives.

Runs at the first message and on the main menu when the text is no option. The details fill the flow's answers
(the topic, the kind, the service, the description) and the place question gets the places named as buttons, so
everything is shown back in the summary before anything is sent. When unsure it asks one short question; every
start says what was understood with a one-tap way back to the menu. State topics get an explanation instead.
"""

from __future__ import annotations

from typing import Any

from bot.domain.competence import competence_of
from bot.domain.intents import Understanding, understand
from bot.domain.validation import Invalid, check_free_text
from bot.flows.engine import (
    FREE_TEXT,
    Choose,
    Flow,
    Turn,
    greet_preview,
    move,
    on_go,
    preview_locale,
    register,
    run_global,
)
from bot.flows.labels import KIND_LABELS
from bot.flows.mine import own_request
from bot.flows.places import local_name
from bot.flows.spec import Option
from bot.i18n import LOCALES, N_, locale_for

MENU_BUTTON = ("go:menu", N_("Main menu"))
INTENT_OPTIONS = {
    "access": Option("access", N_("Request information")),
    "feedback": Option("feedback", N_("Complaint, observation or suggestion")),
    "status": Option("status", N_("My requests")),
    "help": Option("help", N_("Help")),
    "language": Option("language", N_("Change the language")),
    "cancel": Option("cancel", N_("Main menu")),
    "mydata": Option("mydata", N_("See my data")),
    "forget": Option("forget", N_("Erase my data")),
}
BACK_TO_MENU = Option("menu", N_("Main menu"))
LEVEL_NAMES = {
    "commune": N_("the commune"),
    "province": N_("the prefecture or province"),
    "region": N_("the region"),
}
STATE_TOPICS = {
    "id_card": N_("Identity cards and passports"),
    "police": N_("Police, security and local authorities"),
    "courts": N_("Courts and justice"),
    "schools": N_("Schools and education"),
    "hospitals": N_("Hospitals and health"),
    "ministries": N_("Ministries, taxes and pensions"),
}
# The language a message names ("en français", "b darija", "بالعربية"), by a word it contains.
NAMED_LANGUAGES = (
    (("fran", "الفرنسية", "بالفرنسية", "fransawiya", "lfransawiya"), "fr"),
    (("arabe", "العربية", "بالعربية", "3arbiya", "l3arbiya", "fus7a", "الفصحى"), "ar"),
    (("darija", "الدارجة", "بالدارجة", "ddarija"), "ary"),
)


def memo(found: Understanding) -> dict[str, Any]:
    """What a pending question keeps of an understanding (JSON for the state)."""
    return {"kind": found.kind, "service": found.service, "details": found.details,
            "places": list(found.places), "suggested": suggested_code(found), "reference": found.reference,
            "topic": found.topic.topic if found.topic else None}


def suggested_code(found: Understanding) -> str | None:
    """The competent collectivity's code for the topic at the place named, if any."""
    if found.suggestion is not None and found.suggestion.collectivity is not None:
        return found.suggestion.collectivity.code
    return None


def candidates(kept: dict[str, Any]) -> list[str]:
    """The places to offer, the competent one first."""
    codes = [str(code) for code in kept.get("places") or []]
    suggested = kept.get("suggested")
    if suggested:
        codes = [str(suggested), *(code for code in codes if code != suggested)]
    return codes[:4]


def understood_line(turn: Turn, intent: str, kept: dict[str, Any]) -> None:
    """Say what was understood and why the collectivity is suggested, with a one-tap way back to the menu."""
    t = turn.t
    what = t(KIND_LABELS.get(str(kept.get("kind")), KIND_LABELS["complaint"])) if intent == "feedback" else t(
        KIND_LABELS["access"])
    lines = [t(N_("I understood: {what}. Tap Main menu if that is not what you want."), what=what)]
    suggested = turn.ctx.directory.get(str(kept.get("suggested") or ""))
    topic = kept.get("topic")
    if suggested is not None and topic:
        row = competence_of(str(topic))
        if row is not None and row.level in LEVEL_NAMES and row.law and row.article:
            lines.append(t(N_("This is a matter for {level} (organic law {law}, article {article}): I suggest "
                              "{place}."), level=t(LEVEL_NAMES[row.level]), law=row.law, article=row.article,
                           place=local_name(suggested, t)))
    turn.say_text("\n".join(lines), ((MENU_BUTTON[0], t(MENU_BUTTON[1])),))


def start(turn: Turn, intent: str, kept: dict[str, Any]) -> None:
    """Start the flow for `intent`, its answers and place choices filled from what the message said."""
    state = turn.state
    if intent == "help":
        from bot.flows.menu import say_help

        say_help(turn)
        turn.go("menu:main", remember=False)
    elif intent == "language":
        run_global(turn, "lang")
    elif intent == "cancel":
        run_global(turn, "cancel")
    elif intent in ("mydata", "forget"):  # the citizen's rights over their data (bot/flows/privacy.py)
        run_global(turn, intent)
    elif intent == "status":
        reference = kept.get("reference")
        if reference and own_request(turn, str(reference)) is not None:
            move(state, "mine:detail", remember=False)
            state.scratch["open"] = str(reference)
            turn.prompt()
        else:
            if reference:
                turn.say(N_("I find no request {reference} among yours. Check the reference."), reference=reference)
            turn.go("mine:list", remember=False)
    elif intent == "access":
        understood_line(turn, intent, kept)
        details = usable(kept.get("details"), 10, 2000)
        move(state, "access:place" if details else "access:topic", remember=False)
        if details:
            state.answers["topic"] = details
            state.scratch["candidates"] = candidates(kept)
        turn.prompt()
    elif intent == "feedback":
        understood_line(turn, intent, kept)
        move(state, "feedback:place", remember=False)
        state.answers["kind"] = str(kept.get("kind") or "complaint")
        prefilled = []
        if kept.get("service"):
            state.answers["service"] = str(kept["service"])
            prefilled.append("service")
        details = usable(kept.get("details"), 10, 4000)
        if details:
            state.answers["description"] = details
            prefilled.append("description")
        state.scratch["prefilled"] = prefilled
        if candidates(kept):
            state.scratch["candidates"] = candidates(kept)
        turn.prompt()


def usable(text: object, least: int, most: int) -> str | None:
    """The text when the step it fills would accept it, else None (the step then asks)."""
    if not isinstance(text, str):
        return None
    try:
        return check_free_text(text, min_chars=least, max_chars=most)
    except Invalid:
        return None


def named_language(text: str, script: str) -> str | None:
    """The locale a message asks for by name ("en français" -> fr, "b darija" -> Darija in the message's script)."""
    lowered = text.casefold()
    for words, language in NAMED_LANGUAGES:
        if any(word in lowered for word in words):
            found = locale_for(language, script)
            return found if found in LOCALES else None
    return None


def explain_state(turn: Turn, topic: str) -> None:
    """A State matter: say who handles it and where to ask, instead of filing a misrouted request."""
    t = turn.t
    turn.say_text(t(N_("{topic}: this is handled by the State (a ministry or its local services, the wali, governor "
                       "or caid), not by your commune, province or region, so Bab cannot send it. You can ask the "
                       "administration concerned directly, or file a request for information to it on "
                       "chafafiya.ma, the national portal of law 31-13."), topic=t(STATE_TOPICS[topic])),
                  ((MENU_BUTTON[0], t(MENU_BUTTON[1])),))


def read_free_text(turn: Turn, text: str) -> bool:
    """Understand a free message and act on it; False when it says nothing Bab can act on."""
    preview = preview_locale(text)
    if preview is not None:
        greet_preview(turn, preview)
        return True
    found = understand(text, turn.ctx.directory)
    if found.topic is not None and found.topic.state and found.intent in (None, "access", "feedback"):
        explain_state(turn, found.topic.topic)
        return True
    if found.intent is None:
        return False
    if found.intent == "language":
        chosen = named_language(text, found.detection.script)
        if chosen is not None:
            turn.set_locale(chosen)
            turn.say(N_("Alright, I will write to you in this language from now on."))
            turn.go("menu:main", remember=False)
            return True
    if not turn.state.locale_confirmed and turn.state.locale and found.intent != "language":
        # Writing what they want in this language is the choice of it: later answers (a topic in French, a name)
        # no longer move the conversation to another language.
        turn.set_locale(turn.state.locale)
    if not found.sure:
        move(turn.state, "understand:which", remember=False)
        turn.state.scratch = {"alternatives": list(found.alternatives), "kept": memo(found)}
        turn.prompt()
        return True
    start(turn, found.intent, memo(found))
    return True


def which_options(turn: Turn) -> tuple[Option, ...]:
    """The intents the message could mean, then the menu."""
    shown = [INTENT_OPTIONS[name] for name in turn.state.scratch.get("alternatives", []) if name in INTENT_OPTIONS]
    return (*shown, BACK_TO_MENU)


def on_which(turn: Turn, option: Option) -> bool:
    kept = dict(turn.state.scratch.get("kept") or {})
    if option.id == "menu":
        turn.go("menu:main", remember=False)
    else:
        start(turn, option.id, kept)
    return True


@on_go("menu")
def go_menu(turn: Turn, args: list[str]) -> None:
    """The 'Main menu' button sent with what was understood: back to the menu from anywhere."""
    turn.go("menu:main", remember=False)


register(Flow(id="understand", start="which", steps={
    "which": Choose(id="which", question=N_("Just to be sure, what would you like to do?"), options=which_options,
                    on_choose=on_which),
}))
FREE_TEXT.append(read_free_text)
