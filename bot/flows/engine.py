"""The conversation engine: `advance(state, inbound, ctx)` applies one inbound message to a state.

Deterministic and synchronous: no clock, no network, no database. It returns the new state and the effects
(messages to send, requests to file) in order; `bot.services.conversations` persists and executes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rapidfuzz import fuzz

from bot.domain.deadlines import RULES, Rule
from bot.domain.directory import Directory
from bot.domain.language import detect_language
from bot.domain.privacy_facts import PrivacyFacts
from bot.domain.text import normalise
from bot.domain.validation import MAX_MESSAGE_CHARS, Invalid, clean_text
from bot.flows.desk_views import DeskData
from bot.flows.spec import (
    Effect,
    Forget,
    Inbound,
    InboundKind,
    Option,
    Outbound,
    Profile,
    RequestView,
    Send,
    SetLocale,
    State,
)
from bot.i18n import (
    LOCALE_INFO,
    LOCALES,
    N_,
    PREVIEW_LOCALES,
    Translator,
    keywords,
    locale_for,
    locale_for_hint,
    translator,
)

GLOBAL_COMMANDS = ("menu", "back", "cancel", "help", "lang", "mydata", "forget")
STAFF_COMMANDS = ("inbox", "overdue", "stats", "calendar", "audit")  # only for linked staff; citizens' text goes to their step
SLASH_ALIASES = {"start": "menu"}


@dataclass(frozen=True, slots=True)
class Context:
    """Read-only facts the service prepares for one turn."""

    directory: Directory
    default_locale: str = "ary"
    requests: tuple[RequestView, ...] = ()
    profile: Profile | None = None
    staff_role: str | None = None  # the role of a linked, active staff member
    rules: Mapping[str, Rule] = field(default_factory=lambda: RULES)  # the deadline rules in force, for the texts
    desk: DeskData | None = None  # for a linked staff member: what the desk's steps decide from
    privacy: PrivacyFacts = field(default_factory=PrivacyFacts)  # retention and CNDP receipt, for the notices
    objections: frozenset[str] = frozenset()  # optional data the citizen objected to: the forms do not ask it


@dataclass(slots=True)
class Turn:
    """The work in progress while one inbound message is handled."""

    state: State
    ctx: Context
    effects: list[Effect] = field(default_factory=list)

    @property
    def t(self) -> Translator:
        return translator(self.state.locale or self.ctx.default_locale)

    def say(self, message: str, **params: object) -> None:
        """Send a message without buttons."""
        self.say_text(self.t(message, **params))

    def say_text(self, text: str, options: tuple[tuple[str, str], ...] = (), with_version: bool = False) -> None:
        """Send already translated text, optionally with buttons bound to the current state version."""
        version = self.state.version if (options or with_version) else None
        self.effects.append(Send(Outbound(text=text, locale=self.t.locale, options=options, version=version)))

    def label(self, option: Option) -> str:
        """The option's label in the user's words."""
        return option.label if option.literal else self.t(option.label)

    def prompt(self) -> None:
        """(Re-)ask the current step's question."""
        step = current_step(self.state)
        if step is not None:
            step.prompt(self)

    def error(self, message: str, **params: object) -> None:
        """Explain what went wrong and ask the same question again; the state does not move."""
        self.say(message, **params)
        self.prompt()

    def stale(self) -> None:
        """Answer a button that is not on the current question (an old message, or a forged id)."""
        self.error(N_("That button belongs to an earlier question. Here is where we are now:"))

    def go(self, target: str, remember: bool = True, scratch: Mapping[str, Any] | None = None) -> None:
        """Move to `target` ('step' in this flow or 'flow:step') with `scratch` added, and ask its question."""
        flow = target.rpartition(":")[0] or self.state.flow or "menu"
        return_to = self.state.scratch.pop("return_to", None)
        if return_to and flow == self.state.flow:
            target = str(return_to)
        move(self.state, target, remember=remember, scratch=scratch)
        self.prompt()

    def ask_again(self) -> None:
        """Ask the current step's question again under a new version, so the earlier buttons go stale."""
        renew(self.state)
        self.prompt()

    def set_locale(self, locale: str) -> None:
        """Switch the conversation language and remember it for notices."""
        self.state.locale = locale
        self.state.locale_confirmed = True
        self.effects.append(SetLocale(locale))


