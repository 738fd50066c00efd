"""Webhook bodies as Meta's WhatsApp Cloud API posts them, the signature header, and Meta's error catalogue.

Message builders (`text`, `button_reply`, `image`, …) return one `messages[i]` object; status builders
(`status`, `failed`) return one `statuses[i]` object. Both remember the user they concern, so `envelope(...)`
can wrap them in Meta's envelope with the right `contacts` block:

    body = dumps(envelope(text(AMINA, "salam")))
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, APP_SECRET)}

`change(...)` and `entry(...)` compose bodies holding several entries, changes and messages, as Meta batches them.

Shapes come from Meta's reference pages, cited next to each builder (developers.facebook.com/documentation/
business-messaging/whatsapp/…, revisions of 2025-12 to 2026-08), and from pywa's test data.

Licence notice: parts of this file (the shapes of the inbound message, callback, system, edit, revoke and status
fixtures, and the error codes and titles) are derived from pywa, https://github.com/david-lev/pywa
(`tests/data/updates/*.json`, `pywa/errors.py`), under this licence:

    MIT License

    Copyright (c) 2024 David Lev

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in all
    copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
    SOFTWARE.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# --- the business side ------------------------------------------------------------------------------------------

WABA_ID = "102290129340398"  # the WhatsApp Business Account id, `entry[].id`
PHONE_NUMBER_ID = "106540352242922"  # the business phone number id Bab sends from, `metadata.phone_number_id`
DISPLAY_PHONE_NUMBER = "212522000000"  # what citizens see, `metadata.display_phone_number` (digits, no "+")
APP_SECRET = "fake-app-secret-for-bab-tests"
SIGNATURE_HEADER = "X-Hub-Signature-256"
ERROR_HREF = "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/"

# Meta: business-scoped-user-ids — a two-letter ISO code, a dot, up to 128 alphanumerics; parent BSUIDs carry
# "ENT." (US.ENT.11815799212886844830).
BSUID_RE = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")


# --- Meta's error catalogue -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorInfo:
    """One Cloud API error code: its HTTP status when returned synchronously, its title and a typical detail."""

    code: int
    http_status: int
    title: str
    details: str


# Titles and HTTP statuses from Meta's error-codes page (support/error-codes, 2026-06-18, as mirrored by BSPs) and
# pywa/errors.py; the details are the texts Meta returns where a copy was found, otherwise paraphrases of the page.
# Meta says to branch on `code` and `error_data.details`, never on titles ("titles will eventually be deprecated").
ERRORS: dict[int, ErrorInfo] = {e.code: e for e in (
    ErrorInfo(0, 401, "AuthException", "We were unable to authenticate the app user."),
    ErrorInfo(4, 400, "Application request limit reached", "The app has reached its API call rate limit."),
    ErrorInfo(100, 400, "Invalid parameter",
              "The request included one or more unsupported or misspelled parameters."),
    ErrorInfo(190, 401, "Invalid OAuth access token - Cannot parse access token", "Your access token has expired."),
    ErrorInfo(368, 403, "Temporarily blocked for policies violations",
              "The WhatsApp Business Account associated with the app has been restricted or disabled for violating "
              "a platform policy."),
    ErrorInfo(80007, 400, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    ErrorInfo(130429, 400, "Rate limit hit",
              "Message failed to send because there were too many messages sent from this phone number in a short "
              "period of time"),
    ErrorInfo(130472, 400, "User's number is part of an experiment",
              "Failed to send message because this user's phone number is part of an experiment"),
    ErrorInfo(131000, 500, "Something went wrong", "Message failed to send due to an unknown error."),
    ErrorInfo(131005, 403, "Access denied", "Permission is either not granted or has been removed."),
    ErrorInfo(131008, 400, "Required parameter is missing", "The request is missing a required parameter."),
    ErrorInfo(131009, 400, "Parameter value is not valid", "One or more parameter values are invalid."),
    ErrorInfo(131016, 503, "Service unavailable", "A service is temporarily unavailable."),
    ErrorInfo(131021, 400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    ErrorInfo(131026, 400, "Message Undeliverable",
              "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone "
              "number; the recipient has not accepted the new Terms of Service and Privacy Policy; the recipient is "
              "using an old WhatsApp version."),
    ErrorInfo(131031, 403, "Business Account locked",
              "The WhatsApp Business Account associated with the app has been restricted or disabled."),
    ErrorInfo(131042, 400, "Business eligibility payment issue",
              "Message failed to send because there were one or more errors related to your payment method."),
    ErrorInfo(131047, 400, "Re-engagement message",
              "Message failed to send because more than 24 hours have passed since the customer last replied to "
              "this number."),
    ErrorInfo(131048, 400, "Spam rate limit hit",
              "Message failed to send because there are restrictions on how many messages can be sent from this "
              "phone number. This may be because too many previous messages were blocked or flagged as spam."),
    ErrorInfo(131049, 400, "This message was not delivered to maintain healthy ecosystem engagement.",
              "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
    ErrorInfo(131051, 400, "Unsupported message type", "Message type is not currently supported."),
    ErrorInfo(131052, 400, "Media download error",
              "Unable to download the media sent by the user."),
    ErrorInfo(131053, 400, "Media upload error", "Unable to upload the media used in the message."),
    ErrorInfo(131056, 400, "(Business Account, Consumer Account) pair rate limit hit",
              "Message failed to send because there were too many messages sent from this phone number to the same "
              "phone number in a short period of time."),
    ErrorInfo(131062, 400, "Business-scoped User ID (BSUID) recipients are not supported for this message.",
              "Business-scoped User ID (BSUID) recipients are not supported for this message."),
    ErrorInfo(132000, 400, "Number of parameters does not match the expected number of params",
              "The number of variable parameter values included in the request did not match the number of "
              "variable parameters defined in the template."),
    ErrorInfo(132001, 404, "Template name does not exist in the translation",
              "The template does not exist in the specified language or the template has not been approved."),
    ErrorInfo(132015, 400, "Template is Paused",
              "Template is paused due to low quality so it cannot be sent in a template message."),
    ErrorInfo(133010, 400, "Account not registered", "The business phone number is not registered."),
)}


def error_object(code: int, *, title: str | None = None, message: str | None = None,
                 details: str | None = None) -> dict[str, Any]:
    """An error as webhooks carry it (`statuses[].errors[]`, `messages[].errors[]`, `value.errors[]`)."""
    info = ERRORS.get(code, ErrorInfo(code, 400, f"Error {code}", f"Error {code}"))
    title = title or info.title
    return {"code": code, "title": title, "message": message or title,
            "error_data": {"details": details or info.details}, "href": ERROR_HREF}


# --- the citizen side -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WaUser:
    """A WhatsApp user as webhooks describe them: BSUID always, phone (`wa_id`) unless hidden behind a username."""

    user_id: str  # BSUID, `contacts[].user_id` / `messages[].from_user_id`
    wa_id: str | None = None  # phone in digits; None when a username hides it (Meta: business-scoped-user-ids)
    name: str = "Citizen"  # `contacts[].profile.name`
    username: str | None = None  # `contacts[].profile.username`, like "@amina.rabat"
    parent_user_id: str | None = None  # only for businesses with parent BSUIDs enabled ("MA.ENT.…")

    @property
    def address(self) -> str:
        """How Bab would address this user: the phone when known, else the BSUID."""
        return self.wa_id or self.user_id


AMINA = WaUser(user_id="MA.13491208655302741918", wa_id="212612345678", name="Amina")
# A user who adopted a username and whose phone Meta may not share: no `from`, no `wa_id` (Meta's example
# "incoming text message from a user who has enabled the username feature").
YOUSSEF = WaUser(user_id="MA.20933418776401528830", name="Youssef", username="@youssef.casa")


def user(n: int, *, name: str | None = None, phone: bool = True, username: str | None = None) -> WaUser:
    """The n-th distinct test citizen (stable ids: MA BSUID, Moroccan mobile 2126xxxxxxxx)."""
    return WaUser(user_id=f"MA.{10**19 + n}", wa_id=f"2126{n:08d}" if phone else None,
                  name=name or f"Citizen {n}", username=username)


# --- ids and timestamps -------------------------------------------------------------------------------------------

def wamid(address: str | None = None, *, outbound: bool = False) -> str:
    """A unique message id shaped like Meta's: "wamid." + base64 of a small record holding the user's number."""
    # Decoding Meta's examples gives b"\x1c\x18" + len + digits + b"\x15\x02\x00" + (b"\x12\x18\x14" + 20 hex
    # for inbound | b"\x11\x18\x12" + 18 hex for outbound) + b"\x00"; a Moroccan 12-digit number gives "wamid.HBgM…".
    digits = (re.sub(r"\D", "", address or "") or "212600000000")[:20]
    middle, tail = (b"\x11\x18\x12", secrets.token_hex(9)) if outbound else (b"\x12\x18\x14", secrets.token_hex(10))
    raw = (b"\x1c\x18" + bytes([len(digits)]) + digits.encode() + b"\x15\x02\x00" + middle
           + tail.upper().encode() + b"\x00")
    return "wamid." + base64.b64encode(raw).decode()


def timestamp(at: float | datetime | None = None) -> str:
    """Meta's timestamp: epoch seconds as a string."""
    if at is None:
        return str(int(time.time()))
    if isinstance(at, datetime):
        return str(int(at.timestamp()))
    return str(int(at))


