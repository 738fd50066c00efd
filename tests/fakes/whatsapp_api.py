"""A fake WhatsApp Cloud API (Meta's Graph API): a real aiohttp server on 127.0.0.1 that Bab's WhatsApp client calls.

It serves what Bab calls — `POST /<ver>/<phone_number_id>/messages` (messages, mark-read, typing),
`POST /<ver>/<phone_number_id>/media` (upload), `GET /<ver>/<media_id>` (media URL) and the media URL itself —
requires the bearer token on every call, validates bodies against Meta's documented limits, enforces the 24-hour
customer service window and, optionally, the throughput and pair rate limits, and injects Graph errors, bare 5xx
answers and connection resets on demand, or at random (`chaos`, tests/fakes/chaos.py: timeouts, 130429, 5xx, resets
and lost acknowledgements, where the message is accepted and the answer lost). With `status_webhook` set, every
accepted message gets a signed "sent" status webhook posted there, carrying its `biz_opaque_callback_data`, as
Meta does. Every request is recorded as a `Call`.

Sources: Meta's pages under developers.facebook.com/documentation/business-messaging/whatsapp/ (messages/*,
business-scoped-user-ids, throughput, support/error-codes, business-phone-numbers/media, typing-indicators), read
through stored copies of the 2025-12 to 2026-08 revisions; /work/shared/knowledge/whatsapp.md and channels.md §B.
Error codes and titles are derived from pywa's `pywa/errors.py` (MIT, © 2024 David Lev; the full notice is in
tests/fakes/whatsapp_payloads.py, which holds the catalogue).

Where Meta's behaviour is not documented the fake is stricter than Meta, so that what passes here passes there:
a BSUID in `to` is refused (Meta reportedly drops it silently), and window, template and media-id problems are
answered synchronously (Meta may also accept the call and report them later in a `failed` status webhook — 131047
in particular is seen both ways, so Bab must handle both; build those webhooks with whatsapp_payloads.failed).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import aiohttp
from aiohttp import web

from tests.fakes import whatsapp_payloads as wp
from tests.fakes.chaos import LOST_ACKS, Chaos, reset
from tests.fakes.whatsapp_payloads import (
    BSUID_RE,
    ERRORS,
    PHONE_NUMBER_ID,
    ErrorInfo,
    fake_sha256,
    wamid,
)

GRAPH_VERSION = "v25.0"
TOKEN = "EAAJbabFakeSystemUserToken0123456789"
WINDOW_SECONDS = 24 * 3600.0  # Meta: messages/send-messages, "a 24-hour timer called a customer service window"
SEND_KINDS = frozenset({"text", "button", "list", "cta_url", "flow", "template", "image", "document", "audio",
                        "video", "sticker", "reaction", "location", "contacts"})
MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")

# Meta: business-phone-numbers/media, "Supported media types" (the upload endpoint refuses anything else).
MEDIA_TYPES: dict[str, tuple[str, int]] = {
    **{t: ("audio", 16 * 2**20) for t in ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg")},
    **{t: ("document", 100 * 2**20) for t in (
        "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation")},
    "image/jpeg": ("image", 5 * 2**20), "image/png": ("image", 5 * 2**20),
    "image/webp": ("sticker", 500 * 2**10),
    "video/mp4": ("video", 16 * 2**20), "video/3gpp": ("video", 16 * 2**20),
}


def address_of(value: str) -> str:
    """A recipient as the fake keys it: a BSUID unchanged, a phone as its digits ("+212 6…" → "2126…")."""
    value = value.strip()
    return value if BSUID_RE.match(value) else re.sub(r"\D", "", value)


def _length(value: Any) -> int:
    # Meta's limits count characters; Python's len() counts code points, which is what an Arabic text needs.
    return len(value) if isinstance(value, str) else 0


# --- what the fake records -------------------------------------------------------------------------------------

@dataclass
class Call:
    """One request as the fake received it, and what it answered."""

    method: str
    path: str
    body: dict[str, Any]
    at: float  # the fake's clock (time.monotonic by default) when the request arrived
    status: int = 200
    response: Any = None
    error_code: int | None = None  # the Graph error code when refused
    fault: str | None = None  # the chaos fault this call met (a "lost_…" one was accepted all the same)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def kind(self) -> str:
        """What the call was: a message type (interactive ones by their subtype), "read", "typing" or a media call."""
        # Message kinds: text, button, list, cta_url, template, image, document, audio, video, sticker, reaction,
        # location, contacts; media calls: upload, media (GET of the media URL), download.
        if self.path.endswith("/media") and self.method == "POST":
            return "upload"
        if self.path.startswith("/media-download/"):
            return "download"
        if self.method == "GET":
            return "media"
        if self.body.get("status") == "read":
            return "typing" if "typing_indicator" in self.body else "read"
        kind = str(self.body.get("type") or "text")  # Meta: `type` defaults to text
        if kind == "interactive":
            return str((self.body.get("interactive") or {}).get("type") or "interactive")
        return kind

    @property
    def is_send(self) -> bool:
        """A message to a user (not a read receipt, typing indicator or media call)."""
        return self.method == "POST" and self.path.endswith("/messages") and self.kind in SEND_KINDS

    @property
    def to(self) -> str | None:
        value = self.body.get("to")
        return str(value) if value is not None else None

    @property
    def recipient(self) -> str | None:
        value = self.body.get("recipient")
        return str(value) if value is not None else None

    @property
    def address(self) -> str | None:
        """Who the message went to, as the fake keys users: `to` (digits) wins over `recipient` (BSUID)."""
        value = self.to if self.to is not None else self.recipient
        return address_of(value) if value is not None else None

    @property
    def wamid(self) -> str | None:
        """The message id the fake answered with, if it accepted the message."""
        if self.ok and isinstance(self.response, dict) and self.response.get("messages"):
            return str(self.response["messages"][0]["id"])
        return None

    @property
    def reply_to(self) -> str | None:
        """The wamid this message quotes (`context.message_id`), or the one a read/typing call marks."""
        if self.kind in ("read", "typing"):
            return self.body.get("message_id")
        return (self.body.get("context") or {}).get("message_id")

    @property
    def _interactive(self) -> dict[str, Any]:
        return self.body.get("interactive") or {}

    @property
    def text(self) -> str:
        """The visible words: text, interactive body, caption, reaction emoji, or template body params by line."""
        kind = self.kind
        if kind == "text":
            return str((self.body.get("text") or {}).get("body", ""))
        if kind == "template":
            return "\n".join(self.template_params)
        if kind in MEDIA_KINDS:
            return str((self.body.get(kind) or {}).get("caption", ""))
        if kind == "reaction":
            return str((self.body.get("reaction") or {}).get("emoji", ""))
        return str((self._interactive.get("body") or {}).get("text", ""))

    @property
    def header_text(self) -> str:
        header = self._interactive.get("header") or {}
        return str(header.get("text", "")) if header.get("type") == "text" else ""

    @property
    def footer_text(self) -> str:
        return str((self._interactive.get("footer") or {}).get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The reply buttons' `reply` objects ({id, title}) of an interactive button message."""
        if self.kind != "button":
            return []
        return [b.get("reply") or {} for b in (self._interactive.get("action") or {}).get("buttons") or []]

    @property
    def button_ids(self) -> list[str]:
        return [str(b.get("id", "")) for b in self.buttons]

    @property
    def button_titles(self) -> list[str]:
        return [str(b.get("title", "")) for b in self.buttons]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows ({id, title, description?}) of an interactive list, all sections flattened."""
        if self.kind != "list":
            return []
        sections = (self._interactive.get("action") or {}).get("sections") or []
        return [row for section in sections for row in section.get("rows") or []]

    @property
    def row_ids(self) -> list[str]:
        return [str(r.get("id", "")) for r in self.rows]

    @property
    def row_titles(self) -> list[str]:
        return [str(r.get("title", "")) for r in self.rows]

    @property
    def options(self) -> list[str]:
        """The ids a user can answer with: button ids or list row ids."""
        return self.button_ids or self.row_ids

    @property
    def list_button(self) -> str:
        """The label of the button that opens a list."""
        return str((self._interactive.get("action") or {}).get("button", "")) if self.kind == "list" else ""

    @property
    def template_name(self) -> str | None:
        return (self.body.get("template") or {}).get("name") if self.kind == "template" else None

    @property
    def template_language(self) -> str | None:
        if self.kind != "template":
            return None
        return ((self.body.get("template") or {}).get("language") or {}).get("code")

    @property
    def template_params(self) -> list[str]:
        """The text of the template's body parameters, in order."""
        if self.kind != "template":
            return []
        return [str(p.get("text", "")) for c in (self.body.get("template") or {}).get("components") or []
                if str(c.get("type", "")).lower() == "body" for p in c.get("parameters") or []]

    @property
    def media_id(self) -> str | None:
        kind = self.kind
        return (self.body.get(kind) or {}).get("id") if kind in MEDIA_KINDS else None

    @property
    def link(self) -> str | None:
        kind = self.kind
        return (self.body.get(kind) or {}).get("link") if kind in MEDIA_KINDS else None

    @property
    def filename(self) -> str | None:
        return (self.body.get("document") or {}).get("filename") if self.kind == "document" else None


