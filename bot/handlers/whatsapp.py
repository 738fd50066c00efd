"""The WhatsApp channel (Cloud API): the webhook on our aiohttp server, processing of what it received, and the
outbox's sender.

Inbound: Meta POSTs to /whatsapp/webhook. The signature (X-Hub-Signature-256, HMAC-SHA256 of the raw bytes
with the app secret) is checked before anything else; the verified body is stored, 200 is answered, and a
background processor parses it afterwards, so that a parsing bug leaves a body to replay instead of a lost
message (Meta retries anything but 200 for seven days, and delivers at least once, out of order). Messages are
handled once each (the core's unique index on the wamid), in timestamp order per person.

People are keyed by their business-scoped user id (BSUID) when WhatsApp gives one, by phone number otherwise;
`whatsapp_contacts` links both and keeps the time of their last message: the 24-hour window in which Bab may
write freely. Outside it, a notice is announced by an approved template and the message itself waits until the
person writes again, as does anything without a template.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.flows.spec import FileRef, Inbound, InboundKind, Outbound
from bot.handlers import whatsapp_render as render
from bot.handlers.bodies import read_limited
from bot.handlers.text_parts import parse_choice
from bot.handlers.whatsapp_client import GraphClient, GraphError, GraphUnavailable
from bot.services import media
from bot.services.clock import Clock
from bot.services.conversations import Conversations, NewAttachment
from bot.services.outbox import DeliveryError, Proof, Unreachable, WaitForWindow
from bot.services.pacing import Pace
from bot.services.whatsapp_inbox import CHANNEL as CHANNEL
from bot.services.whatsapp_inbox import Delivery, WhatsAppInbox

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_WEBHOOK_BODY = 3 * 1024 * 1024  # Meta's own ceiling for a webhook payload
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=2)  # a message accepted at 23:59:59 may reach Meta after the window closed
NOT_YET = timedelta(minutes=2)  # a receipt may overtake the send's own answer: look again for this long
PAIR_INTERVAL = 6.0  # seconds between messages to one person, past the burst (Meta's pair rate)
FILE_CODES = {"image", "document"}
THROTTLED = {130429, 80007}  # the number's throughput: slow the whole channel
PAUSED = {368, 131048}  # policy or spam enforcement: stop for a while and tell an operator
TEMPLATE_ERRORS = {132000, 132001, 132005, 132007, 132012, 132015, 132016}


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    """True when `header` is 'sha256=<hex>' of HMAC-SHA256(body, secret); constant time."""
    if not header or not secret or len(header) != 71 or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[7:].lower().encode(), expected.encode())


def epoch(value: object) -> datetime | None:
    """A webhook timestamp (epoch seconds as a string; milliseconds tolerated) as aware UTC."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    if number >= 1e12:
        number /= 1000
    return datetime.fromtimestamp(number, tz=UTC)


# Meta's upload takes these document types only ("Supported media types"): a text file of another type (the
# audit log's .csv, the citizen's data as .json and .html) goes as plain text, keeping its name, and still opens.
DOCUMENT_TYPES = frozenset({
    "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation"})


def upload_type(mime: str) -> str:
    """The type to upload a file of type `mime` as: itself, or plain text for a text format Meta refuses."""
    base = mime.split(";")[0].strip().lower()
    if base in DOCUMENT_TYPES or base.startswith(("image/", "audio/", "video/")):
        return mime
    return "text/plain" if base.startswith("text/") or base == "application/json" else mime


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from a person, as parsed from a webhook body."""

    wamid: str
    at: datetime | None
    bsuid: str | None
    wa_id: str | None
    username: str | None
    type: str
    inbound: Inbound | None  # None: nothing for the conversation (a removed reaction, a revoke, a system event)
    media_id: str | None = None
    system: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.bsuid or self.wa_id or ""


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery status of a message Bab sent."""

    wamid: str
    status: str
    error_code: int | None
    callback: str | None = None  # biz_opaque_callback_data: which outbox row (and call) it was


