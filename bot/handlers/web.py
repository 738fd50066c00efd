"""The web chat channel: the page, and a JSON API with long polling behind it.

A visitor is an identity like any other, keyed by a random token in an HttpOnly cookie (only its hash is stored).
This adapter verifies and parses requests, calls the core, and renders the messages the dispatcher delivered
(read through `bot.services.web_chat`; it never opens the database itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import math
import secrets
import string
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.domain import privacy_facts
from bot.domain.deadlines import CASABLANCA
from bot.domain.privacy_facts import PrivacyFacts
from bot.domain.validation import MAX_MESSAGE_CHARS
from bot.flows.labels import STATUS_LABELS
from bot.flows.spec import Inbound, InboundKind, Outbound
from bot.i18n import LANGUAGE_NAMES, LOCALES, N_, locale_for_hint, translator
from bot.services import media
from bot.services.conversations import Conversations, NewAttachment
from bot.services.web_chat import CHANNEL as CHANNEL
from bot.services.web_chat import Delivered, Refused, Said, WebChat

log = logging.getLogger(__name__)
COOKIE = "bab_chat"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_BODY_BYTES = 64 * 1024

UI_STRINGS = {
    "title": N_("Bab: ask your collectivity"),
    "placeholder": N_("Write your message…"),
    "send": N_("Send"),
    "attach_photo": N_("Send a photo"),
    "share_location": N_("Share my location"),
    "offline": N_("Connection lost. Trying again…"),
    "reconnected": N_("Connected again."),
    "empty_message": N_("Write something first."),
    "sending_failed": N_("The message could not be sent. Please try again."),
    "typing": N_("Bab is writing…"),
    "today": N_("Today"),
    "yesterday": N_("Yesterday"),
    "receipt": N_("Your receipt"),
    "reference": N_("Reference"),
    "code": N_("Follow-up code"),
    "code_hint": N_("Keep the reference and this code: with both you can follow your request from another phone or "
                    "computer."),
    "copy": N_("Copy"),
    "copied": N_("Copied."),
    "share": N_("Share"),
    "print": N_("Print"),
    "leave": N_("Leave this device"),
    "leave_confirm": N_("Leave this device? The conversation disappears from this screen. Keep your reference and "
                        "code to follow your requests elsewhere."),
    "left": N_("You left this device. Nothing of your conversation is shown here any more."),
    "photo_sent": N_("Photo you sent"),
    "location_sent": N_("Location you shared"),
    "open_map": N_("Open the map"),
    "reopen_done": N_("Request {reference} is found. Type menu and choose My requests to follow it here."),
    "status": N_("Status"),
    "to": N_("To"),
    "received_on": N_("Received on"),
    "due_on": N_("Answer due by"),
}
# The questions that ask for a collectivity: the embedded page offers its own collectivity under them.
PLACE_QUESTIONS = (
    N_("Which collectivity holds this information? Type the name of the commune, province or region."),
    N_("Which commune, province or region is it about? Type its name, or share your location."),
)
WELCOME = {
    "what": N_("Bab passes your requests for information (law 31-13) and your complaints to your commune, province "
               "or region."),
    "how": N_("You get a reference and the legal date of the answer, and the answer reaches you here."),
    "data": N_("It is free. What you write is used only to handle your request."),
    "privacy": N_("Privacy notice"),
    "start_access": N_("Request information"),
    "start_feedback": N_("Complaint, observation or suggestion"),
    "start_follow": N_("Follow a request"),
    "language": N_("Language"),
    "noscript": N_("To chat with Bab on this page, turn on JavaScript in your browser. Without it you can still read "
                   "the privacy notice and the transparency figures."),
    "transparency": N_("How collectivities answer"),
    "reopen_title": N_("Follow a request from this device"),
    "reopen_reference": N_("Reference (BAB-…)"),
    "reopen_code": N_("Follow-up code (on your receipt)"),
    "reopen_submit": N_("Find my request"),
    "embedded_for": N_("For {place}"),
}


MAX_ID = 2 ** 63 - 1  # the largest id a BIGINT column holds: a larger one is a bad request, not a crash

class WebChannel:
    """Delivery side of the web chat: 'sending' is marking the row delivered and waking the visitor's poll."""

    in_database = True  # the dispatcher marks the rows sent when it claims them (bot.services.outbox.LocalSender)

    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.closing = False

    def close(self) -> None:
        """The server is stopping: every long poll answers now rather than holding the shutdown for 25 s."""
        self.closing = True
        for event in self._waiters.values():
            event.set()

    async def send(self, external_id: str, message: Outbound) -> None:
        """Nothing to push: the browser fetches delivered rows itself."""

    def delivered(self, channel: str, external_id: str) -> None:
        """Wake the long polls of this visitor (called by the dispatcher after it recorded a delivery)."""
        if channel == CHANNEL:
            self._waiters[external_id].set()

    async def wait(self, external_id: str, timeout: float) -> None:
        """Wait until something is delivered to this visitor, or `timeout` seconds (or the server stops)."""
        if self.closing:
            return
        event = self._waiters[external_id]
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            # Forget the visitor between polls so the map does not grow with every visitor ever seen;
            # a second tab polling at the same moment falls back on its periodic re-check.
            self._waiters.pop(external_id, None)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """What the page needs of the settings: the default language, the origins that may frame it, the privacy facts."""

    default_locale: str = "ary"
    embed_origins: tuple[str, ...] = ()
    privacy: PrivacyFacts = field(default_factory=PrivacyFacts)  # what the privacy notice states