@dataclass
class Failure:
    """An injected answer for the next `times` matching calls."""

    code: int | Literal["http", "reset"]
    times: int
    recipient: str | None
    http_status: int
    message: str | None
    details: str | None
    on: str  # "send", "read", "media" or "any"


@dataclass
class Media:
    """A file the fake holds: uploaded by Bab, or added by a test for an inbound message."""

    id: str
    data: bytes
    mime_type: str
    filename: str | None = None

    @property
    def sha256(self) -> str:
        """The digest as webhooks carry it: base64 (what `image(..., sha256=…)` should get)."""
        return fake_sha256(self.data)

    @property
    def sha256_hex(self) -> str:
        """The digest as `GET /<media_id>` returns it: lowercase hex (as in the copies of Meta's answers found)."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class GraphLimits:
    """Meta's send limits per business number: throughput per second and the per-user pair rate."""

    # Meta: throughput — 80 messages/s by default (1,000 for upgraded numbers, 20 for Coexistence);
    # about-the-platform (2025-12-05) — "1 message every 6 seconds to the same WhatsApp user", bursts of up to 45
    # in 6 s allowed but "borrowed" from later quota, which a GCRA models exactly.

    per_second: float = 80.0
    per_second_burst: int | None = None  # None: one second's worth
    pair_interval: float = 6.0
    pair_burst: int = 45