def fake_sha256(data: bytes) -> str:
    """The media digest as webhooks carry it: base64 of the SHA-256 (pywa fixtures, Meta examples)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- message and status objects ----------------------------------------------------------------------------------

class Inbound(dict[str, Any]):
    """One `messages[i]` or `statuses[i]` object; remembers its user so `change()` can build `contacts`."""

    def __init__(self, data: dict[str, Any], user: WaUser, *, part: Literal["messages", "statuses"] = "messages",
                 contacts: bool = True) -> None:
        super().__init__(data)
        self.user = user
        self.part = part
        self.contacts = contacts  # False when Meta sends no contacts block (system changes, failed statuses)


def _context(reply_to: str | None, context: dict[str, Any] | None) -> dict[str, Any] | None:
    # A reply or a button tap names the business message it answers: {from: business number, id: its wamid}.
    if context is not None:
        return context
    return {"from": DISPLAY_PHONE_NUMBER, "id": reply_to} if reply_to else None


def message(user: WaUser, kind: str, content: Any = None, *, id: str | None = None,
            at: float | datetime | None = None, reply_to: str | None = None,
            context: dict[str, Any] | None = None, **fields: Any) -> Inbound:
    """Any inbound `messages[i]`: the common fields (Meta: webhooks/reference/messages) plus `kind: content`."""
    found: dict[str, Any] = {}
    ctx = _context(reply_to, context)
    if ctx:
        found["context"] = ctx
    if user.wa_id:
        found["from"] = user.wa_id  # omitted for username users whose phone Meta won't share
    found["from_user_id"] = user.user_id
    if user.parent_user_id:
        found["from_parent_user_id"] = user.parent_user_id
    found.update(id=id or wamid(user.address), timestamp=timestamp(at), type=kind)
    if content is not None:
        found[kind] = content
    found.update(fields)  # e.g. referral={…} (Click-to-WhatsApp), group_id, errors
    return Inbound(found, user)


def text(user: WaUser, body: str, *, forwarded: bool = False, frequently_forwarded: bool = False,
         **kw: Any) -> Inbound:
    """A text message (Meta: webhooks/reference/messages/text)."""
    if forwarded or frequently_forwarded:
        kw["context"] = {"frequently_forwarded": True} if frequently_forwarded else {"forwarded": True}
    return message(user, "text", {"body": body}, **kw)


def button_reply(user: WaUser, id: str, title: str, *, reply_to: str | None = None, **kw: Any) -> Inbound:
    """A tap on an interactive reply button (Meta: webhooks/reference/messages/interactive; pywa callback_button)."""
    return message(user, "interactive", {"type": "button_reply", "button_reply": {"id": id, "title": title}},
                   reply_to=reply_to or wamid(user.address, outbound=True), **kw)


def list_reply(user: WaUser, id: str, title: str, description: str | None = None, *,
               reply_to: str | None = None, **kw: Any) -> Inbound:
    """A choice in an interactive list (Meta: webhooks/reference/messages/interactive; pywa callback_selection)."""
    row = {"id": id, "title": title, **({"description": description} if description is not None else {})}
    return message(user, "interactive", {"type": "list_reply", "list_reply": row},
                   reply_to=reply_to or wamid(user.address, outbound=True), **kw)


def template_button(user: WaUser, payload: str, text: str, *, reply_to: str | None = None, **kw: Any) -> Inbound:
    """A tap on a template's quick-reply button: type "button", not "interactive" (Meta: …/messages/button)."""
    return message(user, "button", {"payload": payload, "text": text},
                   reply_to=reply_to or wamid(user.address, outbound=True), **kw)