CONVERSATIONS = web.AppKey("conversations", Conversations)
WEB_CHAT = web.AppKey("web_chat", WebChat)
WEB_CHANNEL = web.AppKey("web_channel", WebChannel)
UPLOADS = web.AppKey("uploads", Path)
SECURE_COOKIES = web.AppKey("secure_cookies", bool)
WEB_SETTINGS = web.AppKey("web_settings", WebSettings)

STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".html": "text/html",
                ".ico": "image/x-icon", ".png": "image/png"}
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml", "text/csv")
COOKIE_DAYS = 90
CURRENT = ' aria-current="true"'


def content_security_policy(frame_ancestors: str) -> str:
    """Everything from this origin only; nothing inline; framing as allowed."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {frame_ancestors}")


@web.middleware
async def headers_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Security headers on every answer, cache rules by kind of path, and compression of text."""
    response: web.StreamResponse = await handler(request)
    settings = request.app.get(WEB_SETTINGS) or WebSettings()
    path = request.path
    framable = path in ("/", "/privacy") or path.startswith("/transparency")
    ancestors = " ".join(("'self'", *settings.embed_origins)) if framable else "'none'"
    response.headers.setdefault("Content-Security-Policy", content_security_policy(ancestors))
    if not (framable and settings.embed_origins):
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framable else "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
    # The embed snippet is loaded by collectivities' own sites; everything else is for this origin only.
    response.headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin" if path == "/embed.js" else "same-origin")
    if path.startswith("/static/") or path in ("/favicon.ico", "/favicon.svg"):
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
    elif path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    else:
        response.headers.setdefault("Cache-Control", "no-cache")
    if isinstance(response, web.Response) and not isinstance(response, web.FileResponse) and (
            (response.content_type or "").startswith(COMPRESSIBLE)) and response.body is not None and len(
            response.body) > 512:  # type: ignore[arg-type]
        response.enable_compression()
    return response


def visitor_id(token: str) -> str:
    """The stored identity key for a cookie token: its hash, so a database leak gives no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_of(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token if token and 20 <= len(token) <= 100 and token.isascii() else None


def json_error(request: web.Request, locale: str, message: str, status: int) -> web.HTTPException:
    """An HTTP error whose JSON body explains `message` in the visitor's language."""
    error = web.HTTPException(text=json.dumps({"error": translator(locale)(message)}, ensure_ascii=False),
                              content_type="application/json")
    error.set_status(status)
    return error


def require_visitor(request: web.Request) -> str:
    """The visitor's identity key; without a valid cookie, a 401 that asks them to reload the page."""
    token = token_of(request)
    if token is None:
        raise json_error(request, request.app[CONVERSATIONS].default_locale,
                         N_("Your chat session was not found. Please reload the page."), 401)
    return visitor_id(token)