@dataclass
class Gcra:
    """A generic cell rate algorithm: one cell per `interval`, up to `burst` cells at once; debt is paid by waiting."""

    interval: float
    burst: int
    tat: float = float("-inf")  # theoretical arrival time of the next conforming cell

    def conforms(self, now: float) -> bool:
        return max(self.tat, now) - now <= (self.burst - 1) * self.interval + 1e-9

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


class _Refusal(Exception):
    """A Graph error to answer with."""

    def __init__(self, code: int, details: str, *, message: str | None = None, http_status: int | None = None,
                 error_type: str = "OAuthException", subcode: int | None = None) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.message = message
        self.http_status = http_status
        self.error_type = error_type
        self.subcode = subcode


def _param(path: str, limit: int) -> str:
    return f"Param {path} must be at most {limit} characters long."


# --- the server -------------------------------------------------------------------------------------------------

@dataclass
class FakeGraphAPI:
    """The fake Graph API; `await start()`, point Bab's WHATSAPP_API_BASE_URL at `base_url`, read `calls`."""

    token: str = TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    version: str = GRAPH_VERSION
    templates: dict[tuple[str, str], int] = field(default_factory=dict)  # (name, language code) → body params
    enforce_window: bool = True
    limits: GraphLimits | None = None
    latency: float = 0.0  # seconds added to every answer (timeouts, benchmarks)
    media_url_ttl: float = 300.0  # Meta: a media URL "is only valid for 5 minutes"
    file_size_as_string: bool = False  # copies of Meta's answers show file_size both as a number and a string
    clock: Callable[[], float] = time.monotonic  # rate limits, media URL expiry, Call.at
    wall_clock: Callable[[], float] = time.time  # the 24-hour window (epoch seconds, like webhook timestamps)
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    last_inbound: dict[str, float] = field(default_factory=dict)  # address → epoch of the user's last message
    limit_errors: int = 0  # calls refused by `limits` (130429 or 131056)
    chaos: Chaos | None = None  # random faults on the sends
    status_webhook: str = ""  # where "sent" statuses are posted (Bab's /whatsapp/webhook), if anywhere
    app_secret: str = wp.APP_SECRET  # signs the status webhooks
    statuses_posted: int = 0
    _posting: set[asyncio.Task[None]] = field(default_factory=set)
    url: str = ""
    _aliases: dict[str, set[str]] = field(default_factory=dict)
    _downloads: dict[str, tuple[str, float]] = field(default_factory=dict)  # opaque → (media id, issued at)
    _throughput: Gcra | None = None
    _pairs: dict[str, Gcra] = field(default_factory=dict)
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; returns the server's root URL."""
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=110 * 2**20)  # documents may be up to 100 MB
        app.router.add_get("/media-download/{opaque}", self._download)
        app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages", self._messages)
        app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/media", self._upload)
        app.router.add_get(r"/{version:v\d+\.\d+}/{media_id}", self._media_info)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        await self.settle()
        if self._runner is not None:
            await self._runner.cleanup()

    async def settle(self) -> None:
        """Wait until every status webhook due so far was posted (and answered)."""
        while self._posting:
            await asyncio.gather(*list(self._posting), return_exceptions=True)

    @property
    def base_url(self) -> str:
        """What Bab's WHATSAPP_API_BASE_URL is set to: the root plus the Graph version."""
        return f"{self.url}/{self.version}"

    # --- test controls -----------------------------------------------------------------------------------------

    def fail(self, code: int | Literal["http", "reset"], times: int = 1, recipient: str | None = None,
             http_status: int | None = None, message: str | None = None, details: str | None = None,
             on: Literal["send", "read", "media", "any"] = "send") -> None:
        """Answer the next `times` matching calls with Graph error `code`, a bare 5xx ("http") or a reset ("reset")."""
        # The HTTP status defaults to the one in Meta's error table (400 mostly, 404 for 132001, 403 for 368).
        if http_status is None:
            if code == "http":
                http_status = 503
            elif code == "reset":
                http_status = 0  # no answer at all
            else:
                http_status = ERRORS.get(code, ErrorInfo(code, 400, "", "")).http_status
        self.failures.append(Failure(code, times, address_of(recipient) if recipient else None, http_status,
                                     message, details, on))

    def link(self, *addresses: str) -> None:
        """Tell the fake these addresses (a phone and a BSUID) are one person: one window, one pair rate."""
        group: set[str] = set()
        for value in addresses:
            group |= self._aliases.get(address_of(value), {address_of(value)})
        for value in group:
            self._aliases[value] = group

    def identities(self, user: str) -> set[str]:
        """Every address the fake knows for this user (itself and what `link`/`observe` tied to it)."""
        return set(self._aliases.get(address_of(user), {address_of(user)}))

    def user_wrote(self, user: str, at: float | datetime | None = None) -> None:
        """Record that the user messaged the business at `at` (now by default): opens their 24-hour window."""
        epoch = self.wall_clock() if at is None else at.timestamp() if isinstance(at, datetime) else float(at)
        key = address_of(user)
        self.last_inbound[key] = max(epoch, self.last_inbound.get(key, epoch))

    def window_open(self, user: str) -> bool:
        """Whether a non-template message to this user would pass the 24-hour rule now."""
        now = self.wall_clock()
        return any(now - self.last_inbound[a] < WINDOW_SECONDS for a in self.identities(user)
                   if a in self.last_inbound)

    def observe(self, payload: dict[str, Any]) -> None:
        """Learn from a webhook body what Meta would know: who wrote when, and which phone goes with which BSUID."""
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                for contact in value.get("contacts") or []:
                    ids = [contact[k] for k in ("wa_id", "user_id") if contact.get(k)]
                    if len(ids) > 1:
                        self.link(*ids)
                for message in value.get("messages") or []:
                    if message.get("type") == "system":
                        continue  # a number or identity change is Meta's notice, not the user writing
                    ids = [message[k] for k in ("from", "from_user_id") if message.get(k)]
                    if len(ids) > 1:
                        self.link(*ids)
                    for value_id in ids:
                        self.user_wrote(value_id, float(message.get("timestamp") or self.wall_clock()))

    def add_media(self, media_id: str, data: bytes, mime_type: str, filename: str | None = None) -> str:
        """Hold a file as if a user had sent it; returns its sha256 as the webhook carries it (base64)."""
        self.media[media_id] = Media(media_id, data, mime_type, filename)
        return self.media[media_id].sha256

    async def wait_for(self, what: str | Callable[[Call], bool], timeout: float = 5.0, since: int = 0) -> Call:
        """The first call from index `since` of this kind (any status) or matching the predicate, waiting for it."""
        match: Callable[[Call], bool] = (lambda c: c.kind == what) if isinstance(what, str) else what
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: any(match(c) for c in self.calls[since:])),
                                   timeout)
        return next(call for call in self.calls[since:] if match(call))

    def messages_to(self, user: str, *, include_refused: bool = False) -> list[Call]:
        """Messages sent to this user (by `to` or `recipient`, or any linked address), accepted ones unless told."""
        known = self.identities(user)
        return [c for c in self.calls if c.is_send and (c.ok or include_refused) and c.address in known]

    def texts_to(self, user: str) -> list[str]:
        """The visible words of the accepted messages to this user, in order."""
        return [c.text for c in self.messages_to(user)]

    def last_prompt(self, user: str) -> Call:
        """The latest accepted message with reply buttons or a list (the current question); LookupError if none."""
        for call in reversed(self.messages_to(user)):
            if call.kind in ("button", "list"):
                return call
        raise LookupError(f"no buttons or list sent to {user}: {[c.kind for c in self.messages_to(user)]}")

    def refused(self, code: int | None = None) -> list[Call]:
        """Calls answered with a Graph error (of this code, if given)."""
        return [c for c in self.calls if c.error_code is not None and (code is None or c.error_code == code)]

    # --- plumbing ------------------------------------------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(value.strip(), self.token)

    @staticmethod
    def _graph_error(refusal: _Refusal) -> web.Response:
        info = ERRORS.get(refusal.code)
        error: dict[str, Any] = {
            "message": refusal.message or f"(#{refusal.code}) {info.title if info else 'Error'}",
            "type": refusal.error_type, "code": refusal.code,
            "error_data": {"messaging_product": "whatsapp", "details": refusal.details},
        }
        if refusal.subcode is not None:
            error["error_subcode"] = refusal.subcode
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        status = refusal.http_status or (info.http_status if info else 400)
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{error["message"]}"'
        return web.json_response({"error": error}, status=status, headers=headers)

    def _unauthorized(self) -> _Refusal:
        return _Refusal(190, "Invalid OAuth access token - Cannot parse access token",
                        message="Invalid OAuth access token - Cannot parse access token", http_status=401)

    def _take_failure(self, on: str, addresses: set[str]) -> Failure | None:
        for failure in self.failures:
            if failure.times > 0 and failure.on in (on, "any") and (
                    failure.recipient is None or failure.recipient in addresses):
                failure.times -= 1
                return failure
        return None

    async def _injected(self, request: web.Request, failure: Failure, call: Call) -> web.Response:
        call.status = failure.http_status
        if failure.code == "reset":
            call.status = 0
            await self._record(call)
            reset(request)
            return web.Response(status=500)  # never reaches the client
        if failure.code == "http":
            await self._record(call)
            # A load balancer's page, not a Graph error: Bab must not expect JSON on a 5xx.
            return web.Response(status=failure.http_status, text=failure.message or "Service Unavailable",
                                content_type="text/html")
        info = ERRORS.get(failure.code)
        refusal = _Refusal(failure.code, failure.details or (info.details if info else f"Error {failure.code}"),
                           message=failure.message, http_status=failure.http_status)
        call.error_code = failure.code
        response = self._graph_error(refusal)
        call.response = json.loads(response.text or "{}")
        await self._record(call)
        return response

    async def _refuse(self, call: Call, refusal: _Refusal) -> web.Response:
        response = self._graph_error(refusal)
        call.status = response.status
        call.error_code = refusal.code
        call.response = json.loads(response.text or "{}")
        await self._record(call)
        return response

    async def _answer(self, call: Call, payload: Any) -> web.Response:
        call.response = payload
        await self._record(call)
        return web.json_response(payload)

    def _unknown_object(self, object_id: str, verb: str) -> _Refusal:
        # The Graph API's answer for any id it can't see (Meta: Graph API error handling, code 100 subcode 33).
        return _Refusal(100, f"Object with ID '{object_id}' does not exist.",
                        message=f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
                                "loaded due to missing permissions, or does not support this operation. Please read "
                                "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                        error_type="GraphMethodException", subcode=33)

    # --- POST /<ver>/<phone_number_id>/messages ------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        arrived = self.clock()
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        call = Call("POST", request.path, body if isinstance(body, dict) else {}, arrived)
        if not self._authorized(request):
            return await self._refuse(call, self._unauthorized())
        if request.match_info["phone_number_id"] != self.phone_number_id:
            return await self._refuse(call, self._unknown_object(request.match_info["phone_number_id"], "post"))
        if not isinstance(body, dict):
            return await self._refuse(call, _Refusal(100, "The request body must be a JSON object."))
        if body.get("status") == "read":
            failure = self._take_failure("read", set())
            if failure is not None:
                return await self._injected(request, failure, call)
            try:
                self._validate_read(body)
            except _Refusal as refusal:
                return await self._refuse(call, refusal)
            return await self._answer(call, {"success": True})
        addresses = self.identities(call.address) if call.address else set()
        fault = self.chaos.draw() if self.chaos is not None else None
        if fault is not None and fault not in LOST_ACKS:
            return await self._chaos(request, call, fault)
        failure = self._take_failure("send", addresses) if fault is None else None
        if failure is not None:
            return await self._injected(request, failure, call)
        try:
            self._validate_send(body)
            self._check_limits(call.address or "", arrived)
            if self.enforce_window and call.kind != "template" and not self.window_open(call.address or ""):
                raise _Refusal(131047, ERRORS[131047].details)
        except _Refusal as refusal:
            return await self._refuse(call, refusal)
        to, recipient = body.get("to"), body.get("recipient")
        # Meta (business-scoped-user-ids, "Send message response"): wa_id when sent to a phone, user_id when sent
        # to a BSUID; with both, the phone takes precedence.
        contact = {"input": to, "wa_id": address_of(str(to))} if to is not None else \
            {"input": recipient, "user_id": recipient}
        message_id = wamid(call.address, outbound=True)
        answer = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": message_id}]}
        self._post_status(call, message_id)
        if fault is not None:  # accepted; the answer is what gets lost
            call.fault = fault
            call.response = answer
            await self._record(call)
            return await self._chaos(request, call, fault)
        return await self._answer(call, answer)

    async def _chaos(self, request: web.Request, call: Call, fault: str) -> web.StreamResponse:
        """Answer a send with a random fault (after `_messages` accepted it, for a lost acknowledgement)."""
        assert self.chaos is not None
        if fault not in LOST_ACKS:
            call.fault = fault
            call.status = {"throttle": 400, "5xx": 503}.get(fault, 0)
            if fault == "throttle":
                call.error_code = 130429
            await self._record(call)
        if fault in ("timeout", "lost_late"):
            await asyncio.sleep(self.chaos.delay)  # the client has given up by then
            return web.json_response(call.response or {})
        if fault in ("reset", "lost_reset"):
            reset(request)
            return web.Response(status=500)  # never reaches the client
        if fault == "throttle":
            return self._graph_error(_Refusal(130429, ERRORS[130429].details))
        return web.Response(status=503 if fault == "5xx" else 500, text="Service Unavailable",
                            content_type="text/html")

    def _post_status(self, call: Call, message_id: str) -> None:
        """Post the "sent" status of an accepted message to `status_webhook` in the background, as Meta does."""
        if not self.status_webhook:
            return
        address = call.address or ""
        user = wp.WaUser(user_id=address, wa_id=None) if BSUID_RE.match(address) else \
            wp.WaUser(user_id=f"MA.{address}", wa_id=address)
        callback = call.body.get("biz_opaque_callback_data")
        status = wp.status(user, message_id, "sent", biz_opaque_callback_data=str(callback) if callback else None)
        body, headers = wp.signed(wp.envelope(status), self.app_secret)

        async def post() -> None:
            async with aiohttp.ClientSession() as session, \
                    session.post(self.status_webhook, data=body, headers=headers) as response:
                assert response.status == 200, response.status
            self.statuses_posted += 1

        task = asyncio.create_task(post())
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    def _check_limits(self, address: str, now: float) -> None:
        if self.limits is None:
            return
        if self._throughput is None:
            self._throughput = Gcra(1.0 / self.limits.per_second,
                                    self.limits.per_second_burst or max(1, int(self.limits.per_second)))
        person = min(self.identities(address)) if address else ""  # one bucket per person, however addressed
        pair = self._pairs.setdefault(person, Gcra(self.limits.pair_interval, self.limits.pair_burst))
        # A refused call consumes nothing, so a sender that backs off is not punished twice.
        if not self._throughput.conforms(now):
            self.limit_errors += 1
            raise _Refusal(130429, ERRORS[130429].details)
        if not pair.conforms(now):
            self.limit_errors += 1
            raise _Refusal(131056, ERRORS[131056].details)
        self._throughput.take(now)
        pair.take(now)

    @staticmethod
    def _validate_read(body: dict[str, Any]) -> None:
        # Meta: typing-indicators — {messaging_product, status:"read", message_id[, typing_indicator:{type:"text"}]}.
        if body.get("messaging_product") != "whatsapp":
            raise _Refusal(100, "The parameter messaging_product is required.")
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id.startswith("wamid."):
            raise _Refusal(100, "The parameter message_id is required and must be a WhatsApp message id.")
        indicator = body.get("typing_indicator")
        if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
            raise _Refusal(100, "Param typing_indicator['type'] must be one of {text}.")

    def _validate_send(self, body: dict[str, Any]) -> None:
        if body.get("messaging_product") != "whatsapp":
            raise _Refusal(100, "The parameter messaging_product is required.",
                           message="(#100) The parameter messaging_product is required.")
        if body.get("recipient_type", "individual") not in ("individual", "group"):
            raise _Refusal(100, "Param recipient_type must be one of {INDIVIDUAL, GROUP}.")
        to, recipient = body.get("to"), body.get("recipient")
        if to is None and recipient is None:
            # Meta's example answer when both are omitted (business-scoped-user-ids).
            raise _Refusal(100, "The parameter to is required.", message="The parameter to is required.")
        if to is not None:
            if not isinstance(to, str) or BSUID_RE.match(to.strip()):
                raise _Refusal(131009, "Param to must be a phone number; send a business-scoped user ID in "
                                       "recipient.")
            if not 8 <= len(address_of(to)) <= 15:
                raise _Refusal(131009, "Invalid WhatsApp phone number.")
        elif not isinstance(recipient, str) or not BSUID_RE.match(recipient):
            raise _Refusal(131009, "Param recipient must be a business-scoped user ID (CC.alphanumerics).")
        callback = body.get("biz_opaque_callback_data")
        # Meta: messages API reference, "An arbitrary 512B string, useful for tracking" (256 before, changelog).
        if callback is not None and (not isinstance(callback, str) or len(callback.encode()) > 512):
            raise _Refusal(100, _param("biz_opaque_callback_data", 512))
        context = body.get("context")
        if context is not None and not (isinstance(context, dict) and isinstance(context.get("message_id"), str)):
            raise _Refusal(100, "The parameter context['message_id'] is required.")
        kind = body.get("type", "text")
        validate = {"text": self._v_text, "interactive": self._v_interactive, "template": self._v_template,
                    "reaction": self._v_reaction, "location": self._v_location,
                    "contacts": self._v_contacts, **{k: self._v_media for k in MEDIA_KINDS}}.get(kind)
        if validate is None:
            raise _Refusal(131051, f"Message type {kind!r} is not supported.")
        content = body.get(kind)
        if not isinstance(content, (dict, list)):
            raise _Refusal(100, f"The parameter {kind} is required.")
        validate(kind, content)

    def _v_text(self, kind: str, text: Any) -> None:
        body = text.get("body")
        if not isinstance(body, str) or not body.strip():
            raise _Refusal(100, "The parameter text['body'] is required.")
        if _length(body) > 4096:  # Meta: messages/text-messages, "Maximum 4096 characters"
            raise _Refusal(100, _param("text['body']", 4096))
        if "preview_url" in text and not isinstance(text["preview_url"], bool):
            raise _Refusal(100, "Param text['preview_url'] must be a boolean.")

    def _v_interactive(self, kind: str, inter: Any) -> None:
        itype = inter.get("type")
        if itype not in ("button", "list", "cta_url"):
            raise _Refusal(100, "Param interactive['type'] must be one of {BUTTON, LIST, CTA_URL}.")
        body = (inter.get("body") or {}).get("text")
        if not isinstance(body, str) or not body.strip():
            raise _Refusal(100, "The parameter interactive['body']['text'] is required.")
        if _length(body) > 1024:  # Meta: interactive-reply-buttons / -list messages, body "Maximum 1024"
            raise _Refusal(100, _param("interactive['body']['text']", 1024))
        header = inter.get("header")
        if header is not None:
            htype = header.get("type") if isinstance(header, dict) else None
            allowed = ("text",) if itype == "list" else ("text", "image", "video", "document")
            if htype not in allowed:
                raise _Refusal(100, f"Param interactive['header']['type'] must be one of {set(allowed)}.")
            if htype == "text":
                if not str(header.get("text") or "").strip():
                    raise _Refusal(100, "The parameter interactive['header']['text'] is required.")
                if _length(header["text"]) > 60:
                    raise _Refusal(100, _param("interactive['header']['text']", 60))
            else:
                self._v_media_ref(f"interactive['header']['{htype}']", header.get(htype))
        footer = inter.get("footer")
        if footer is not None:
            if not isinstance(footer, dict) or not str(footer.get("text") or "").strip():
                raise _Refusal(100, "The parameter interactive['footer']['text'] is required.")
            if _length(footer["text"]) > 60:
                raise _Refusal(100, _param("interactive['footer']['text']", 60))
        action = inter.get("action")
        if not isinstance(action, dict):
            raise _Refusal(100, "The parameter interactive['action'] is required.")
        {"button": self._v_buttons, "list": self._v_list, "cta_url": self._v_cta}[itype](action)

    @staticmethod
    def _v_buttons(action: dict[str, Any]) -> None:
        # Meta: interactive-reply-buttons-messages — up to 3 buttons, id ≤ 256, title ≤ 20, unique. The details
        # strings are the ones Meta returns (131009 "Parameter value is not valid"), as logged by its users.
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise _Refusal(131009, "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
        ids, titles = [], []
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(button, dict) or button.get("type") != "reply" or not isinstance(reply, dict):
                raise _Refusal(100, "Param interactive['action']['buttons'][]['type'] must be one of {REPLY}.")
            bid, title = reply.get("id"), reply.get("title")
            if not isinstance(bid, str) or not 1 <= _length(bid) <= 256:
                raise _Refusal(131009, "Button id length invalid. Min length: 1, Max length: 256")
            if not isinstance(title, str) or not 1 <= _length(title) <= 20 or not title.strip():
                raise _Refusal(131009, "Button title length invalid. Min length: 1, Max length: 20")
            ids.append(bid)
            titles.append(title)
        if len(set(ids)) != len(ids):
            raise _Refusal(131009, "Button id must be unique.")
        if len(set(titles)) != len(titles):
            raise _Refusal(131009, "Button title must be unique.")

    @staticmethod
    def _v_list(action: dict[str, Any]) -> None:
        # Meta: interactive-list-messages — button ≤ 20; up to 10 sections "with up to 10 rows for all sections
        # combined"; section title ≤ 24, required with more than one section; row id ≤ 200, title ≤ 24,
        # description ≤ 72.
        label = action.get("button")
        if not isinstance(label, str) or not 1 <= _length(label) <= 20 or not label.strip():
            raise _Refusal(131009, "Button title length invalid. Min length: 1, Max length: 20")
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise _Refusal(131009, "Invalid sections count. Min allowed sections: 1, Max allowed sections: 10")
        rows: list[dict[str, Any]] = []
        for section in sections:
            if not isinstance(section, dict) or not isinstance(section.get("rows"), list) or not section["rows"]:
                raise _Refusal(100, "The parameter interactive['action']['sections'][]['rows'] is required.")
            title = section.get("title")
            if len(sections) > 1 and (not isinstance(title, str) or not title.strip()):
                raise _Refusal(131009, "Section title is required when there are multiple sections.")
            if title is not None and _length(title) > 24:
                raise _Refusal(131009, "Section title length invalid. Min length: 1, Max length: 24")
            rows.extend(section["rows"])
        if len(rows) > 10:
            raise _Refusal(131009, "Total row count exceed max allowed count: 10")
        for row in rows:
            rid, title = row.get("id"), row.get("title")
            if not isinstance(rid, str) or not 1 <= _length(rid) <= 200:
                raise _Refusal(131009, "Row id length invalid. Min length: 1, Max length: 200")
            if not isinstance(title, str) or not 1 <= _length(title) <= 24 or not title.strip():
                raise _Refusal(131009, "Row title length invalid. Min length: 1, Max length: 24")
            if _length(row.get("description")) > 72:
                raise _Refusal(131009, "Row description length invalid. Min length: 0, Max length: 72")
        ids = [row["id"] for row in rows]
        if len(set(ids)) != len(ids):
            raise _Refusal(131009, "Row id must be unique.")

    @staticmethod
    def _v_cta(action: dict[str, Any]) -> None:
        # Meta: interactive-cta-url-messages — action {name:"cta_url", parameters:{display_text ≤ 20, url}}.
        params = action.get("parameters")
        if action.get("name") != "cta_url" or not isinstance(params, dict):
            raise _Refusal(100, "Param interactive['action']['name'] must be cta_url, with parameters.")
        text = params.get("display_text")
        if not isinstance(text, str) or not 1 <= _length(text) <= 20 or not text.strip():
            raise _Refusal(131009, "Display text length invalid. Min length: 1, Max length: 20")
        if not re.match(r"^https?://\S+$", str(params.get("url") or "")):
            raise _Refusal(131009, "Param interactive['action']['parameters']['url'] must be a valid URL.")

    def _v_media_ref(self, path: str, ref: Any) -> None:
        if not isinstance(ref, dict) or ("id" in ref) == ("link" in ref):
            raise _Refusal(100, f"Param {path} must have exactly one of id or link.")
        if "id" in ref and str(ref["id"]) not in self.media:
            raise _Refusal(100, f"Param {path}['id'] is not a valid whatsapp business account media attachment ID")
        if "link" in ref and not re.match(r"^https?://\S+$", str(ref["link"])):
            raise _Refusal(131009, f"Param {path}['link'] must be a valid URL.")

    def _v_media(self, kind: str, content: Any) -> None:
        # Meta: messages/image-messages, document-messages… — {id} of an upload or {link}; caption ≤ 1024.
        self._v_media_ref(kind, content)
        if "caption" in content:
            if kind in ("audio", "sticker"):
                raise _Refusal(100, f"Param {kind}['caption'] is not supported for {kind} messages.")
            if _length(content["caption"]) > 1024:
                raise _Refusal(100, _param(f"{kind}['caption']", 1024))
        if "filename" in content and (kind != "document" or not isinstance(content["filename"], str)):
            raise _Refusal(100, f"Param {kind}['filename'] is only valid as a string on documents.")

    def _v_template(self, kind: str, template: Any) -> None:
        # Meta: messages/template-messages — {name, language:{code}, components:[{type:"body", parameters:[…]}]}.
        name = template.get("name")
        code = (template.get("language") or {}).get("code") if isinstance(template.get("language"), dict) else None
        if not isinstance(name, str) or not name:
            raise _Refusal(100, "The parameter template['name'] is required.")
        if not isinstance(code, str) or not code:
            raise _Refusal(100, "The parameter template['language']['code'] is required.")
        if (name, code) not in self.templates:
            raise _Refusal(132001, f"template name ({name}) does not exist in {code}")
        got = 0
        for component in template.get("components") or []:
            for param in component.get("parameters") or []:
                ptype = param.get("type")
                if ptype == "text" and not str(param.get("text") or "").strip():
                    raise _Refusal(131008, "Parameter of type text is missing text value")
                if ptype not in ("text", "currency", "date_time", "image", "document", "video", "location",
                                 "payload", "action", "coupon_code"):
                    raise _Refusal(100, f"Param template['components'][]['parameters'][]['type'] {ptype!r} is "
                                        "not valid.")
            if str(component.get("type", "")).lower() == "body":
                got += len(component.get("parameters") or [])
        expected = self.templates[(name, code)]
        if got != expected:
            raise _Refusal(132000, f"body: number of localizable_params ({got}) does not match the expected "
                                   f"number of params ({expected})")

    @staticmethod
    def _v_reaction(kind: str, reaction: Any) -> None:
        # Meta: messages/reaction-messages — {message_id, emoji}; an empty emoji removes the reaction.
        if not isinstance(reaction.get("message_id"), str) or not reaction["message_id"]:
            raise _Refusal(100, "The parameter reaction['message_id'] is required.")
        if not isinstance(reaction.get("emoji"), str):
            raise _Refusal(100, "The parameter reaction['emoji'] is required.")

    @staticmethod
    def _v_location(kind: str, place: Any) -> None:
        if not all(isinstance(place.get(k), (int, float)) for k in ("latitude", "longitude")):
            raise _Refusal(100, "The parameters location['latitude'] and location['longitude'] are required.")

    @staticmethod
    def _v_contacts(kind: str, cards: Any) -> None:
        if not isinstance(cards, list) or not cards:
            raise _Refusal(100, "The parameter contacts must be a non-empty list.")

    # --- media -------------------------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """POST /<ver>/<phone_number_id>/media, multipart {messaging_product, type, file} → {"id"}."""
        call = Call("POST", request.path, {}, self.clock())
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._authorized(request):
            return await self._refuse(call, self._unauthorized())
        if request.match_info["phone_number_id"] != self.phone_number_id:
            return await self._refuse(call, self._unknown_object(request.match_info["phone_number_id"], "post"))
        form = await request.post() if request.content_type == "multipart/form-data" else None
        upload = form.get("file") if form is not None else None
        call.body = {k: str(v) for k, v in (form or {}).items() if not isinstance(v, web.FileField)}
        failure = self._take_failure("media", set())
        if failure is not None:
            return await self._injected(request, failure, call)
        try:
            if form is None or form.get("messaging_product") != "whatsapp":
                raise _Refusal(100, "The parameter messaging_product is required.")
            if not isinstance(upload, web.FileField):
                raise _Refusal(100, "The parameter file is required.")
            mime = str(form.get("type") or upload.content_type or "")
            base = mime.split(";")[0].strip().lower()
            if base not in MEDIA_TYPES:
                raise _Refusal(100, "Param file must be a file with one of the following types: "
                                    f"{', '.join(sorted(MEDIA_TYPES))}. Received file of type '{mime}'.")
            data = upload.file.read()
            kind, limit = MEDIA_TYPES[base]
            if len(data) > limit:
                raise _Refusal(131053, f"{kind} files may be at most {limit} bytes; this one has {len(data)}.")
        except _Refusal as refusal:
            return await self._refuse(call, refusal)
        media_id = str(10**15 + secrets.randbelow(9 * 10**15))  # Meta's media ids are 15-16 digit numbers
        self.media[media_id] = Media(media_id, data, mime, upload.filename)
        call.body.update(filename=upload.filename or "", size=str(len(data)))
        return await self._answer(call, {"id": media_id})

    async def _media_info(self, request: web.Request) -> web.StreamResponse:
        """GET /<ver>/<media_id> → {messaging_product, url, mime_type, sha256, file_size, id}."""
        call = Call("GET", request.path, dict(request.query), self.clock())
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._authorized(request):
            return await self._refuse(call, self._unauthorized())
        failure = self._take_failure("media", set())
        if failure is not None:
            return await self._injected(request, failure, call)
        media = self.media.get(request.match_info["media_id"])
        if media is None:
            return await self._refuse(call, self._unknown_object(request.match_info["media_id"], "get"))
        opaque = secrets.token_urlsafe(18)
        self._downloads[opaque] = (media.id, self.clock())
        # Shaped like Meta's lookaside.fbsbx.com/whatsapp_business/attachments/?mid=…&ext=…&hash=… URLs.
        url = f"{self.url}/media-download/{opaque}?mid={media.id}&ext={int(self.wall_clock())}&hash={opaque[:12]}"
        return await self._answer(call, {
            "messaging_product": "whatsapp", "url": url, "mime_type": media.mime_type, "sha256": media.sha256_hex,
            "file_size": str(len(media.data)) if self.file_size_as_string else len(media.data), "id": media.id})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """GET of the URL `_media_info` gave: the bytes, only with the bearer header and within the URL's 5 min."""
        call = Call("GET", request.path, dict(request.query), self.clock())
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._authorized(request):
            # Meta's media URLs need the same bearer token (heyoo's download without it fails).
            call.status = 401
            await self._record(call)
            return web.Response(status=401, text="Unauthorized")
        failure = self._take_failure("media", set())
        if failure is not None:
            return await self._injected(request, failure, call)
        found = self._downloads.get(request.match_info["opaque"])
        if found is None or self.clock() - found[1] > self.media_url_ttl or found[0] not in self.media:
            call.status = 404
            await self._record(call)
            return web.Response(status=404, text="URL signature expired")
        media = self.media[found[0]]
        await self._record(call)
        return web.Response(body=media.data, content_type=media.mime_type.split(";")[0].strip())