def location(user: WaUser, latitude: float, longitude: float, *, name: str | None = None,
             address: str | None = None, url: str | None = None, **kw: Any) -> Inbound:
    """A shared location; name/address/url only for a chosen place (Meta: …/messages/location; pywa message)."""
    place: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    place.update({k: v for k, v in (("name", name), ("address", address), ("url", url)) if v is not None})
    return message(user, "location", place, **kw)


def _media(user: WaUser, kind: str, media_id: str, mime_type: str, sha256: str | None, caption: str | None,
           url: str | None, extra: dict[str, Any], kw: dict[str, Any]) -> Inbound:
    content: dict[str, Any] = {}
    if caption is not None:
        content["caption"] = caption
    content.update(extra)
    content.update(mime_type=mime_type, sha256=sha256 or fake_sha256(media_id.encode()), id=media_id)
    if url is not None:
        content["url"] = url  # newer webhooks may carry the download URL already (pywa "media_with_url")
    return message(user, kind, content, **kw)


def image(user: WaUser, media_id: str = "1479537139650973", *, mime_type: str = "image/jpeg",
          sha256: str | None = None, caption: str | None = None, url: str | None = None, **kw: Any) -> Inbound:
    """A photo (Meta: webhooks/reference/messages/image). Pass `sha256=api.add_media(...)` for a real download."""
    return _media(user, "image", media_id, mime_type, sha256, caption, url, {}, kw)


