"""Value types shared by the flows and storage: a message out and its files, the citizen's view of one of their
requests, and the requester details offered again. Pure data; `bot.flows.spec` re-exports them with the rest of
the conversation vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRef:
        """The file as stored in an outbox payload."""
        return cls(id=int(data.get("id") or 0), kind=str(data.get("kind") or "document"),
                   ref=str(data.get("ref") or ""), mime=data.get("mime"), name=data.get("name"))


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
    # Set by the outbox when the message had to wait for the person to write again (ISO time it started waiting).
    waited_at: str | None = None
    # A receipt as a card for the channels that draw one (the web page): reference, code, place, dates.
    card: tuple[tuple[str, str], ...] = ()

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
        if self.waited_at:
            payload["waited_at"] = self.waited_at
        if self.card:
            payload["card"] = dict(self.card)
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Outbound:
        """The typed message the dispatcher hands a channel, from the outbox's JSON (tolerant of old rows)."""
        options = tuple((str(option.get("id") or ""), str(option.get("label") or ""))
                        for option in payload.get("options") or [] if isinstance(option, dict))
        version = payload.get("version")
        notice = payload.get("notice") if isinstance(payload.get("notice"), dict) else {}
        assert isinstance(notice, dict)
        params = notice.get("params") if isinstance(notice.get("params"), dict) else {}
        assert isinstance(params, dict)
        card = payload.get("card") if isinstance(payload.get("card"), dict) else {}
        assert isinstance(card, dict)
        return cls(text=str(payload.get("text") or ""), locale=str(payload.get("locale") or "fr"), options=options,
                   version=version if isinstance(version, int) else None,
                   files=tuple(FileRef.from_json(file) for file in payload.get("files") or []
                               if isinstance(file, dict)),
                   notice=str(notice["kind"]) if notice.get("kind") else None,
                   notice_params=tuple((str(key), str(value)) for key, value in params.items()),
                   waited_at=str(payload["waited_at"]) if payload.get("waited_at") else None,
                   card=tuple((str(key), str(value)) for key, value in card.items()))


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