def move(state: State, target: str, *, remember: bool = True, history: list[str] | None = None,
         scratch: Mapping[str, Any] | None = None, fresh: bool = False) -> None:
    """Point `state` at `target` ('step' in its flow or 'flow:step') under a new version: the one way to navigate."""
    flow, _, step = target.rpartition(":")
    flow = flow or state.flow or "menu"
    if flow != state.flow or fresh:  # a flow starts with nothing of another's history and scratch
        state.history = []
        state.scratch = {}
        if flow != state.flow and flow != "menu":
            state.answers = {}
    elif remember and state.step:
        state.history.append(state.step)
    if history is not None:
        state.history = list(history)
    state.scratch.update(scratch or {})
    state.flow, state.step = flow, step
    renew(state)


def renew(state: State) -> None:
    """Give `state` a new version without moving it: buttons sent before now are stale."""
    state.version += 1


class Step(Protocol):
    @property
    def id(self) -> str: ...

    def prompt(self, turn: Turn) -> None: ...

    def handle(self, turn: Turn, inbound: Inbound) -> None: ...


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    start: str
    steps: Mapping[str, Step]


FLOWS: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    """Add a flow to the registry the engine dispatches on."""
    FLOWS[flow.id] = flow
    return flow


def current_step(state: State) -> Step | None:
    """The step the state points at, or None when it points nowhere known (e.g. after a flow was removed)."""
    flow = FLOWS.get(state.flow or "")
    return flow.steps.get(state.step or "") if flow else None


def match_option(turn: Turn, options: tuple[Option, ...], inbound: Inbound) -> Option | None:
    """The option a button press or typed text designates: its id, its number, its label, yes/no words."""
    if inbound.kind is InboundKind.CHOICE:
        return next((option for option in options if option.id == inbound.choice_id), None)
    text = normalise(inbound.text)
    if not text:
        return None
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    for option in options:
        if text == normalise(turn.label(option)) or inbound.text.strip() == option.id:
            return option
    for word in ("yes", "no"):
        if text in keywords(word):
            found = next((option for option in options if option.id == word), None)
            if found:
                return found
    best, best_score = None, 0.0
    for option in options:
        score = fuzz.ratio(text, normalise(turn.label(option)))
        if score > best_score:
            best, best_score = option, score
    return best if best_score >= 85 else None


def global_command(text: str, staff: bool = False) -> str | None:
    """The global command ('menu', 'back', … and for staff 'inbox', 'overdue', 'stats') a message asks for."""
    names = GLOBAL_COMMANDS + STAFF_COMMANDS if staff else GLOBAL_COMMANDS
    word = normalise(text)
    if word.startswith("/"):
        word = word[1:].split(" ", 1)[0].split("@", 1)[0]
        word = SLASH_ALIASES.get(word, word)
        return word if word in names else None
    if not word or len(word) > 30:
        return None
    return next((name for name in names if word in keywords(name)), None)


# Handlers for 'go:<name>:<args>' buttons: notices sent outside the conversation (an answer arrived, a deadline
# passed) carry them, so they work from any state and any version; each handler re-checks what it may do.
GoHandler = Callable[["Turn", list[str]], None]
GO_HANDLERS: dict[str, GoHandler] = {}


def on_go(name: str) -> Callable[[GoHandler], GoHandler]:
    """Register the handler of 'go:<name>:…' buttons."""

    def register_handler(handler: GoHandler) -> GoHandler:
        GO_HANDLERS[name] = handler
        return handler

    return register_handler


def run_go(turn: Turn, choice_id: str) -> None:
    """Carry out a 'go:' button; an unknown one is answered as a stale button. A form in progress that the
    button leads away from is suspended, not dropped: the menu then offers to go on with it."""
    _, name, *args = choice_id.split(":")
    handler = GO_HANDLERS.get(name)
    if handler is None:
        turn.stale()
        return
    draft = draft_of(turn.state)
    if draft is not None:  # before the handler runs: the menu it may show offers to continue the form
        suspend(turn.state, draft)
    handler(turn, args)
    if draft is not None and draft_of(turn.state) == draft and turn.state.suspended[-1:] == [draft]:
        turn.state.suspended.pop()  # the button left the form where it was: nothing to continue later


# Forms whose answers a notice's button must not drop: flow id → msgid of the line the menu shows while the form
# waits ("Your request for information is not sent yet…"), registered in bot/flows/menu.py.
DRAFTS: dict[str, str] = {}
SUSPENDED_MAX = 3  # forms kept at once; a fourth drops the oldest (a notice inside a notice inside a notice…)