def document(user: WaUser, media_id: str = "1084347306791025", *, filename: str = "plan.pdf",
             mime_type: str = "application/pdf", sha256: str | None = None, caption: str | None = None,
             url: str | None = None, **kw: Any) -> Inbound:
    """A document with its file name (Meta: webhooks/reference/messages/document)."""
    return _media(user, "document", media_id, mime_type, sha256, caption, url, {"filename": filename}, kw)


def audio(user: WaUser, media_id: str = "1003383421387256", *, voice: bool = True,
          mime_type: str = "audio/ogg; codecs=opus", sha256: str | None = None, url: str | None = None,
          **kw: Any) -> Inbound:
    """An audio file, or a voice note when `voice` (Meta: webhooks/reference/messages/audio)."""
    return _media(user, "audio", media_id, mime_type, sha256, None, url, {"voice": voice}, kw)


def video(user: WaUser, media_id: str = "1166846181421424", *, mime_type: str = "video/mp4",
          sha256: str | None = None, caption: str | None = None, url: str | None = None, **kw: Any) -> Inbound:
    """A video (Meta: webhooks/reference/messages/video)."""
    return _media(user, "video", media_id, mime_type, sha256, caption, url, {}, kw)


def sticker(user: WaUser, media_id: str = "1257613848840112", *, animated: bool = False,
            mime_type: str = "image/webp", sha256: str | None = None, url: str | None = None,
            **kw: Any) -> Inbound:
    """A sticker (Meta: webhooks/reference/messages/sticker)."""
    return _media(user, "sticker", media_id, mime_type, sha256, None, url, {"animated": animated}, kw)


