"""Complaint, observation or suggestion to a collectivity (decree 2-17-265).

The photo, the location and the contact are optional: what the citizen objected to (`ctx.objections`, see
bot/flows/privacy.py) is not asked, not offered in the edit menu, and dropped from a draft before it is sent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.privacy_facts import confirmation_line
from bot.domain.validation import Invalid, check_free_text, check_phone_or_email
from bot.flows.confirm import confirm_handler, edit_handler, label_of
from bot.flows.engine import Ask, Choose, Flow, Turn, option_rows, register, wrong_kind
from bot.flows.places import PickPlace, place_label
from bot.flows.spec import Inbound, InboundKind, Option
from bot.i18n import N_

KIND_OPTIONS = (
    Option("complaint", N_("A complaint")),
    Option("observation", N_("An observation")),
    Option("suggestion", N_("A suggestion")),
)
SERVICE_OPTIONS = (
    Option("lighting", N_("Public lighting")),
    Option("waste", N_("Waste and cleanliness")),
    Option("roads", N_("Roads and pavements")),
    Option("water", N_("Water and sanitation")),
    Option("markets", N_("Markets")),
    Option("parking", N_("Traffic and parking")),
    Option("civil_status", N_("Civil status")),
    Option("permits", N_("Permits and urban planning")),
    Option("other", N_("Something else")),
)
SKIP_MEDIA = Option("skip", N_("Skip"))
SKIP_CONTACT = Option("skip", N_("No, answer me here only"))
CONFIRM_OPTIONS = (Option("send", N_("Send")), Option("edit", N_("Change something")), Option("cancel", N_("Cancel")))
EDIT_OPTIONS = (
    Option("kind", N_("The type")),
    Option("place", N_("The collectivity")),
    Option("service", N_("The service concerned")),
    Option("description", N_("The description")),
    Option("media", N_("The photo or location")),
    Option("contact", N_("My contact")),
)


def said(turn: Turn, step: str) -> bool:
    """The step was answered by the citizen's first message (bot/flows/understanding.py): it is not asked."""
    return step in (turn.state.scratch.get("prefilled") or []) and step in turn.state.answers


def after_place(turn: Turn) -> str:
    if not said(turn, "service"):
        return "service"
    return after_service(turn)


def after_service(turn: Turn) -> str:
    return after_description(turn) if said(turn, "description") else "description"


def after_description(turn: Turn) -> str:
    """The media step, unless the citizen objected to both photos and locations."""
    return after_media(turn) if {"photos", "location"} <= turn.ctx.objections else "media"


def after_media(turn: Turn) -> str:
    return "confirm" if "contact" in turn.ctx.objections else "contact"


def without_objected(turn: Turn) -> None:
    """Drop from the draft what the citizen objected to (a draft may predate the objection)."""
    answers, objected = turn.state.answers, turn.ctx.objections
    if "contact" in objected:
        answers.pop("contact", None)
    media = answers.get("media")
    if isinstance(media, dict) and (("photos" in objected and "attachment_id" in media)
                                    or ("location" in objected and "lat" in media)):
        answers.pop("media", None)


def edit_options(turn: Turn) -> tuple[Option, ...]:
    """What can be changed: not what the citizen objected to."""
    hidden = {"contact"} & turn.ctx.objections
    if {"photos", "location"} <= turn.ctx.objections:
        hidden.add("media")
    return tuple(option for option in EDIT_OPTIONS if option.id not in hidden)


MEDIA_QUESTIONS = {  # by what the citizen objected to
    frozenset(): N_("You can add a photo or share the location of the problem. Otherwise tap Skip."),
    frozenset({"photos"}): N_("You can share the location of the problem. Otherwise tap Skip."),
    frozenset({"location"}): N_("You can add a photo of the problem. Otherwise tap Skip."),
}