def asked_locale(request: web.Request) -> str | None:
    """The language the page was asked in: ?lang=, else the browser's first supported language, else None."""
    wanted = request.query.get("lang", "")
    if wanted in LOCALES:
        return wanted
    for part in request.headers.get("Accept-Language", "").split(",")[:8]:
        code = part.split(";")[0].strip()
        if code:
            tag = code.split("-")[0].lower()
            if tag in LOCALES or tag == "ar":
                return locale_for_hint(code, request.app[WEB_SETTINGS].default_locale)
    return None


async def visitor_locale(request: web.Request) -> str:
    """The language of the visitor's conversation; before they have one, the page's (see `asked_locale`)."""
    conversations = request.app[CONVERSATIONS]
    token = token_of(request)
    if token is not None and await request.app[WEB_CHAT].has_conversation(visitor_id(token)):
        return await conversations.locale_of(CHANNEL, visitor_id(token))
    return asked_locale(request) or conversations.default_locale


def direction(locale: str) -> str:
    return translator(locale).direction


def moroccan(moment: datetime) -> str:
    """The wall-clock time in Morocco, without offset: the page shows it as is (browsers' zone data vary)."""
    return moment.astimezone(CASABLANCA).strftime("%Y-%m-%dT%H:%M:%S")


def render_card(card: dict[str, Any], locale: str, chat: WebChat) -> dict[str, Any]:
    """A receipt card: the reference, its code, the addressee and the dates as the locale writes them."""
    t = translator(locale)
    found: dict[str, Any] = {"kind": str(card.get("kind") or "receipt"), "reference": str(card.get("reference", ""))}
    if card.get("code"):
        found["code"] = str(card["code"])
    place = chat.place(str(card.get("place") or ""), locale)
    if place:
        found["to"] = place
    for key in ("received_on", "due_on"):
        try:
            found[key] = t.date(date.fromisoformat(str(card.get(key))))
        except ValueError:
            pass
    return found


def render(message: Delivered, chat: WebChat) -> dict[str, Any]:
    """A bot message as the page draws it."""
    payload = message.payload
    locale = str(payload.get("locale") or "fr")
    files = [{"id": f.get("id"), "kind": f.get("kind"), "url": f"/api/files/{f.get('id')}"}
             for f in payload.get("files", []) if isinstance(f, dict)]
    drawn = {"id": message.id, "from": "bot", "text": str(payload.get("text", "")),
             "options": payload.get("options", []), "version": payload.get("version"), "locale": locale,
             "dir": direction(locale), "at": message.at.isoformat(), "local": moroccan(message.at), "files": files}
    card = payload.get("card")
    if isinstance(card, dict) and card.get("reference"):
        drawn["card"] = render_card(card, locale, chat)
    return drawn


def render_said(line: Said) -> dict[str, Any]:
    """Something the visitor sent, as the page draws it again after a reload."""
    drawn: dict[str, Any] = {"id": None, "from": "user", "text": line.text, "options": [], "version": None,
                             "locale": "", "dir": "auto", "at": line.at.isoformat(), "local": moroccan(line.at),
                             "kind": line.kind}
    if line.kind == "photo" and line.file_id is not None:
        drawn["image"] = f"/api/files/{line.file_id}"
    if line.kind == "location" and line.lat is not None and line.lon is not None:
        drawn["location"] = {"lat": line.lat, "lon": line.lon, "place": line.place,
                             "map": f"https://www.openstreetmap.org/?mlat={line.lat:.5f}&mlon={line.lon:.5f}"
                                    f"#map=16/{line.lat:.5f}/{line.lon:.5f}"}
    return drawn


async def error_response(request: web.Request, message: str, status: int, **params: object) -> web.Response:
    """A JSON error in the visitor's language."""
    return web.json_response({"error": translator(await visitor_locale(request))(message, **params)}, status=status)


def new_cookie(response: web.StreamResponse, request: web.Request) -> None:
    """A fresh visitor cookie; cross-site (for the embed snippet) only over HTTPS with embedding allowed."""
    secure = request.app[SECURE_COOKIES]
    embedded = secure and bool(request.app[WEB_SETTINGS].embed_origins)
    response.set_cookie(COOKIE, secrets.token_urlsafe(32), max_age=COOKIE_DAYS * 24 * 3600, httponly=True,
                        samesite="None" if embedded else "Lax", secure=secure, path="/")