def reaction(user: WaUser, message_id: str, emoji: str | None = "👍", **kw: Any) -> Inbound:
    """A reaction to a message; emoji "" or None (key absent) means the reaction was removed (pywa unreaction_*)."""
    content: dict[str, Any] = {"message_id": message_id}
    if emoji is not None:
        content["emoji"] = emoji
    return message(user, "reaction", content, **kw)


def shared_contacts(user: WaUser, cards: list[dict[str, Any]] | None = None, **kw: Any) -> Inbound:
    """A shared contact card, type "contacts" (Meta: webhooks/reference/messages/contacts; pywa message)."""
    cards = cards or [{"name": {"first_name": "Karim", "last_name": "Alaoui", "formatted_name": "Karim Alaoui"},
                       "phones": [{"phone": "+212 661-234567", "wa_id": "212661234567", "type": "CELL"}]}]
    return message(user, "contacts", cards, **kw)


def unsupported(user: WaUser, kind: str | None = None, **kw: Any) -> Inbound:
    """A message type the Cloud API can't pass on (poll, view-once…), with error 131051 (pywa unsupported*)."""
    errors = [error_object(131051, title="Message type unknown", message="Message type unknown",
                           details="Message type is currently not supported.")]
    return message(user, "unsupported", {"type": kind} if kind else None, errors=errors, **kw)


def user_changed_number(user: WaUser, new_wa_id: str, *, new_user_id: str | None = None,
                        new_parent_user_id: str | None = None, **kw: Any) -> Inbound:
    """The user moved to a new phone; their BSUID is regenerated too. No contacts block (Meta: …/messages/system)."""
    # Meta's changelog of 2026-08-11 added previous_user_id / previous_parent_user_id next to the new values.
    system: dict[str, Any] = {"body": f"User {user.name} changed from {user.wa_id} to {new_wa_id}",
                              "wa_id": new_wa_id,
                              "user_id": new_user_id or f"{user.user_id[:2]}.{10**19 + secrets.randbelow(10**19)}",
                              "previous_user_id": user.user_id}
    if user.parent_user_id or new_parent_user_id:
        system.update(parent_user_id=new_parent_user_id, previous_parent_user_id=user.parent_user_id)
    system["type"] = "user_changed_number"
    found: dict[str, Any] = {"from": user.wa_id} if user.wa_id else {}
    found.update(id=kw.pop("id", None) or wamid(user.address), timestamp=timestamp(kw.pop("at", None)),
                 type="system", system=system)
    return Inbound(found, user, contacts=False)


def user_changed_user_id(user: WaUser, new_user_id: str, *, new_parent_user_id: str | None = None,
                         **kw: Any) -> Inbound:
    """Only the BSUID changed and no phone may be shared (Meta: …/messages/system, changelog 2026-08-11)."""
    system: dict[str, Any] = {"body": f"User {user.name} changed from {user.user_id} to {new_user_id}",
                              "user_id": new_user_id, "previous_user_id": user.user_id}
    if user.parent_user_id or new_parent_user_id:
        system.update(parent_user_id=new_parent_user_id, previous_parent_user_id=user.parent_user_id)
    system["type"] = "user_changed_user_id"
    found = {"id": kw.pop("id", None) or wamid(user.address), "timestamp": timestamp(kw.pop("at", None)),
             "type": "system", "system": system}
    return Inbound(found, user, contacts=False)


