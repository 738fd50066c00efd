"""The web chat channel: the page, and a JSON API with long polling behind it.

A visitor is an identity like any other, keyed by a random token in an HttpOnly cookie (only its hash is stored).
This adapter verifies and parses requests, calls the core, and renders the messages the dispatcher delivered
(read through `bot.services.web_chat`; it never opens the database itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.domain.validation import MAX_MESSAGE_CHARS
from bot.flows.spec import Inbound, InboundKind, Outbound
from bot.i18n import N_, translator
from bot.services import media
from bot.services.conversations import Conversations, NewAttachment
from bot.services.web_chat import CHANNEL as CHANNEL
from bot.services.web_chat import Delivered, WebChat

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
    "too_long": N_("This message is too long."),
    "sending_failed": N_("The message could not be sent. Please try again."),
    "intro": N_("Write hello in the language you prefer: Darija, French or Arabic."),
}


class WebChannel:
    """Delivery side of the web chat: 'sending' is marking the row delivered and waking the visitor's poll."""

    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def send(self, external_id: str, message: Outbound) -> None:
        """Nothing to push: the browser fetches delivered rows itself."""

    def delivered(self, channel: str, external_id: str) -> None:
        """Wake the long polls of this visitor (called by the dispatcher after it recorded a delivery)."""
        if channel == CHANNEL:
            self._waiters[external_id].set()

    async def wait(self, external_id: str, timeout: float) -> None:
        """Wait until something is delivered to this visitor, or `timeout` seconds."""
        event = self._waiters[external_id]
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            # Forget the visitor between polls so the map does not grow with every visitor ever seen;
            # a second tab polling at the same moment falls back on its periodic re-check.
            self._waiters.pop(external_id, None)


CONVERSATIONS = web.AppKey("conversations", Conversations)
WEB_CHAT = web.AppKey("web_chat", WebChat)
WEB_CHANNEL = web.AppKey("web_channel", WebChannel)
UPLOADS = web.AppKey("uploads", Path)
SECURE_COOKIES = web.AppKey("secure_cookies", bool)


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


async def visitor_locale(request: web.Request) -> str:
    """The language of the visitor's conversation (the default before they have one)."""
    conversations = request.app[CONVERSATIONS]
    token = token_of(request)
    return await conversations.locale_of(CHANNEL, visitor_id(token)) if token else conversations.default_locale


def direction(locale: str) -> str:
    return translator(locale).direction


def render(message: Delivered) -> dict[str, Any]:
    """A bot message as the page draws it."""
    payload = message.payload
    locale = str(payload.get("locale") or "fr")
    files = [{"id": f.get("id"), "kind": f.get("kind"), "url": f"/api/files/{f.get('id')}"}
             for f in payload.get("files", []) if isinstance(f, dict)]
    return {"id": message.id, "from": "bot", "text": payload.get("text", ""), "options": payload.get("options", []),
            "version": payload.get("version"), "locale": locale, "dir": direction(locale),
            "at": message.at.isoformat(), "files": files}


async def error_response(request: web.Request, message: str, status: int) -> web.Response:
    """A JSON error in the visitor's language."""
    return web.json_response({"error": translator(await visitor_locale(request))(message)}, status=status)


async def index(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(STATIC_DIR / "index.html")
    if token_of(request) is None:
        response.set_cookie(COOKIE, secrets.token_urlsafe(32), max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.app[SECURE_COOKIES], path="/")
    return response


async def ui(request: web.Request) -> web.Response:
    t = translator(await visitor_locale(request))
    return web.json_response({"locale": t.locale, "dir": t.direction,
                              "strings": {key: t(message) for key, message in UI_STRINGS.items()}})


async def transcript(request: web.Request) -> web.Response:
    found = await request.app[WEB_CHAT].transcript(require_visitor(request))
    messages = [render(line) if isinstance(line, Delivered) else
                {"id": None, "from": "user", "text": line.text, "options": [], "version": None, "locale": "",
                 "dir": "auto", "at": line.at.isoformat()} for line in found.lines]
    return web.json_response({"messages": messages, "last_id": found.last_id})


async def poll(request: web.Request) -> web.Response:
    visitor = require_visitor(request)
    try:
        after = int(request.query.get("after", "0"))
        wait = min(max(float(request.query.get("wait", "25")), 0.0), 30.0)
    except ValueError:
        raise json_error(request, await visitor_locale(request),
                         N_("I could not read that message. Please type it again."), 400) from None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        rows = await request.app[WEB_CHAT].delivered(visitor, after)
        remaining = deadline - loop.time()
        if rows or remaining <= 0:
            break
        # Another worker may deliver: look again at least every 5 s even without a local wake-up.
        await request.app[WEB_CHANNEL].wait(visitor, min(remaining, 5.0))
    return web.json_response({"messages": [render(row) for row in rows], "last_id": rows[-1].id if rows else after})


async def post_message(request: web.Request) -> web.Response:
    visitor = require_visitor(request)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return await error_response(request, N_("This message is too long."), 413)
    try:
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return await error_response(request, N_("This message is too long."), 413)
        body = json.loads(raw.decode("utf-8"))
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError):
        return await error_response(request, N_("I could not read that message. Please type it again."), 400)
    choice = body.get("choice")
    if isinstance(choice, dict) and isinstance(choice.get("id"), str) and len(choice["id"]) <= 64:
        version = choice.get("version")
        inbound = Inbound(kind=InboundKind.CHOICE, choice_id=choice["id"],
                          version=version if isinstance(version, int) else None)
    elif isinstance(body.get("text"), str):
        # Longer texts go through so that the bot explains the limit in the conversation itself.
        inbound = Inbound(kind=InboundKind.TEXT, text=body["text"][: MAX_MESSAGE_CHARS * 3],
                          locale_hint=request.headers.get("Accept-Language", "")[:2] or None)
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
    except ValueError:
        raise web.HTTPNotFound() from None
    found = await request.app[CONVERSATIONS].file_for(CHANNEL, visitor, file_id)
    path = media.path_of(request.app[UPLOADS], found.ref) if found is not None else None
    if found is None or path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": found.mime or "application/octet-stream",
                                           "X-Content-Type-Options": "nosniff",
                                           "Content-Disposition": "inline"})


def add_routes(app: web.Application) -> None:
    """Register the page and its API on `app`."""
    app.router.add_get("/", index)
    app.router.add_get("/api/ui", ui)
    app.router.add_get("/api/transcript", transcript)
    app.router.add_get("/api/messages", poll)
    app.router.add_post("/api/messages", post_message)
    app.router.add_post("/api/location", post_location)
    app.router.add_post("/api/upload", post_upload)
    app.router.add_get("/api/files/{file_id}", get_file)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
