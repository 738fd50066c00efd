"""The request lifecycle as an explicit transition table, and the legal lists a clerk chooses from. Pure.

Access requests (law 31-13) and complaints to the head of a collectivity may be clarified, extended (access
only), answered in full or in part, refused or transferred; complaints, observations and suggestions (decree
2-17-265) follow acknowledged → in progress → answered → closed. Every change is logged by the service with
its actor; actions that do not change the status (a note, an assignment) are allowed on any open request.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.requests import Kind, Status


class Action(StrEnum):
    OPEN = "open"  # a staff member opened it for the first time: acknowledged
    TAKE = "take"  # a clerk takes it: in progress
    ASK_CLARIFICATION = "clarify"
    CLARIFIED = "clarified"  # the citizen answered the clarification
    EXTEND = "extend"
    ANSWER = "answer"
    ANSWER_PARTIALLY = "answer_partially"
    REFUSE = "refuse"
    TRANSFER = "transfer"
    WITHDRAW = "withdraw"
    CLOSE = "close"  # the citizen rated the answer as satisfying, or staff closed it


class InvalidTransition(Exception):
    """The action is not allowed on a request of this kind in this status."""


S = Status
_HANDLING = (S.SUBMITTED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.CLARIFICATION, S.EXTENDED, S.TRANSFERRED)
_DECISIONS = {Action.ANSWER: S.ANSWERED, Action.ANSWER_PARTIALLY: S.PARTIALLY_ANSWERED, Action.REFUSE: S.REFUSED}


def _access_table(extendable: bool, transferable: bool) -> dict[tuple[Status, Action], Status]:
    table: dict[tuple[Status, Action], Status] = {}
    for status in _HANDLING:
        table[(status, Action.WITHDRAW)] = S.WITHDRAWN
        table[(status, Action.ASK_CLARIFICATION)] = S.CLARIFICATION
        for action, target in _DECISIONS.items():
            table[(status, action)] = target
        if transferable:
            table[(status, Action.TRANSFER)] = S.TRANSFERRED
        if extendable and status is not S.EXTENDED:
            table[(status, Action.EXTEND)] = S.EXTENDED
    for status in (S.SUBMITTED, S.TRANSFERRED):
        table[(status, Action.OPEN)] = S.ACKNOWLEDGED
    for status in (S.SUBMITTED, S.ACKNOWLEDGED, S.TRANSFERRED, S.EXTENDED):
        table[(status, Action.TAKE)] = S.IN_PROGRESS
    table[(S.CLARIFICATION, Action.CLARIFIED)] = S.IN_PROGRESS
    for status in (S.ANSWERED, S.PARTIALLY_ANSWERED, S.REFUSED):
        table[(status, Action.CLOSE)] = S.CLOSED
    return table


def _decree_table() -> dict[tuple[Status, Action], Status]:
    table: dict[tuple[Status, Action], Status] = {}
    for status in (S.SUBMITTED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.TRANSFERRED):
        table[(status, Action.WITHDRAW)] = S.WITHDRAWN
        table[(status, Action.ANSWER)] = S.ANSWERED
        table[(status, Action.TRANSFER)] = S.TRANSFERRED
    for status in (S.SUBMITTED, S.TRANSFERRED):
        table[(status, Action.OPEN)] = S.ACKNOWLEDGED
    for status in (S.SUBMITTED, S.ACKNOWLEDGED, S.TRANSFERRED):
        table[(status, Action.TAKE)] = S.IN_PROGRESS
    table[(S.ANSWERED, Action.CLOSE)] = S.CLOSED
    return table


TRANSITIONS: dict[str, dict[tuple[Status, Action], Status]] = {
    Kind.ACCESS: _access_table(extendable=True, transferable=True),
    Kind.HEAD_COMPLAINT: _access_table(extendable=False, transferable=False),
    **{kind: _decree_table() for kind in (Kind.COMPLAINT, Kind.OBSERVATION, Kind.SUGGESTION)},
}


def next_status(kind: str, status: str, action: Action) -> Status:
    """The status after `action`, or InvalidTransition when the table does not allow it."""
    target = TRANSITIONS.get(kind, {}).get((Status(status), action))
    if target is None:
        raise InvalidTransition(f"{action.value} not allowed on a {kind} that is {status}")
    return target


def allowed(kind: str, status: str) -> frozenset[Action]:
    """The actions the table allows on a request of this kind and status."""
    return frozenset(action for (from_status, action) in TRANSITIONS.get(kind, {}) if from_status == status)


# Grounds on which a request may be declined (cdai.ma FAQ; see law.md §1.4). Stable ids; labels live in flows.
REFUSAL_GROUNDS = (
    "not_available",
    "article_7",
    "already_published",
    "already_received",
    "unclear",
    "in_preparation",
    "archived",
)
# The exceptions of article 7 (law.md §1.4; the full list is unverified there).
ARTICLE_7_EXCEPTIONS = (
    "defence_security",
    "private_life",
    "rights_freedoms_sources",
    "foreign_economic_ip",
    "government_deliberations",
    "investigations_proceedings",
    "competition",
)
# Reasons that allow extending the deadline by 20 working days (mediateur.ma; law.md §1.4).
EXTENSION_REASONS = ("not_in_time", "large_volume", "cannot_supply", "third_party")
# What a citizen can say of an answer.
RATINGS = ("answered", "partly", "not_answered")
