"""The vocabulary of conversations: what comes in, what goes out, the state kept between messages, and effects.

Pure value types; flows and the engine build on them, services persist and execute them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the database."""
        return {
            "flow": self.flow,
            "step": self.step,
            "answers": dict(self.answers),
            "scratch": dict(self.scratch),
            "history": list(self.history),
            "locale": self.locale,
            "locale_confirmed": self.locale_confirmed,
            "version": self.version,
        }

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
    """Render the staff desk's current step (its data lives in the database, so the service renders it)."""


@dataclass(frozen=True, slots=True)
class DeskInput:
    """A staff member's message to the desk's current step, for the service to act on."""

    inbound: Inbound


Effect = Send | Submit | Withdraw | SetLocale | Reply | Rate | Explain | DeskShow | DeskInput