def _inbound(message: dict[str, Any]) -> tuple[Inbound | None, str | None]:
    """The core's view of one message, and the media id to fetch first (if any)."""
    kind = str(message.get("type") or "")
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    assert isinstance(body, dict)
    if kind == "text":
        return Inbound(kind=InboundKind.TEXT, text=str(body.get("body") or "")), None
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        if isinstance(reply, dict):
            return parse_choice(str(reply.get("id") or "")), None
        return Inbound(kind=InboundKind.OTHER), None  # e.g. a Flow's nfm_reply: Bab sends no Flows
    if kind == "button":  # a template's quick-reply button: its payload is a 'go:' id, valid in any state
        return Inbound(kind=InboundKind.CHOICE, choice_id=str(body.get("payload") or "")), None
    if kind == "location":
        try:
            return Inbound(kind=InboundKind.LOCATION, lat=float(body["latitude"]), lon=float(body["longitude"])), None
        except (KeyError, TypeError, ValueError):
            return Inbound(kind=InboundKind.OTHER), None
    if kind in FILE_CODES and body.get("id"):
        return Inbound(kind=InboundKind.PHOTO if kind == "image" else InboundKind.DOCUMENT), str(body["id"])
    if kind == "reaction" and not body.get("emoji"):
        return None, None  # a reaction taken back
    if kind in ("revoke", "system"):
        return None, None
    return Inbound(kind=InboundKind.OTHER), None  # audio, video, sticker, contacts, unsupported, edits, unknown


def parse_body(data: dict[str, Any], phone_number_id: str) -> tuple[list[Incoming], list[Receipt]]:
    """Every message and status of every entry and change addressed to our number; messages in time order."""
    incoming: list[Incoming] = []
    receipts: list[Receipt] = []
    for entry in data.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue  # template status updates and the like: nothing for the conversation
            number = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if number != phone_number_id:
                log.warning("whatsapp webhook for another number ignored")
                continue
            for error in value.get("errors") or []:
                log.warning("whatsapp webhook error code=%s", error.get("code") if isinstance(error, dict) else "?")
            contacts = [contact for contact in value.get("contacts") or [] if isinstance(contact, dict)]
            for message in value.get("messages") or []:
                if isinstance(message, dict):
                    parsed = _incoming(message, contacts)
                    if parsed is not None:
                        incoming.append(parsed)
            for status in value.get("statuses") or []:
                if isinstance(status, dict) and status.get("id") and status.get("status"):
                    errors = status.get("errors") or [{}]
                    code = errors[0].get("code") if isinstance(errors[0], dict) else None
                    callback = status.get("biz_opaque_callback_data")
                    receipts.append(Receipt(str(status["id"]), str(status["status"]),
                                            int(code) if code is not None else None,
                                            str(callback) if callback is not None else None))
    incoming.sort(key=lambda item: item.at or datetime.min.replace(tzinfo=UTC))
    return incoming, receipts


