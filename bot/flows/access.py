"""Access-to-information request (law 31-13), as the CDAI form asks it: ten taps or messages at most."""

from __future__ import annotations

from bot.domain.privacy_facts import confirmation_line
from bot.domain.requests import DELIVERY_MODES
from bot.domain.validation import (
    check_contact,
    check_free_text,
    check_id_number,
    check_name,
)
from bot.flows.confirm import confirm_handler, edit_handler, label_of
from bot.flows.delays import delays
from bot.flows.engine import Ask, Choose, Flow, Turn, register
from bot.flows.labels import DELIVERY_LABELS
from bot.flows.places import PickPlace, place_label
from bot.flows.spec import Option
from bot.i18n import N_

DELIVERY_OPTIONS = tuple(Option(mode, DELIVERY_LABELS[mode]) for mode in DELIVERY_MODES)
URGENT_OPTIONS = (Option("no", N_("No, normal request")), Option("yes", N_("Yes, it is urgent")))
CONFIRM_OPTIONS = (Option("send", N_("Send the request")), Option("edit", N_("Change something")),
                   Option("cancel", N_("Cancel")))
EDIT_OPTIONS = (
    Option("topic", N_("The information requested")),
    Option("place", N_("The collectivity")),
    Option("urgent", N_("Urgency")),
    Option("delivery", N_("How to receive it")),
    Option("name", N_("My name")),
    Option("id_number", N_("My card number")),
    Option("contact", N_("My contact")),
)
PROFILE_OPTIONS = (Option("reuse", N_("Yes, use them")), Option("new", N_("No, enter new details")))


def after_delivery(turn: Turn) -> str:
    return "profile" if turn.ctx.profile is not None else "name"


def profile_question(turn: Turn) -> str:
    profile = turn.ctx.profile
    assert profile is not None
    return turn.t(N_("Shall I use the details of your last request?\nName: {name}\nCard number: {id_number}\n"
                     "Contact: {contact}"), name=profile.name, id_number=profile.id_number, contact=profile.contact)


def on_profile(turn: Turn, option: Option) -> bool:
    profile = turn.ctx.profile
    if option.id == "reuse" and profile is not None:
        turn.state.answers.update(name=profile.name, id_number=profile.id_number, contact=profile.contact)
        if turn.state.answers.get("delivery") == "email" and "@" not in profile.contact:
            turn.go("contact")
        else:
            turn.go("confirm")
        return True
    return False


def summary(turn: Turn) -> str:
    answers = turn.state.answers
    place = turn.ctx.directory.get(str(answers.get("place", "")))
    t = turn.t
    lines = [
        t(N_("Here is your request. Please check it:")),
        "",
        t(N_("To: {place}"), place=place_label(place, turn.ctx.directory, t) if place else "?"),
        t(N_("Information requested: {topic}"), topic=answers.get("topic", "")),
        t(N_("Urgent: {urgent}"), urgent=label_of(turn, URGENT_OPTIONS, answers.get("urgent"))),
        t(N_("Delivery: {delivery}"), delivery=label_of(turn, DELIVERY_OPTIONS, answers.get("delivery"))),
        t(N_("Name: {name}"), name=answers.get("name", "")),
        t(N_("Card number: {id_number}"), id_number=answers.get("id_number", "")),
        t(N_("Contact: {contact}"), contact=answers.get("contact", "")),
        "",
        t(N_("Personal data (law 09-08): your name, card number and contact are used only to handle this request "
             "and its follow-up, by the collectivity you address and by Bab. They are not published. You can ask "
             "to see, correct or delete them by writing here.")),
        confirmation_line(t, turn.ctx.privacy),
    ]
    return "\n".join(lines)


register(Flow(id="access", start="topic", steps={
    "topic": Ask(
        id="topic",
        question=N_("What information would you like to obtain? Describe the document or data as precisely as "
                    "you can (for example: the 2025 budget of the commune, the minutes of the last council meeting)."),
        save="topic", next="place",
        check=lambda text, turn: check_free_text(text, min_chars=10, max_chars=2000),
    ),
    "place": PickPlace(
        id="place",
        question=N_("Which collectivity holds this information? Type the name of the commune, province or region."),
        save="place", next="urgent",
    ),
    "urgent": Choose(
        id="urgent",
        question=lambda turn: turn.t(N_(
            "Is it urgent? The law asks for an answer within {urgent} only when the information is needed to protect "
            "someone's life, safety or freedom. Otherwise the delay is {access}."),
            **delays(turn.t, turn.ctx.rules, urgent="urgent", access="access")),
        options=URGENT_OPTIONS, save="urgent", next="delivery",
    ),
    "delivery": Choose(
        id="delivery", question=N_("How would you like to receive the information?"),
        options=DELIVERY_OPTIONS, save="delivery", next=after_delivery,
    ),
    "profile": Choose(id="profile", question=profile_question, options=PROFILE_OPTIONS, on_choose=on_profile,
                      next="name"),
    "name": Ask(id="name", question=N_("Your full name, as on your identity card:"), save="name",
                next="id_number", check=lambda text, turn: check_name(text)),
    "id_number": Ask(
        id="id_number",
        question=N_("Your national identity card (CNIE) number, or your residence card number if you are a "
                    "foreign resident:"),
        save="id_number", next="contact", check=lambda text, turn: check_id_number(text),
    ),
    "contact": Ask(
        id="contact",
        question=N_("Where can the administration reach you? An e-mail address, a phone number or a postal "
                    "address:"),
        save="contact", next="confirm",
        check=lambda text, turn: check_contact(text, require_email=turn.state.answers.get("delivery") == "email"),
    ),
    "confirm": Choose(id="confirm", question=summary, options=CONFIRM_OPTIONS, on_choose=confirm_handler(lambda turn: "access"),
                      next="edit"),
    "edit": Choose(id="edit", question=N_("What would you like to change?"), options=EDIT_OPTIONS,
                   on_choose=edit_handler("access")),
}))