def page_values(locale: str, request: web.Request) -> dict[str, str]:
    """The words of the first screen, escaped for HTML."""
    t = translator(locale)
    values = {key: html.escape(t(message)) for key, message in WELCOME.items()}
    values["title"] = html.escape(t(UI_STRINGS["title"]))
    values["lang"], values["dir"] = locale, t.direction
    place_code = request.query.get("place", "")[:16]
    place = request.app[WEB_CHAT].place(place_code, locale) if place_code else None
    values["place_code"] = html.escape(place_code if place else "")
    values["place_name"] = html.escape(place or "")
    values["embedded_for"] = html.escape(t(WELCOME["embedded_for"], place=place)) if place else ""
    suffix = f"&amp;place={html.escape(place_code)}" if place else ""
    values["languages"] = "".join(
        f'<li><a href="/?lang={code}{suffix}" lang="{code}" hreflang="{code}"'
        f'{CURRENT if code == locale else ""}>{html.escape(LANGUAGE_NAMES[code])}</a></li>' for code in LOCALES)
    values["privacy_href"] = f"/privacy?lang={locale}"
    values["transparency_href"] = f"/transparency?lang={locale}"  # the page in the locale's script
    return values


async def index(request: web.Request) -> web.StreamResponse:
    """The chat page, its first screen written in the visitor's language (readable without JavaScript)."""
    locale = await visitor_locale(request)
    template = string.Template((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    response = web.Response(text=template.safe_substitute(page_values(locale, request)), content_type="text/html",
                            charset="utf-8")
    if token_of(request) is None:
        new_cookie(response, request)
    return response


async def privacy(request: web.Request) -> web.Response:
    """The privacy notice, in the asked language."""
    locale = asked_locale(request) or await visitor_locale(request)
    t = translator(locale)
    facts = (request.app.get(WEB_SETTINGS) or WebSettings()).privacy
    items = "".join((f"<h2>{html.escape(heading)}</h2>" if heading else "")
                    + ("".join(f"<p>{html.escape(line)}</p>" for line in lines) if not heading
                       else "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
                    for heading, lines in privacy_facts.notice(t, facts))
    title = html.escape(t(WELCOME["privacy"]))
    body = (f'<!doctype html><html lang="{locale}" dir="{t.direction}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Bab</title>'
            f'<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
            f'<link rel="stylesheet" href="/static/chat.css"></head><body class="page"><main class="doc">'
            f'<h1>{title}</h1>{items}<p><a href="/?lang={locale}">Bab</a></p></main></body></html>')
    return web.Response(text=body, content_type="text/html", charset="utf-8")


async def static_file(request: web.Request) -> web.Response:
    """A file of bot/static."""
    return serve_static(request, request.match_info["name"])


def serve_static(request: web.Request, name: str) -> web.Response:
    """The named file of bot/static with its ETag (the files are small: read on each request)."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in STATIC_TYPES:
        raise web.HTTPNotFound()
    body = path.read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, content_type=STATIC_TYPES[path.suffix], headers={"ETag": etag})


async def favicon(request: web.Request) -> web.Response:
    return serve_static(request, "favicon.svg")


async def embed_script(request: web.Request) -> web.Response:
    return serve_static(request, "embed.js")


async def ui(request: web.Request) -> web.Response:
    t = translator(await visitor_locale(request))
    strings = {key: t(message) for key, message in UI_STRINGS.items()}
    strings["too_long"] = t(N_("Your message is too long: I can read up to {count} characters at a time."),
                            count=MAX_MESSAGE_CHARS)
    return web.json_response({"locale": t.locale, "dir": t.direction, "max_chars": MAX_MESSAGE_CHARS,
                              "now_local": moroccan(request.app[WEB_CHAT].clock.now()),
                              "strings": strings, "place_questions": [t(q) for q in PLACE_QUESTIONS]})


async def transcript(request: web.Request) -> web.Response:
    chat = request.app[WEB_CHAT]
    found = await chat.transcript(require_visitor(request))
    messages = [render(line, chat) if isinstance(line, Delivered) else render_said(line) for line in found.lines]
    return web.json_response({"messages": messages, "last_id": found.last_id})


async def poll(request: web.Request) -> web.Response:
    visitor = require_visitor(request)
    try:
        after = int(request.query.get("after", "0"))
        wait = float(request.query.get("wait", "25"))
        if not (0 <= after <= MAX_ID and math.isfinite(wait)):  # NaN passes any clamp; ids past BIGINT fail SQL
            raise ValueError("out of range")
        wait = min(max(wait, 0.0), 30.0)
    except ValueError:
        raise json_error(request, await visitor_locale(request),
                         N_("I could not read that message. Please type it again."), 400) from None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    chat = request.app[WEB_CHAT]
    channel = request.app[WEB_CHANNEL]
    while True:
        rows = await chat.delivered(visitor, after)
        remaining = deadline - loop.time()
        if rows or remaining <= 0 or channel.closing:
            break
        # Another worker may deliver: look again at least every 5 s even without a local wake-up.
        await channel.wait(visitor, min(remaining, 5.0))
    return web.json_response({"messages": [render(row, chat) for row in rows],
                              "last_id": rows[-1].id if rows else after})


async def read_json(request: web.Request) -> dict[str, Any] | None:
    """The JSON object of a small body, or None."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    try:
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        body = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_BODY_BYTES else None
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def post_message(request: web.Request) -> web.Response:
    visitor = require_visitor(request)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return await error_response(request, N_("This message is too long."), 413)
    body = await read_json(request)
    if body is None:
        return await error_response(request, N_("I could not read that message. Please type it again."), 400)
    # The page's language (the first screen's choice) comes first; else the browser's.
    page_locale = body.get("locale") if body.get("locale") in LOCALES else None
    hint = page_locale or request.headers.get("Accept-Language", "")[:2] or None
    choice = body.get("choice")
    if isinstance(choice, dict) and isinstance(choice.get("id"), str) and len(choice["id"]) <= 64:
        version = choice.get("version")
        inbound = Inbound(kind=InboundKind.CHOICE, choice_id=choice["id"],
                          version=version if isinstance(version, int) else None, locale_hint=hint)
    elif isinstance(body.get("text"), str):
        # Longer texts go through so that the bot explains the limit in the conversation itself.
        inbound = Inbound(kind=InboundKind.TEXT, text=body["text"][: MAX_MESSAGE_CHARS * 3], locale_hint=hint)
    else:
        return await error_response(request, N_("I could not read that message. Please type it again."), 400)
    await request.app[CONVERSATIONS].handle(CHANNEL, visitor, inbound)
    return web.json_response({"ok": True}, status=202)


async def post_location(request: web.Request) -> web.Response:
    visitor = require_visitor(request)
    try:
        body = await request.json()
        lat, lon = float(body["lat"]), float(body["lon"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("out of range")
    except (ValueError, KeyError, TypeError):
        return await error_response(request, N_("I could not read that location."), 400)
    await request.app[CONVERSATIONS].handle(CHANNEL, visitor, Inbound(kind=InboundKind.LOCATION, lat=lat, lon=lon))
    return web.json_response({"ok": True}, status=202)


async def post_upload(request: web.Request) -> web.Response:
    visitor = require_visitor(request)
    try:
        reader = await request.multipart()
        part = await reader.next()
    except (ValueError, AssertionError, KeyError):
        return await error_response(request, N_("Please send a photo (JPEG, PNG or GIF)."), 400)
    if part is None or getattr(part, "name", None) != "file":
        return await error_response(request, N_("Please send a photo (JPEG, PNG or GIF)."), 400)
    data = bytearray()
    while chunk := await part.read_chunk():  # type: ignore[union-attr]
        data.extend(chunk)
        if len(data) > MAX_UPLOAD_BYTES:
            return await error_response(request, N_("This photo is too large: 5 MB at most."), 413)
    stored = media.store(request.app[UPLOADS], bytes(data))  # photos, and the PDFs staff attach to answers
    if stored is None:
        return await error_response(request, N_("Please send a photo (JPEG, PNG or GIF) or a PDF document."), 415)
    inbound_kind = InboundKind.PHOTO if stored.kind == "photo" else InboundKind.DOCUMENT
    await request.app[CONVERSATIONS].handle(CHANNEL, visitor, Inbound(kind=inbound_kind), attachment=NewAttachment(
        kind=stored.kind, ref=stored.ref, mime=stored.mime, size=stored.size))
    return web.json_response({"ok": True}, status=202)


async def get_file(request: web.Request) -> web.StreamResponse:
    """A file the visitor sent, or was sent (an answer's documents); 404 for anything else, existing or not."""
    visitor = require_visitor(request)
    try:
        file_id = int(request.match_info["file_id"])
        if not 0 < file_id <= MAX_ID:
            raise ValueError("out of range")
    except ValueError:
        raise web.HTTPNotFound() from None
    found = await request.app[CONVERSATIONS].file_for(CHANNEL, visitor, file_id)
    path = media.path_of(request.app[UPLOADS], found.ref) if found is not None else None
    if found is None or path is None:
        raise web.HTTPNotFound()
    # Decrypted in memory (files are at most media.MAX_FILE_BYTES): a FileResponse would serve the ciphertext.
    return web.Response(body=media.read(path), headers={"Content-Type": found.mime or "application/octet-stream",
                                                        "X-Content-Type-Options": "nosniff",
                                                        "Content-Disposition": "inline",
                                                        "Cache-Control": "private, max-age=3600"})


async def leave(request: web.Request) -> web.Response:
    """End this browser's session: its conversation is detached and the cookie replaced."""
    identity = await request.app[WEB_CHAT].leave(require_visitor(request))
    log.info("web visitor left identity=%s", identity)
    response = web.json_response({"ok": True})
    new_cookie(response, request)
    return response


def client_address(request: web.Request) -> str | None:
    """The visitor's address: the one the server saw, or, from a proxy on this machine (the deployment's nginx),
    the last X-Forwarded-For entry, the one that proxy added (the ones before it are the client's to forge)."""
    remote = request.remote
    if remote in ("127.0.0.1", "::1"):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        return forwarded or remote
    return remote


async def reopen(request: web.Request) -> web.Response:
    """Find a request again with its reference and follow-up code; this browser then follows it."""
    visitor = require_visitor(request)
    body = await read_json(request)
    reference, code = (body or {}).get("reference"), (body or {}).get("code")
    if not isinstance(reference, str) or not isinstance(code, str) or len(code) > 40:
        return await error_response(request, N_("Type the reference and the follow-up code of your receipt."), 400)
    chat = request.app[WEB_CHAT]
    found = await chat.reopen(visitor, reference, code, client_address(request))
    if isinstance(found, Refused):
        if found.retry_at is not None:
            log.info("web reopen refused: too many wrong tries")
            # The time in Morocco, as the receipts and the chat show it.
            return await error_response(request, N_("Too many wrong tries. For your safety, try again at {time} "
                                                    "(Moroccan time)."), 429,
                                        time=found.retry_at.astimezone(CASABLANCA).strftime("%H:%M"))
        log.info("web reopen refused")
        return await error_response(request, N_("This reference and code do not match. Check them on your receipt; "
                                                "after five wrong tries, wait a quarter of an hour."), 403)
    locale = await visitor_locale(request)
    t = translator(locale)
    log.info("web reopen reference=%s", found.reference)
    return web.json_response({
        "reference": found.reference, "to": chat.place(found.place_code, locale) or found.place_code,
        "status": t(STATUS_LABELS.get(found.status, found.status)), "received_on": t.date(found.received_on),
        "due_on": t.date(found.due_on),
        "text": t(UI_STRINGS["reopen_done"], reference=found.reference)})


def add_routes(app: web.Application) -> None:
    """Register the page and its API on `app`."""
    app.router.add_get("/", index)
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/favicon.svg", favicon)
    app.router.add_get("/embed.js", embed_script)
    app.router.add_get("/api/ui", ui)
    app.router.add_get("/api/transcript", transcript)
    app.router.add_get("/api/messages", poll)
    app.router.add_post("/api/messages", post_message)
    app.router.add_post("/api/location", post_location)
    app.router.add_post("/api/upload", post_upload)
    app.router.add_post("/api/leave", leave)
    app.router.add_post("/api/reopen", reopen)
    app.router.add_get("/api/files/{file_id}", get_file)
    app.router.add_get("/static/{name}", static_file)