def _incoming(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Incoming | None:
    system = message.get("system") if isinstance(message.get("system"), dict) else {}
    assert isinstance(system, dict)
    wa_id = str(message.get("from") or "") or None
    # A system event names the person by their previous ids (a new number, a regenerated BSUID).
    bsuid = str(message.get("from_user_id") or system.get("previous_user_id") or "") or None
    contact = next((item for item in contacts if (wa_id and item.get("wa_id") == wa_id)
                    or (bsuid and item.get("user_id") == bsuid)), contacts[0] if len(contacts) == 1 else {})
    wa_id = wa_id or (str(contact.get("wa_id") or "") or None)
    bsuid = bsuid or (str(contact.get("user_id") or "") or None)
    if not (wa_id or bsuid) or not message.get("id"):
        log.warning("whatsapp message without sender or id ignored")
        return None
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    inbound, media_id = _inbound(message)
    return Incoming(wamid=str(message["id"]), at=epoch(message.get("timestamp")), bsuid=bsuid, wa_id=wa_id,
                    username=str(profile.get("username") or "") or None, type=str(message.get("type") or ""),
                    inbound=inbound, media_id=media_id, system=system)


class WhatsAppSender:
    """The outbox's sender: free messages inside the 24-hour window, a template or a wait outside it."""

    def __init__(self, client: GraphClient, inbox: WhatsAppInbox, settings: Settings, clock: Clock) -> None:
        self.client = client
        self.inbox = inbox
        self.uploads_dir = settings.uploads_dir
        self.clock = clock
        self.templates = dict(settings.whatsapp_templates)
        self.languages = dict(settings.whatsapp_template_languages)
        self.grace = settings.whatsapp_receipt_grace  # how long a send whose answer was lost waits for its status
        self.pace = Pace(per_second=settings.whatsapp_per_second, burst=max(int(settings.whatsapp_per_second), 1),
                         recipient_interval=PAIR_INTERVAL, recipient_burst=settings.whatsapp_pair_burst)

    def cost(self, message: Outbound) -> int:
        """How many messages WhatsApp will count for this one (bubbles and files)."""
        return max(len(render.render(message)) + len(message.files), 1)

    def merge(self, messages: Sequence[Outbound]) -> Outbound | None:
        return render.merge(messages)

    async def send(self, external_id: str, message: Outbound) -> list[str]:
        """Deliver one message, untagged (see `send_tagged`); returns the wamids."""
        return await self.send_tagged(external_id, message, "")

    async def send_tagged(self, external_id: str, message: Outbound, ref: str) -> list[str]:
        """Deliver one message; returns the wamids. Raises WaitForWindow outside the window.

        Each call carries `biz_opaque_callback_data` "bab:<ref>:<part>" (ids only), which Meta echoes in the
        message's status webhooks: when a call's answer is lost, such a status proves it went, so the outbox
        waits `grace` seconds for one before sending it again (see `WhatsAppInbox.receipt`).
        """
        address = await self.inbox.address(external_id)
        if address is None or not (address.wa_id or address.bsuid):
            raise Unreachable("whatsapp: no address for this identity")
        # `to` when the phone number is known (Meta prefers it when both are given), else the BSUID.
        to = {"to": address.wa_id} if address.wa_id else {"recipient": address.bsuid}
        wrote = address.last_inbound_at
        if wrote is None or self.clock.now() - wrote > WINDOW - WINDOW_MARGIN:
            await self.announce(to, message)
        bodies = render.render(message)
        wamids: list[str] = []
        try:
            for part, body in enumerate(bodies):
                wamids.append(await self._post({**to, **body, **callback_data(ref, part)}))
            for part, file in enumerate(message.files, start=len(bodies)):
                wamids.append(await self._send_file(to, file, callback_data(ref, part)))
        except _WindowClosed:
            if not wamids:  # nothing went yet: announce it and wait, as outside the window
                await self.announce(to, message)
            raise WaitForWindow("whatsapp: window closed") from None
        except _Unsure as error:  # the call may have gone: a status carrying its tag would prove it
            done = len(wamids)
            tag = callback_data(ref, done).get("biz_opaque_callback_data")
            after = render.remainder(message, done + 1) if done + 1 < render.parts(message) else None
            raise DeliveryError(error.reason, retry_after=self.grace if tag else None,
                                rest=render.remainder(message, done),
                                proof=Proof(tag, after) if tag else None) from None
        except DeliveryError as error:  # what went before the failed call is not sent again
            error.rest = render.remainder(message, len(wamids))
            raise
        return wamids

    def stranded(self, message: Outbound, ref: str) -> DeliveryError:
        """What to wait for when the attempt tagged `ref` was cut off after its first call may have gone (its
        process was killed, or its outcome not written): a status carrying that call's tag, for `grace` seconds,
        as after a lost answer. Later parts of that attempt may have gone too: they are not waited for."""
        tag = callback_data(ref, 0).get("biz_opaque_callback_data")
        after = render.remainder(message, 1) if render.parts(message) > 1 else None
        return DeliveryError("whatsapp: the last attempt stopped mid-send", retry_after=self.grace,
                             rest=message, proof=Proof(tag, after) if tag else None)

    async def announce(self, to: dict[str, Any], message: Outbound) -> None:
        """Ring the doorbell with the notice's template when one is configured; the message waits anyway."""
        body = render.template(message, self.templates, self.languages)
        if body is not None:
            try:
                await self._post({**to, **body})
                log.info("whatsapp template sent kind=%s", message.notice)
            except _WindowClosed:
                pass
            except _Unsure as error:  # may have gone: at worst the person gets the doorbell twice
                log.warning("whatsapp template answer lost (%s): the message waits for the person", error.reason)
            except DeliveryError as error:
                log.error("whatsapp template not sent (%s): the message waits for the person", error.reason)
        raise WaitForWindow("whatsapp: outside the 24-hour window")

    async def _send_file(self, to: dict[str, Any], file: FileRef, tag: dict[str, str]) -> str:
        path = media.path_of(self.uploads_dir, file.ref)
        if path is None:
            raise DeliveryError("whatsapp: file missing from the uploads folder")
        data = media.read(path)
        found = media.sniff(data)
        mime = upload_type(found[0] if found else (file.mime or "application/octet-stream"))
        try:
            media_id = await self.client.upload(data, mime, file.name or path.name)
        except GraphUnavailable as error:
            raise DeliveryError("whatsapp: media upload failed") from error
        except GraphError as error:
            raise self._error(error) from error
        kind = "image" if file.kind == "photo" and mime.startswith("image/") else "document"
        body: dict[str, Any] = {"id": media_id}
        if kind == "document":
            body["filename"] = file.name or path.name
        return await self._post({**to, "type": kind, kind: body, **tag})

    async def _post(self, body: dict[str, Any]) -> str:
        try:
            return await self.client.send(body)
        except GraphUnavailable as error:
            if error.unsure:
                raise _Unsure(f"whatsapp: {error}") from error
            raise DeliveryError(f"whatsapp: {error}") from error
        except GraphError as error:
            raise self._error(error) from error

    def _error(self, error: GraphError) -> Exception:
        """What a Graph error means for the outbox (courier's and pywa's classifications, Meta's code list)."""
        code = error.code
        if code == 131047:
            return _WindowClosed()
        if code in THROTTLED or error.status == 429:
            return DeliveryError(f"whatsapp: throughput {code}", retry_after=1.0, scope="channel")
        if code == 131056:
            return DeliveryError("whatsapp: pair rate", retry_after=PAIR_INTERVAL)
        if code == 131026:
            return Unreachable("whatsapp: undeliverable (131026)")
        if code in PAUSED:
            log.error("whatsapp sending paused by Meta (code %s): check the number's quality in WhatsApp Manager",
                      code)
            return DeliveryError(f"whatsapp: paused {code}", retry_after=3600, scope="channel")
        if error.status == 401 or code == 190:
            log.error("whatsapp token rejected: set a valid WHATSAPP_TOKEN")
            return DeliveryError("whatsapp: token rejected", retry_after=60, scope="channel")
        if code in TEMPLATE_ERRORS:
            return DeliveryError(f"whatsapp: template refused {code}")
        if code in (100, 131051, 131009):
            log.error("whatsapp refused a message body (code %s): a bug to fix in the renderer", code)
        return DeliveryError(f"whatsapp: error {code} {error.details}"[:200])


class _WindowClosed(Exception):
    """Meta says the 24-hour window is closed (131047), though Bab thought it open."""


class _Unsure(Exception):
    """A send whose answer was lost (timeout, reset, 5xx): it may have gone."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CALLBACK_PREFIX = "bab:"
MAX_CALLBACK = 512  # Meta's limit for biz_opaque_callback_data (characters; it was 256 before)


def callback_data(ref: str, part: int) -> dict[str, str]:
    """The `biz_opaque_callback_data` field for one call of an outbox message ('bab:<row>:<attempt>:<part>');
    no field without a ref. Ids only: Meta hands the string to every app subscribed to the number's webhooks."""
    if not ref:
        return {}
    value = f"{CALLBACK_PREFIX}{ref}:{part}"
    return {"biz_opaque_callback_data": value} if len(value) <= MAX_CALLBACK else {}


def callback_ids(callback: str | None) -> tuple[int, int] | None:
    """The outbox row and attempt a status's callback data names ('bab:<row>:<attempt>:<part>'), or None when it
    is not one of ours."""
    if not callback or not callback.startswith(CALLBACK_PREFIX):
        return None
    fields = callback[len(CALLBACK_PREFIX):].split(":")
    if len(fields) != 3 or not all(field.isdigit() for field in fields):
        return None
    return int(fields[0]), int(fields[1])


def outbox_id_of(callback: str | None) -> int | None:
    """The outbox row a status's callback data names, or None when it is not one of ours."""
    ids = callback_ids(callback)
    return ids[0] if ids is not None else None


class WhatsAppChannel:
    """One business number: the webhook routes, the processor of stored bodies, and the sender."""

    def __init__(self, settings: Settings, inbox: WhatsAppInbox, clock: Clock) -> None:
        if not settings.whatsapp_token:
            raise ValueError("WhatsAppChannel needs WHATSAPP_TOKEN")
        self.settings = settings
        self.clock = clock
        self.inbox = inbox
        self.client = GraphClient(settings.whatsapp_api_base_url, settings.whatsapp_token,
                                  settings.whatsapp_phone_number_id, timeout=settings.whatsapp_timeout)
        self.sender = WhatsAppSender(self.client, self.inbox, settings, clock)
        self._wake = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    # --- webhook --------------------------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """GET: Meta's subscription handshake; the challenge comes back only with our verify token."""
        query = request.query
        token = query.get("hub.verify_token", "")
        expected = self.settings.whatsapp_verify_token
        if (query.get("hub.mode") == "subscribe" and expected
                and hmac.compare_digest(token.encode(), expected.encode())):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("whatsapp verification refused")
        raise web.HTTPForbidden()

    async def receive(self, request: web.Request) -> web.Response:
        """POST: verify the signature over the raw bytes, store the body, answer 200; processed afterwards."""
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=request.content_length)
        body = await read_limited(request.content, MAX_WEBHOOK_BODY)
        if body is None:  # a chunked body passing the limit: refused before it is read whole
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=MAX_WEBHOOK_BODY + 1)
        header = request.headers.get(SIGNATURE_HEADER)
        if header is None:
            log.warning("whatsapp webhook refused: no signature")
            raise web.HTTPUnauthorized()
        if not signature_valid(body, header, self.settings.whatsapp_app_secret):
            log.warning("whatsapp webhook refused: bad signature")
            raise web.HTTPForbidden()
        delivery_id = await self.inbox.store(body)
        log.info("whatsapp webhook stored delivery=%s bytes=%s", delivery_id, len(body))
        self._wake.set()
        return web.Response(text="ok")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(WEBHOOK_PATH, self.verify)
        app.router.add_post(WEBHOOK_PATH, self.receive)

    # --- processing -----------------------------------------------------------------------------------------

    async def process_pending(self, conversations: Conversations) -> int:
        """Process every stored body whose turn has come; returns how many were claimed."""
        total = 0
        while claimed := await self.inbox.claim():
            total += len(claimed)
            await self._process(conversations, claimed)
        return total

    async def _process(self, conversations: Conversations, claimed: list[Delivery]) -> None:
        """Messages of one person in time order, people concurrently; a body is done when all of it is."""
        failed: dict[int, str] = {}
        not_yet: set[int] = set()
        by_person: dict[str, list[tuple[int, Incoming]]] = {}
        receipts: list[tuple[Delivery, Receipt]] = []
        for delivery in claimed:
            try:
                data = json.loads(delivery.body.decode("utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                incoming, statuses = parse_body(data, self.settings.whatsapp_phone_number_id)
            except (ValueError, UnicodeDecodeError, TypeError, AttributeError, KeyError) as error:
                log.error("whatsapp delivery=%s unreadable: %s", delivery.id, type(error).__name__)
                failed[delivery.id] = f"unreadable: {type(error).__name__}"
                continue
            for item in incoming:
                by_person.setdefault(item.key, []).append((delivery.id, item))
            receipts.extend((delivery, receipt) for receipt in statuses)

        async def person(items: list[tuple[int, Incoming]]) -> None:
            items.sort(key=lambda pair: pair[1].at or datetime.min.replace(tzinfo=UTC))
            for delivery_id, item in items:
                try:
                    await self.handle(conversations, item)
                except Exception as error:  # kept for another try: the message is stored, not lost
                    log.exception("whatsapp delivery=%s message failed", delivery_id)
                    failed[delivery_id] = type(error).__name__
                    return  # the person's later messages wait too, to stay in order

        await asyncio.gather(*(person(items) for items in by_person.values()))
        for delivery, receipt in receipts:
            try:
                known = await self.inbox.receipt(receipt.wamid, receipt.status, receipt.error_code,
                                                 receipt.callback, callback_ids(receipt.callback))
                if not known and self.clock.now() - delivery.received_at < NOT_YET:
                    not_yet.add(delivery.id)
            except Exception as error:
                log.exception("whatsapp delivery=%s receipt failed", delivery.id)
                failed[delivery.id] = type(error).__name__
        await self.inbox.finish(claimed, failed, not_yet)

    async def handle(self, conversations: Conversations, item: Incoming) -> None:
        """One person's message: link their identifiers, fetch a file, then the core's turn."""
        now = self.clock.now()
        wrote_at = min(item.at, now) if item.at else now
        if item.type == "system":
            await self._system(item)
            return
        person = await self.inbox.person(item.bsuid, item.wa_id, item.username, wrote_at, item.wamid, item.inbound)
        inbound = person.inbound
        if person.seen or inbound is None:
            log.info("whatsapp message=%s skipped (duplicate=%s)", item.type, person.seen)
            return
        self._read(item.wamid)
        attachment: NewAttachment | None = None
        if item.media_id is not None:
            inbound, attachment = await self._fetch(item.media_id, inbound)
        handled = await conversations.handle(CHANNEL, person.key, inbound, message_id=item.wamid, attachment=attachment)
        log.info("whatsapp message type=%s identity=%s duplicate=%s", item.type, handled.identity_id,
                 handled.duplicate)

    async def _fetch(self, media_id: str, inbound: Inbound) -> tuple[Inbound, NewAttachment | None]:
        """Download a received file at once (its URL lives minutes) into Bab's uploads; OTHER if unusable."""
        try:
            data, _mime = await self.client.download(media_id, media.MAX_FILE_BYTES)
        except (GraphError, GraphUnavailable) as error:
            log.warning("whatsapp media download failed: %s", error)
            return Inbound(kind=InboundKind.OTHER), None
        stored = media.store(self.settings.uploads_dir, data)
        if stored is None:
            return Inbound(kind=InboundKind.OTHER), None
        kind = InboundKind.PHOTO if stored.kind == "photo" else InboundKind.DOCUMENT
        return replace(inbound, kind=kind), NewAttachment(kind=stored.kind, ref=stored.ref, mime=stored.mime,
                                                          size=stored.size)

    def _read(self, wamid: str) -> None:
        """Mark the message read and show typing while the turn runs; best effort, in the background."""
        async def mark() -> None:
            try:
                await self.client.mark_read(wamid, typing=True)
            except (GraphError, GraphUnavailable) as error:
                log.info("whatsapp mark-read failed: %s", error)

        task = asyncio.create_task(mark())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _system(self, item: Incoming) -> None:
        """A changed number or identity: the same person, reached at the new identifiers."""
        system = item.system
        new_wa_id = str(system.get("wa_id") or "") or None
        new_bsuid = str(system.get("user_id") or "") or None
        known = await self.inbox.moved(item.bsuid, item.wa_id, new_bsuid, new_wa_id)
        log.info("whatsapp system event type=%s known=%s", system.get("type"), known)

    async def run(self, conversations: Conversations, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Process stored bodies as they come (woken by the webhook) until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.process_pending(conversations)
            except Exception:
                log.exception("whatsapp processing round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle)
            except TimeoutError:
                pass

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.client.close()