@dataclass(frozen=True, slots=True)
class Media(Ask):
    """The optional photo or location, asking only for what the citizen did not object to."""

    def refused(self, turn: Turn) -> frozenset[InboundKind]:
        objected = turn.ctx.objections
        return frozenset({*([InboundKind.PHOTO] if "photos" in objected else []),
                          *([InboundKind.LOCATION] if "location" in objected else [])})

    def prompt(self, turn: Turn) -> None:
        question = MEDIA_QUESTIONS.get(frozenset({"photos", "location"} & turn.ctx.objections), self.question)
        buttons = (self.skip,) if self.skip else ()
        turn.say_text(turn.t(question), option_rows(turn, buttons), with_version=True)

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        if inbound.kind in self.refused(turn):
            wrong_kind(turn, inbound, expects_choice=False)
            return
        super(Media, self).handle(turn, inbound)


def on_confirm(turn: Turn, option: Option) -> bool:
    without_objected(turn)
    return send_or_cancel(turn, option)


send_or_cancel = confirm_handler(lambda turn: str(turn.state.answers.get("kind", "complaint")))


def no_text_here(text: str, turn: Turn) -> object:
    raise Invalid(N_("Send a photo or share your location, or tap Skip."))


def summary(turn: Turn) -> str:
    without_objected(turn)  # what will be sent: never what the citizen objected to
    answers = turn.state.answers
    t = turn.t
    place = turn.ctx.directory.get(str(answers.get("place", "")))
    media = answers.get("media")
    if isinstance(media, dict) and "attachment_id" in media:
        media_text = t(N_("a photo"))
    elif isinstance(media, dict) and "lat" in media:
        media_text = t(N_("a location"))
    else:
        media_text = t(N_("none"))
    lines = [
        t(N_("Here is what you will send. Please check it:")),
        "",
        t(N_("Type: {kind}"), kind=label_of(turn, KIND_OPTIONS, answers.get("kind"))),
        t(N_("To: {place}"), place=place_label(place, turn.ctx.directory, t) if place else "?"),
        t(N_("Service: {service}"), service=label_of(turn, SERVICE_OPTIONS, answers.get("service"))),
        t(N_("Description: {description}"), description=answers.get("description", "")),
        t(N_("Attached: {media}"), media=media_text),
        t(N_("Contact: {contact}"), contact=answers.get("contact") or t(N_("only here in the chat"))),
        "",
        t(N_("Personal data (law 09-08): what you send is used only to handle it and answer you, by the "
             "collectivity you address and by Bab. It is not published. You can ask to see, correct or delete it "
             "by writing here.")),
        confirmation_line(t, turn.ctx.privacy),
    ]
    return "\n".join(lines)


register(Flow(id="feedback", start="kind", steps={
    "kind": Choose(id="kind", question=N_("What would you like to send?"), options=KIND_OPTIONS, save="kind",
                   next="place"),
    "place": PickPlace(
        id="place",
        question=N_("Which commune, province or region is it about? Type its name, or share your location."),
        save="place", next=after_place,
    ),
    "service": Choose(id="service", question=N_("Which service does it concern?"), options=SERVICE_OPTIONS,
                      save="service", next=after_service),
    "description": Ask(
        id="description",
        question=N_("Describe what happened or what you propose, with the place (street, neighbourhood) and "
                    "since when:"),
        save="description", next=after_description,
        check=lambda text, turn: check_free_text(text, min_chars=10, max_chars=4000),
    ),
    "media": Media(
        id="media",
        question=N_("You can add a photo or share the location of the problem. Otherwise tap Skip."),
        save="media", next=after_media, skip=SKIP_MEDIA, check=no_text_here,
        accepts=frozenset({InboundKind.TEXT, InboundKind.PHOTO, InboundKind.LOCATION}),
    ),
    "contact": Ask(
        id="contact",
        question=N_("Would you like to leave a phone number or an e-mail address, in case the collectivity needs "
                    "to reach you? You will get the answer here in any case."),
        save="contact", next="confirm", skip=SKIP_CONTACT,
        check=lambda text, turn: check_phone_or_email(text),
    ),
    "confirm": Choose(id="confirm", question=summary, options=CONFIRM_OPTIONS, on_choose=on_confirm, next="edit"),
    "edit": Choose(id="edit", question=N_("What would you like to change?"), options=edit_options,
                   on_choose=edit_handler("feedback")),
}))