def draft_of(state: State) -> dict[str, Any] | None:
    """The form in progress `state` holds (its place and answers), or None when nothing typed would be lost."""
    if state.flow == "lang":  # the language chooser holds the form it interrupted (`run_global`'s "saved")
        saved = state.scratch.get("saved") or {}
        return dict(saved) if saved.get("flow") in DRAFTS and saved.get("answers") else None
    if state.flow not in DRAFTS or not state.answers:
        return None
    return {"flow": state.flow, "step": state.step, "answers": dict(state.answers),
            "scratch": dict(state.scratch), "history": list(state.history)}


def suspend(state: State, draft: dict[str, Any]) -> None:
    """Keep `draft` for later, newest last, at most SUSPENDED_MAX of them."""
    state.suspended = [*state.suspended, draft][-SUSPENDED_MAX:]


def resume_draft(turn: Turn) -> bool:
    """Go back to the newest suspended form, where it was, and ask its question again; False when none waits."""
    state = turn.state
    while state.suspended:
        draft = state.suspended.pop()
        flow, step = draft.get("flow"), draft.get("step")
        if flow not in FLOWS or step not in FLOWS[str(flow)].steps:  # a flow changed since: nothing to go back to
            continue
        state.flow, state.step = str(flow), str(step)
        state.answers = dict(draft.get("answers") or {})
        state.scratch = dict(draft.get("scratch") or {})
        state.history = list(draft.get("history") or [])
        renew(state)
        turn.say(N_("Let us go on where we were."))
        turn.prompt()
        return True
    return False


def first_locale(inbound: Inbound, default: str) -> str:
    """The language to greet in: what the text looks like (in its script: Arabizi gets `ary_Latn`), else the
    channel's hint, else the default."""
    hinted = locale_for_hint(inbound.locale_hint, default)
    if inbound.kind is InboundKind.TEXT:
        detection = detect_language(inbound.text)
        detected = locale_for(detection.locale, detection.script)
        if detected in LOCALES:
            return detected
        command = inbound.text.lstrip().startswith("/")  # "/start" is the app's word, not the citizen's
        if detection.script == "latn" and not command and LOCALE_INFO[hinted].script != "latn":
            # Latin letters with no French cue are Darija in Latin letters in a Moroccan chat (language.md §2.2):
            # the hinted language in its Latin-script catalogue, when there is one.
            latin = locale_for(LOCALE_INFO[hinted].language, "latn")
            if latin in LOCALES:
                return latin
    return hinted


def follow_language(turn: Turn, text: str) -> None:
    """Answer in the language and script the citizen writes, until they choose one: at the menu, a confident
    detection on a message of three words or more switches; short answers ("ok", "wakha", "لا", "1"), ties, answers
    inside a flow and staff messages never do."""
    if (turn.state.locale_confirmed or turn.ctx.staff_role is not None or turn.state.flow not in (None, "menu")
            or len(normalise(text).split()) < 3):
        return
    detection = detect_language(text)
    detected = locale_for(detection.locale, detection.script) if detection.confident else None
    if detected in LOCALES and detected != turn.state.locale:
        turn.state.locale = detected
        turn.effects.append(SetLocale(detected))


# Said in a language Bab recognises but does not speak yet (a "preview" catalogue, Tamazight for now): the
# preview catalogue's own words, then the choice of the languages Bab speaks.
PREVIEW_GREETING = N_("Hello! Bab does not speak your language fully yet: it is coming soon. Meanwhile, please "
                      "choose one of the languages below.")


def preview_locale(text: str) -> str | None:
    """The preview locale (e.g. `zgh`) a message is written in, when Bab only greets that language."""
    detection = detect_language(text)
    found = locale_for(detection.locale, detection.script)
    return found if found in PREVIEW_LOCALES else None


def greet_preview(turn: Turn, locale: str) -> None:
    """Greet in the preview language (its catalogue's words), then offer the languages Bab speaks."""
    turn.effects.append(Send(Outbound(text=translator(locale)(PREVIEW_GREETING), locale=locale)))
    run_global(turn, "lang")


# What free text at a point with no pending question can start ("3ndi chikaya 3la zbel", "aide"): registered by
# bot/flows/understanding.py; it returns True when it answered the message.
FreeText = Callable[["Turn", str], bool]
FREE_TEXT: list[FreeText] = []


def free_text(turn: Turn, text: str) -> bool:
    """Let the registered reader act on a free message; False when nothing was understood."""
    return any(reader(turn, text) for reader in FREE_TEXT)


