"""The vocabulary of conversations: what comes in, what goes out, the state kept between messages, and effects.

Pure value types; flows and the engine build on them, services persist and execute them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


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


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file sent along with a message: `ref` is 'file:<name in the uploads folder>' or '<channel>:<file id>'."""

    id: int
    kind: str  # "photo" or "document"
    ref: str
    mime: str | None = None
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "ref": self.ref, "mime": self.mime, "name": self.name}


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to a user, in their words; options render as buttons or a numbered list."""

    text: str
    locale: str
    options: tuple[tuple[str, str], ...] = ()
    version: int | None = None
    files: tuple[FileRef, ...] = ()
    # A notice sent outside a conversation (an answer arrived, a deadline passed…): its kind and the facts a
    # channel needs to announce it with an approved template when it may not send free text (WhatsApp).
    notice: str | None = None
    notice_params: tuple[tuple[str, str], ...] = ()

    def to_payload(self) -> dict[str, Any]:
        """The JSON stored in the outbox (`files` only when there are some)."""
        payload: dict[str, Any] = {
            "text": self.text,
            "locale": self.locale,
            "options": [{"id": option_id, "label": label} for option_id, label in self.options],
            "version": self.version,
        }
        if self.files:
            payload["files"] = [file.to_json() for file in self.files]
        if self.notice:
            payload["notice"] = {"kind": self.notice, "params": dict(self.notice_params)}
        return payload


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


@dataclass(frozen=True, slots=True)
class RequestView:
    """What the citizen may see of one of their own requests, and which remedies are open to them."""

    reference: str
    kind: str
    status: str
    collectivity_code: str
    subject: str
    received_on: date
    due_on: date
    answered_on: date | None = None
    parent_reference: str | None = None
    rating: str | None = None
    overdue: bool = False
    can_complain: bool = False  # may complain to the head of the collectivity now (law 31-13)
    can_go_to_cdai: bool = False  # a complaint to the head failed: the CDAI is the next step


@dataclass(frozen=True, slots=True)
class Profile:
    """The requester details of the citizen's last access request, offered again to save typing."""

    name: str
    id_number: str
    contact: str


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