def customer_identity_changed(user: WaUser, identity_hash: str = "tWLBmD2jcfo=", **kw: Any) -> Inbound:
    """The user's security identity changed (reinstall, new device); shape from pywa system.json."""
    at = kw.pop("at", None)
    return message(user, "system", {"body": "User identity changed", "type": "customer_identity_changed"},
                   at=at, identity={"acknowledged": True, "created_timestamp": timestamp(at),
                                    "hash": identity_hash}, **kw)


def edit(user: WaUser, original_message_id: str, new: Inbound | None = None, **kw: Any) -> Inbound:
    """The user edited an earlier message (Meta: …/messages/edit; only Coexistence numbers get it)."""
    # Meta's page (2026) warns edits are "temporarily unsupported" and arrive as type "unsupported" instead.
    new = new if new is not None else text(user, "texte corrigé")
    inner = {k: v for k, v in new.items() if k not in ("from", "from_user_id", "from_parent_user_id", "id",
                                                       "timestamp")}
    return message(user, "edit", {"original_message_id": original_message_id, "message": inner}, **kw)


def revoke(user: WaUser, original_message_id: str, **kw: Any) -> Inbound:
    """The user deleted an earlier message (Meta: …/messages/revoke; only Coexistence numbers get it)."""
    return message(user, "revoke", {"original_message_id": original_message_id}, **kw)


_DEFAULT: Any = object()


def pmp_pricing(category: str = "service", type: str = "free_customer_service",
                billable: bool | None = None) -> dict[str, Any]:
    """A status `pricing` object in the per-message model of July 2025 on ("pricing_model": "PMP")."""
    # Meta: business-scoped-user-ids examples ({"billable":true,"pricing_model":"PMP","type":"regular",
    # "category":"marketing"}) and pricing ("type":"free_customer_service"). Older bodies said "CBP".
    if billable is None:
        billable = type == "regular"
    return {"billable": billable, "pricing_model": "PMP", "type": type, "category": category}


def status(user: WaUser, id: str, status: Literal["sent", "delivered", "read", "failed"] = "delivered", *,
           at: float | datetime | None = None, sent_to: Literal["phone", "bsuid"] = "phone",
           pricing: dict[str, Any] | None = _DEFAULT, errors: list[dict[str, Any]] | None = None,
           biz_opaque_callback_data: str | None = None) -> Inbound:
    """A `statuses[i]` for a message Bab sent (Meta: …/messages/status and business-scoped-user-ids)."""
    found: dict[str, Any] = {"id": id, "status": status, "timestamp": timestamp(at)}
    # recipient_id: the phone if Bab sent to it, or if Meta may share it; recipient_user_id: always, except on a
    # failed status for a message sent to a phone.
    if user.wa_id and (sent_to == "phone" or user.username is None):
        found["recipient_id"] = user.wa_id
    if not (status == "failed" and sent_to == "phone"):
        found["recipient_user_id"] = user.user_id
        if user.parent_user_id:
            found["recipient_parent_user_id"] = user.parent_user_id
    if biz_opaque_callback_data is not None:
        found["biz_opaque_callback_data"] = biz_opaque_callback_data
    if pricing is _DEFAULT:
        pricing = None if status == "failed" else pmp_pricing()
    if pricing is not None:
        found["pricing"] = pricing
    if status == "failed":
        found["errors"] = errors or [error_object(131026)]
    elif errors:
        found["errors"] = errors
    # Meta: contacts come with sent/delivered/read statuses and are omitted entirely for failed ones.
    return Inbound(found, user, part="statuses", contacts=status != "failed")


def failed(user: WaUser, id: str, code: int = 131047, *, details: str | None = None, **kw: Any) -> Inbound:
    """A failed status carrying Meta's error `code` (131047 window closed, 131026 undeliverable, …)."""
    return status(user, id, "failed", errors=[error_object(code, details=details)], **kw)


# --- the envelope ------------------------------------------------------------------------------------------------