def advance(state: State, inbound: Inbound, ctx: Context) -> tuple[State, list[Effect]]:
    """Apply one inbound message; return the new state and the effects to carry out, in order."""
    turn = Turn(state=State.from_json(state.to_json()), ctx=ctx)
    if inbound.kind is InboundKind.TEXT:
        inbound = Inbound(kind=InboundKind.TEXT, text=clean_text(inbound.text)[: MAX_MESSAGE_CHARS + 1],
                          locale_hint=inbound.locale_hint)
    if turn.state.locale is None:
        turn.state.locale = first_locale(inbound, ctx.default_locale)
    step = current_step(turn.state)
    if step is None:
        turn.state.flow, turn.state.step = "menu", "main"
        renew(turn.state)
        preview = preview_locale(inbound.text) if inbound.kind is InboundKind.TEXT else None
        if preview is not None:
            greet_preview(turn, preview)
            return turn.state, turn.effects
        turn.say(N_("Salam! I am Bab, the door to your collectivity. I can send a request for information "
                    "(law 31-13) or a complaint, observation or suggestion (decree 2-17-265) to your commune, "
                    "province or region, and follow it up with you."))
        if not (inbound.kind is InboundKind.TEXT and free_text(turn, inbound.text)):
            turn.prompt()
        return turn.state, turn.effects
    if inbound.kind is InboundKind.TEXT:
        if not inbound.text:
            turn.error(N_("I received an empty message. Please write your answer, or tap one of the buttons."))
            return turn.state, turn.effects
        if len(inbound.text) > MAX_MESSAGE_CHARS:
            turn.error(N_("Your message is too long: I can read up to {count} characters at a time."),
                       count=MAX_MESSAGE_CHARS)
            return turn.state, turn.effects
        follow_language(turn, inbound.text)
        command = global_command(inbound.text, staff=ctx.staff_role is not None)
        if command is not None:
            run_global(turn, command)
            return turn.state, turn.effects
    if inbound.kind is InboundKind.EDITED:
        turn.error(N_("I do not read changes to a message already sent. Please send it again as a new message."))
        return turn.state, turn.effects
    if inbound.kind is InboundKind.CHOICE and (inbound.choice_id or "").startswith("go:"):
        run_go(turn, inbound.choice_id or "")
        return turn.state, turn.effects
    if inbound.kind is InboundKind.CHOICE and inbound.version != turn.state.version:
        turn.stale()
        return turn.state, turn.effects
    step.handle(turn, inbound)
    if any(isinstance(effect, Forget) for effect in turn.effects):
        turn.state.suspended = []  # erasing the person's data erases the forms they left too (law 09-08)
    return turn.state, turn.effects


# Global commands a flow carries out itself ("mydata", "forget": bot/flows/privacy.py), registered on import.
FLOW_COMMANDS: dict[str, Callable[[Turn], None]] = {}


def run_global(turn: Turn, command: str) -> None:
    """Carry out menu, back, cancel, help or lang from anywhere."""
    state = turn.state
    if command == "menu":
        turn.go("menu:main", remember=False)
    elif command == "cancel":
        if state.flow not in (None, "menu"):
            turn.say(N_("Cancelled. Nothing was sent."))
        elif state.suspended:  # at the menu, cancel drops the form it offers to continue
            state.suspended.pop()
            turn.say(N_("Cancelled. Nothing was sent."))
        turn.go("menu:main", remember=False)
    elif command == "back":
        if state.history:
            state.scratch.pop("return_to", None)
            move(state, state.history.pop(), remember=False)
            turn.prompt()
        else:
            turn.go("menu:main", remember=False)
    elif command == "help":
        turn.say(N_("You can type or tap at any time:\n• menu: back to the main menu\n• back: the previous question\n"
                    "• cancel: drop what we are doing (nothing is sent)\n• language: change the language\n"
                    "• my data: see, correct or erase what Bab keeps about you\n"
                    "Your answers are kept until you confirm, so you can come back later."))
        turn.prompt()
    elif command in FLOW_COMMANDS:
        FLOW_COMMANDS[command](turn)
    elif command in STAFF_COMMANDS:
        turn.go(f"desk:{'list' if command == 'inbox' else command}", remember=False)
    elif command == "lang":
        if state.flow == "lang":
            turn.prompt()
            return
        saved = {"flow": state.flow, "step": state.step, "answers": dict(state.answers),
                 "scratch": dict(state.scratch), "history": list(state.history)}
        turn.go("lang:choose", remember=False)
        state.scratch = {"saved": saved}


