"""The vocabulary of conversations: what comes in, what goes out, the state kept between messages, and effects.

Pure value types; flows and the engine build on them, services persist and execute them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

# Value types storage reads and writes too; they live in the domain so that storage needs nothing of the flows.
from bot.domain.values import FileRef as FileRef
from bot.domain.values import Outbound as Outbound
from bot.domain.values import Profile as Profile
from bot.domain.values import RequestView as RequestView


class InboundKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"  # a button press: option id + the state version it was shown for
    PHOTO = "photo"
    DOCUMENT = "document"
    LOCATION = "location"
    EDITED = "edited"  # a change to a message already sent: the conversation has moved on from it
    OTHER = "other"  # stickers, voice notes, contacts… anything we cannot use


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a citizen sent, already parsed by a channel adapter."""

    kind: InboundKind
    text: str = ""
    choice_id: str | None = None
    version: int | None = None
    lat: float | None = None
    lon: float | None = None
    attachment_id: int | None = None
    locale_hint: str | None = None  # the language the channel says the user's app is in


@dataclass(frozen=True, slots=True)
class Option:
    """A choice with a stable id; `label` is a msgid, or the text itself when `literal` (place names)."""

    id: str
    label: str
    literal: bool = False


@dataclass(slots=True)
class State:
    """Where one identity stands; JSON-serialisable, stored per identity with a version."""

    flow: str | None = None
    step: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    locale: str | None = None
    locale_confirmed: bool = False
    version: int = 0
    # Forms left for a notice's button, oldest first: each {flow, step, answers, scratch, history} (the engine's
    # `suspend` and `resume_draft`), so the citizen can go on where they were.
    suspended: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the database (`suspended` only when a form waits, so older rows read the same)."""
        data: dict[str, Any] = {
            "flow": self.flow,
            "step": self.step,
            "answers": dict(self.answers),
            "scratch": dict(self.scratch),
            "history": list(self.history),
            "locale": self.locale,
            "locale_confirmed": self.locale_confirmed,
            "version": self.version,
        }
        if self.suspended:
            data["suspended"] = [dict(draft) for draft in self.suspended]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> State:
        """Rebuild a State; unknown or missing keys fall back to a fresh conversation."""
        if not data:
            return cls()
        return cls(
            flow=data.get("flow"),
            step=data.get("step"),
            answers=dict(data.get("answers") or {}),
            scratch=dict(data.get("scratch") or {}),
            history=list(data.get("history") or []),
            locale=data.get("locale"),
            locale_confirmed=bool(data.get("locale_confirmed")),
            version=int(data.get("version") or 0),
            suspended=[dict(draft) for draft in data.get("suspended") or [] if isinstance(draft, dict)],
        )


# Effects, in the order they must happen. The service executes them inside the same transaction.
@dataclass(frozen=True, slots=True)
class Send:
    message: Outbound


@dataclass(frozen=True, slots=True)
class Submit:
    """File a request from the answers gathered by a flow; the service replies with the receipt."""

    kind: str
    answers: dict[str, Any]
    locale: str


@dataclass(frozen=True, slots=True)
class Withdraw:
    reference: str
    locale: str


@dataclass(frozen=True, slots=True)
class SetLocale:
    locale: str


@dataclass(frozen=True, slots=True)
class Reply:
    """The citizen answers a clarification the collectivity asked for."""

    reference: str
    text: str
    locale: str


@dataclass(frozen=True, slots=True)
class Rate:
    """The citizen says whether an answer answered their request (an id of `lifecycle.RATINGS`)."""

    reference: str
    rating: str
    locale: str


@dataclass(frozen=True, slots=True)
class Explain:
    """The citizen asks why their request is due on its date: the service explains the count."""

    reference: str
    locale: str


@dataclass(frozen=True, slots=True)
class DeskShow:
    """Show the staff desk's current step; the service loads the page it needs once the turn's commands ran."""


@dataclass(frozen=True, slots=True)
class DeskAct:
    """A staff action on one request, decided by the desk flow; the service re-checks the member's scope and the
    lifecycle, carries it out in the turn's transaction and says how it went."""

    action: str  # open, take, answer, clarify, extend, refuse, transfer, assign, note
    reference: str
    text: str = ""
    files: tuple[int, ...] = ()
    partial: bool = False  # answer: in part only
    reason: str = ""  # extend: an id of lifecycle.EXTENSION_REASONS
    ground: str = ""  # refuse: an id of lifecycle.REFUSAL_GROUNDS
    exception: str | None = None  # refuse on article 7: an id of lifecycle.ARTICLE_7_EXCEPTIONS
    to_code: str = ""  # transfer: the collectivity it goes to
    staff_id: int | None = None  # assign: the member it goes to


@dataclass(frozen=True, slots=True)
class DeskDenied:
    """A staff member reached for a request or a choice that is not theirs: the service writes an audit event."""

    action: str
    target: str


@dataclass(frozen=True, slots=True)
class CorrectHoliday:
    """A national coordinator confirms (`target == day`) or moves an estimated holiday, in the turn's transaction."""

    day: date
    target: date


@dataclass(frozen=True, slots=True)
class ShowMyData:
    """The citizen asks what Bab holds about them: the service says it in plain words and sends it as files."""

    locale: str


@dataclass(frozen=True, slots=True)
class CorrectDetail:
    """Change the citizen's name, card number or contact (`field`) wherever a request holds it; the collectivity
    of each open request concerned is told."""

    field: str  # "name", "id_number" or "contact"
    value: str  # already checked by the step that asked for it
    locale: str


@dataclass(frozen=True, slots=True)
class WithdrawConsent:
    """Erase an optional piece of data (`what`: "contact", "location" or "photos") from the citizen's requests and
    remember the objection; with `restore`, lift the objection instead (the forms may ask for it again)."""

    what: str
    locale: str
    restore: bool = False


@dataclass(frozen=True, slots=True)
class Forget:
    """Erase what Bab holds about the citizen but the anonymous facts of their requests; `open_requests` says
    whether those still open are withdrawn or kept ("withdraw" or "keep")."""

    open_requests: str
    locale: str


Effect = (Send | Submit | Withdraw | SetLocale | Reply | Rate | Explain | DeskShow | DeskAct | DeskDenied
          | CorrectHoliday | ShowMyData | CorrectDetail | WithdrawConsent | Forget)