def contact(user: WaUser, *, with_username: bool = True) -> dict[str, Any]:
    """A `contacts[i]` entry: profile.name (+ username), wa_id when shared, user_id, parent_user_id if enabled."""
    profile: dict[str, Any] = {"name": user.name}
    if user.username and with_username:
        profile["username"] = user.username
    found: dict[str, Any] = {"profile": profile}
    if user.wa_id:
        found["wa_id"] = user.wa_id
    found["user_id"] = user.user_id
    if user.parent_user_id:
        found["parent_user_id"] = user.parent_user_id
    return found


def change(messages: list[Inbound] | tuple[Inbound, ...] = (), statuses: list[Inbound] | tuple[Inbound, ...] = (),
           *, contacts: list[dict[str, Any]] | None = None, errors: list[dict[str, Any]] | None = None,
           phone_number_id: str = PHONE_NUMBER_ID, display_phone_number: str = DISPLAY_PHONE_NUMBER,
           field: str = "messages") -> dict[str, Any]:
    """One `entry[].changes[i]`; `contacts` defaults to one per distinct user of the messages and statuses."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": display_phone_number,
                                          "phone_number_id": phone_number_id}}
    if contacts is None:
        contacts, seen = [], set()
        for item in (*messages, *statuses):
            if item.contacts and item.user.user_id not in seen:
                seen.add(item.user.user_id)
                # Meta omits the username on "sent" statuses.
                contacts.append(contact(item.user, with_username=item.get("status") != "sent"))
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = [dict(m) for m in messages]
    if statuses:
        value["statuses"] = [dict(s) for s in statuses]
    if errors:
        value["errors"] = errors  # out-of-band errors (Meta: webhooks/reference/messages/errors)
    return {"value": value, "field": field}


def value_errors(*codes: int, **kw: Any) -> dict[str, Any]:
    """A change that only reports system-level errors, e.g. `value_errors(131000)`."""
    return change(errors=[error_object(code) for code in codes], **kw)


def entry(*changes: dict[str, Any], waba_id: str = WABA_ID) -> dict[str, Any]:
    """One `entry[i]`: a WhatsApp Business Account and its changes."""
    return {"id": waba_id, "changes": list(changes)}


def envelope(*items: dict[str, Any]) -> dict[str, Any]:
    """The whole POST body; loose messages/statuses become one change each, loose changes one entry, in front."""
    messages = [i for i in items if isinstance(i, Inbound) and i.part == "messages"]
    statuses = [i for i in items if isinstance(i, Inbound) and i.part == "statuses"]
    changes = [i for i in items if not isinstance(i, Inbound) and "value" in i]
    entries = [i for i in items if not isinstance(i, Inbound) and "changes" in i]
    loose = ([change(messages)] if messages else []) + ([change(statuses=statuses)] if statuses else [])
    if loose or changes:
        entries.insert(0, entry(*loose, *changes))
    return {"object": "whatsapp_business_account", "entry": entries}


# --- on the wire ------------------------------------------------------------------------------------------------

def dumps(payload: dict[str, Any], *, style: Literal["utf8", "meta"] = "utf8") -> bytes:
    """The raw body: compact JSON, non-ASCII as raw UTF-8 ("utf8") or escaped the way Meta's servers do ("meta")."""
    if style == "utf8":
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    # Meta signs "an escaped unicode version of the payload, with lowercase hex digits" (Messenger webhooks docs,
    # quoted in Secreto31126/whatsapp-api-js#290) and escapes "/" (#380): PHP json_encode's defaults. A "/" only
    # occurs inside JSON strings, so replacing it after dumping is safe.
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def sign(body: bytes, app_secret: str = APP_SECRET) -> str:
    """The X-Hub-Signature-256 header value: "sha256=" + hex HMAC-SHA256 of the raw body keyed by the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signed(payload: dict[str, Any], app_secret: str = APP_SECRET, *,
           style: Literal["utf8", "meta"] = "utf8") -> tuple[bytes, dict[str, str]]:
    """The body and headers of Meta's POST: `client.post(path, data=body, headers=headers)`."""
    body = dumps(payload, style=style)
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, app_secret)}