def resume_saved(turn: Turn) -> None:
    """Go back to where the user was before `lang`, and ask that question again in the new language."""
    state = turn.state
    saved = state.scratch.get("saved") or {}
    state.flow = saved.get("flow") or "menu"
    state.step = saved.get("step") or "main"
    state.answers = dict(saved.get("answers") or {})
    state.scratch = dict(saved.get("scratch") or {})
    state.history = list(saved.get("history") or [])
    renew(state)
    if current_step(state) is None:
        state.flow, state.step = "menu", "main"
    turn.prompt()


def option_rows(turn: Turn, options: tuple[Option, ...]) -> tuple[tuple[str, str], ...]:
    """Options as (id, label) pairs in the user's words."""
    return tuple((option.id, turn.label(option)) for option in options)


Next = str | Callable[[Turn], str]


def resolve(target: Next, turn: Turn) -> str:
    """A step target, computed from the turn when it is a function."""
    return target(turn) if callable(target) else target


def wrong_kind(turn: Turn, inbound: Inbound, expects_choice: bool) -> None:
    """Answer a photo, location or sticker sent where the step wants something else."""
    if inbound.kind in (InboundKind.PHOTO, InboundKind.DOCUMENT):
        turn.error(N_("Thank you, but I cannot use a file at this step.")
                   if not expects_choice else N_("Please choose one of the options below."))
    elif inbound.kind is InboundKind.LOCATION:
        turn.error(N_("I cannot use a location at this step."))
    else:
        turn.error(N_("I can only read text messages and button presses here."))


@dataclass(frozen=True, slots=True)
class Choose:
    """Ask the user to pick one option; save its id; go where the option (or `next`) says."""

    id: str
    question: str | Callable[[Turn], str]
    options: tuple[Option, ...] | Callable[[Turn], tuple[Option, ...]]
    next: Next = ""
    save: str | None = None
    on_choose: Callable[[Turn, Option], bool] | None = None  # returns True when it moved the conversation itself
    on_text: Callable[[Turn, str], bool] | None = None  # typed text no option matches; True when it answered it

    def current_options(self, turn: Turn) -> tuple[Option, ...]:
        return self.options(turn) if callable(self.options) else self.options

    def prompt(self, turn: Turn) -> None:
        text = self.question(turn) if callable(self.question) else turn.t(self.question)
        turn.say_text(text, option_rows(turn, self.current_options(turn)))

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        if inbound.kind not in (InboundKind.TEXT, InboundKind.CHOICE):
            wrong_kind(turn, inbound, expects_choice=True)
            return
        options = self.current_options(turn)
        option = match_option(turn, options, inbound)
        if option is None:
            if inbound.kind is InboundKind.CHOICE:
                turn.stale()
            elif self.on_text is not None and self.on_text(turn, inbound.text):
                return
            else:
                turn.error(N_("Sorry, I did not understand. Please choose one of the options below "
                              "(you can also type its number)."))
            return
        if self.save:
            turn.state.answers[self.save] = option.id
        if self.on_choose and self.on_choose(turn, option):
            return
        turn.go(resolve(self.next, turn))


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask for free text (or a file or location when `accepts` says so), check it, save it, move on."""

    id: str
    question: str
    save: str
    next: Next
    check: Callable[[str, Turn], object] = lambda text, turn: text
    skip: Option | None = None  # a button that moves on without an answer
    accepts: frozenset[InboundKind] = frozenset({InboundKind.TEXT})

    def prompt(self, turn: Turn) -> None:
        buttons = (self.skip,) if self.skip else ()
        turn.say_text(turn.t(self.question), option_rows(turn, buttons), with_version=True)

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        if inbound.kind is InboundKind.CHOICE or (inbound.kind is InboundKind.TEXT and self.skip):
            if self.skip and match_option(turn, (self.skip,), inbound) is not None:
                turn.state.answers.pop(self.save, None)
                turn.go(resolve(self.next, turn))
                return
            if inbound.kind is InboundKind.CHOICE:
                turn.stale()
                return
        if inbound.kind not in self.accepts:
            wrong_kind(turn, inbound, expects_choice=False)
            return
        if inbound.kind is InboundKind.PHOTO:
            if inbound.attachment_id is None:  # the adapter could not keep the file
                wrong_kind(turn, inbound, expects_choice=False)
                return
            turn.state.answers[self.save] = {"attachment_id": inbound.attachment_id}
        elif inbound.kind is InboundKind.LOCATION:
            turn.state.answers[self.save] = {"lat": inbound.lat, "lon": inbound.lon}
        else:
            try:
                turn.state.answers[self.save] = self.check(inbound.text, turn)
            except Invalid as invalid:
                turn.error(invalid.message, **invalid.params)
                return
        turn.go(resolve(self.next, turn))
