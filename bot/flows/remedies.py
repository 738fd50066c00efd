"""The follow-up buttons a citizen gets on notices and in 'My requests'; 'go:' ids work from any state."""

from __future__ import annotations

from bot.domain.lifecycle import RATINGS
from bot.flows.spec import Option, RequestView
from bot.i18n import N_

# Why a complaint to the head is refused: shared by the flow and by the service's server-side re-check.
COMPLAINT_NOT_OPEN = N_("A complaint to the head of the collectivity is not possible for {reference}: it is open "
                        "when the answer is late, refused or incomplete, for {delay}, and once per request.")
NOT_AWAITING_REPLY = N_("Request {reference} is not waiting for an answer from you any more.")

RATING_LABELS = {
    "answered": N_("It answers my request"),
    "partly": N_("It answers in part"),
    "not_answered": N_("It does not answer it"),
}


def rating_options(reference: str) -> tuple[Option, ...]:
    """The three rating buttons of an answer notice (they work from any state)."""
    return tuple(Option(f"go:rate:{reference}:{rating}", RATING_LABELS[rating]) for rating in RATINGS)


def complain_option(reference: str) -> Option:
    return Option(f"go:complain:{reference}", N_("Complain to the head of the collectivity"))


def cdai_option(reference: str) -> Option:
    return Option(f"go:cdai:{reference}", N_("Go to the CDAI"))


def reply_option(reference: str) -> Option:
    return Option(f"go:reply:{reference}", N_("Answer the question"))


def remedy_options(view: RequestView) -> tuple[Option, ...]:
    """The follow-up buttons 'My requests' shows for one request."""
    options: list[Option] = []
    if view.status == "clarification":
        options.append(reply_option(view.reference))
    if view.status in ("answered", "partially_answered") and view.rating is None:
        options += rating_options(view.reference)
    if view.can_complain:
        options.append(complain_option(view.reference))
    if view.can_go_to_cdai:
        options.append(cdai_option(view.reference))
    return tuple(options)
