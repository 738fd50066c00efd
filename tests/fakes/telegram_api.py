"""A fake Telegram Bot API server: a real aiohttp app on 127.0.0.1 that the real python-telegram-bot talks to.

It implements the methods Bab calls (`POST /bot<token>/<method>`, form or multipart bodies, JSON-encoded nested
fields) and file downloads (`GET /file/bot<token>/<file_path>`, serving the bytes a test put in `files`), records
every call, queues updates for getUpdates (long polling included), enforces the limits Bab must respect
(4096-character texts, 64-byte callback data), and injects failures on demand: 429 with retry_after, 5xx, 403, 400,
or at random (`chaos`, tests/fakes/chaos.py) on the calls that send: timeouts, 429, 5xx, resets and lost
acknowledgements (delivered, then the answer lost). `raw_updates` queues updates PTB cannot parse.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.chaos import LOST_ACKS, Chaos, reset
from tests.fakes.limits import MESSAGE_METHODS, FloodLimits

JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "link_preview_options"}
TOKEN = "123456789:TEST-fake-token_for-bab"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n% Bab test answer\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Bab", "username": "bab_test_bot"}


@dataclass
class Call:
    """One Bot API call as the fake received it."""

    method: str
    params: dict[str, Any]
    status: int = 200
    fault: str | None = None  # the chaos fault this call met (a "lost_…" one was delivered all the same)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline buttons of a sendMessage, row by row flattened."""
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None


@dataclass
class FakeTelegramAPI:
    """The fake server; `await start()` it, point PTB at `base_url`, read `calls`, `push` updates."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # methods called with a wrong token (answered 401)
    failures: list[Failure] = field(default_factory=list)
    limits: FloodLimits | None = None  # Telegram's flood limits, enforced with 429 when given
    chaos: Chaos | None = None  # random faults on the calls that send a message
    files: dict[str, bytes] = field(default_factory=dict)  # file id -> content, for getFile and downloads
    webhook_url: str = ""
    confirmed: int = 0  # every update below this id was confirmed by a getUpdates offset
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _paths: dict[str, str] = field(default_factory=dict)  # file_path getFile gave -> file id
    _next_update_id: int = 1000
    _next_message_id: int = 1
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    _closing: bool = False
    url: str = ""

    async def start(self) -> str:
        """Listen on a random port of 127.0.0.1; returns the server's root URL."""
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._closing = True  # ends the long polls still held open
                self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What Bab's TELEGRAM_API_BASE_URL is set to (PTB appends the token)."""
        return f"{self.url}/bot"

    # --- test controls ---------------------------------------------------------------------------------------

    def fail(self, method: str, status: int, description: str = "", retry_after: int | None = None,
             times: int = 1, chat_id: int | None = None) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error."""
        self.failures.append(Failure(method, status, description or f"Error {status}", retry_after, times, chat_id))

    async def push(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Queue an update for getUpdates; gives it the next update id unless one is given (a redelivery)."""
        if update_id is None:
            update_id = self._next_update_id
            self._next_update_id += 1
        update = {"update_id": update_id, **update}
        assert self._changed is not None
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update_id

    def new_update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id - 1

    async def wait_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until the poller confirmed `update_id` (asked for a later offset), i.e. it handled it."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.confirmed > update_id), timeout)

    async def wait_for(self, method: str, timeout: float = 5.0) -> Call:
        """Wait until `method` was called at least once; returns the first such call."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: any(c.method == method for c in self.calls)),
                                   timeout)
        return next(call for call in self.calls if call.method == method)

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful messages and files sent to a chat, in order."""
        return [call for call in self.calls if call.status == 200 and call.chat_id == chat_id
                and call.method in ("sendMessage", "sendPhoto", "sendDocument")]

    # --- the server ------------------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"filename": value.filename, "content": value.file.read()}
                elif key in JSON_FIELDS:
                    params[key] = json.loads(str(value))
                else:
                    params[key] = str(value)
        elif request.content_type == "application/json":
            params = await request.json()
        return params

    def _failure_for(self, method: str, params: dict[str, Any]) -> Failure | None:
        for failure in self.failures:
            if failure.method == method and failure.times > 0 and (
                    failure.chat_id is None or str(failure.chat_id) == str(params.get("chat_id"))):
                failure.times -= 1
                return failure
        return None

    @staticmethod
    def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.rejected.append(request.match_info["method"])  # what a wrong token tried, for the tests
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params)
        if self.chaos is not None and method in MESSAGE_METHODS:
            fault = self.chaos.draw()
            if fault is not None:
                return await self._chaos(request, call, fault)
        failure = self._failure_for(method, params)
        flood = self.limits.check(method, params.get("chat_id")) if self.limits and not failure else None
        response: web.Response
        if failure is not None:
            call.status = failure.status
            response = self._error(failure.status, failure.description,
                                   {"retry_after": failure.retry_after} if failure.retry_after else None)
        elif flood is not None:
            call.status = 429
            response = self._error(429, f"Too Many Requests: retry after {flood}", {"retry_after": flood})
        elif method == "getUpdates":
            response = await self._get_updates(params, call)
        else:
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                call.status = 404
                response = self._error(404, "Not Found: method not found")
            else:
                result = handler(params)
                if isinstance(result, web.Response):
                    call.status = result.status
                    response = result
                else:
                    response = web.json_response({"ok": True, "result": result})
        if method != "getUpdates":
            await self._record(call)
        return response

    async def _chaos(self, request: web.Request, call: Call, fault: str) -> web.StreamResponse:
        """Answer a sending call with a fault; a lost acknowledgement delivers the message first."""
        assert self.chaos is not None
        call.fault = fault
        response: web.StreamResponse
        if fault in LOST_ACKS:
            handler = getattr(self, f"_m_{call.method}")
            result = handler(call.params)
            if isinstance(result, web.Response):  # refused anyway: no acknowledgement to lose
                call.status = result.status
                await self._record(call)
                return result
            await self._record(call)  # delivered: status 200 in `calls`, the client learns nothing of it
            response = web.json_response({"ok": True, "result": result})
        else:
            call.status = {"throttle": 429, "5xx": 502}.get(fault, 0)
            await self._record(call)
            response = (self._error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
                        if fault == "throttle" else self._error(502, "Bad Gateway"))
        if fault in ("timeout", "lost_late"):
            await asyncio.sleep(self.chaos.delay)  # the client has given up by then
        elif fault in ("reset", "lost_reset"):
            reset(request)
        elif fault == "lost_5xx":
            response = self._error(500, "Internal Server Error")
        return response

    async def _download(self, request: web.Request) -> web.Response:
        """A file by the path getFile gave; recorded as a "download" call, and failed with `fail("download", …)`."""
        if request.match_info["token"] != self.token:
            self.rejected.append("download")
            return self._error(401, "Unauthorized")
        file_path = request.match_info["file_path"]
        call = Call("download", {"file_path": file_path})
        failure = self._failure_for("download", call.params)
        file_id = self._paths.get(file_path, "")
        response: web.Response
        if failure is not None:
            response = self._error(failure.status, failure.description)
        elif file_id not in self.files:
            response = self._error(404, "Not Found")
        else:
            response = web.Response(body=self.files[file_id], content_type="application/octet-stream")
        call.status = response.status
        await self._record(call)
        return response

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _get_updates(self, params: dict[str, Any], call: Call) -> web.Response:
        if self.webhook_url:
            call.status = 409
            await self._record(call)
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        assert self._changed is not None
        async with self._changed:
            if offset:
                self._updates = [update for update in self._updates if update["update_id"] >= offset]
                self.confirmed = max(self.confirmed, offset)
            self.calls.append(call)
            self._changed.notify_all()
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates) or self._closing),
                                       timeout)
            except TimeoutError:
                pass
            pending = sorted(self._updates, key=lambda update: update["update_id"])
        return web.json_response({"ok": True, "result": pending})

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        message_id = self._next_message_id
        self._next_message_id += 1
        chat_id = int(params["chat_id"])
        return {"message_id": message_id, "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}, "from": BOT_USER, **extra}

    def _m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text") or "")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                if not 1 <= len(data.encode()) <= 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return self._message(params, text=text)

    def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        file_id = params["photo"] if isinstance(params.get("photo"), str) else f"photo-{self._next_message_id}"
        return self._message(params, photo=[{"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 1,
                                             "height": 1}])

    def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        file_id = params["document"] if isinstance(params.get("document"), str) else f"doc-{self._next_message_id}"
        return self._message(params, document={"file_id": file_id, "file_unique_id": f"u-{file_id}"})

    def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            return self._error(400, "Bad Request: wrong file_id or the file is temporarily unavailable")
        folder = "photos" if self.files[file_id].startswith(b"\xff\xd8\xff") else "documents"
        file_path = f"{folder}/file_{len(self._paths)}"
        self._paths[file_path] = file_id
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(self.files[file_id]),
                "file_path": file_path}

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = str(params.get("url") or "")
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = ""
        return True

    def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        for command in params.get("commands") or []:
            if not 1 <= len(command["command"]) <= 32 or not 1 <= len(command["description"]) <= 256:
                return self._error(400, "Bad Request: BOT_COMMAND_INVALID")
        return True



# --- updates as Telegram sends them ---------------------------------------------------------------------------

def user(chat_id: int, language_code: str | None = "fr") -> dict[str, Any]:
    found: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Citizen"}
    if language_code:
        found["language_code"] = language_code
    return found


def chat(chat_id: int, kind: str = "private") -> dict[str, Any]:
    return {"id": chat_id, "type": kind, **({"title": "Quartier"} if kind != "private" else {"first_name": "C"})}


def message(chat_id: int, language_code: str | None = "fr", chat_type: str = "private", from_id: int | None = None,
            **content: Any) -> dict[str, Any]:
    """A `message` update body (without update_id)."""
    return {"message": {"message_id": int(time.time() * 1000) % 1_000_000, "date": int(time.time()),
                        "chat": chat(chat_id, chat_type), "from": user(from_id or chat_id, language_code), **content}}


def text(chat_id: int, words: str, language_code: str | None = "fr", chat_type: str = "private",
         from_id: int | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"text": words}
    if words.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(words.split()[0])}]
    return message(chat_id, language_code, chat_type, from_id, **content)


def callback(chat_id: int, data: str, language_code: str | None = "fr", message_id: int = 1) -> dict[str, Any]:
    return {"callback_query": {
        "id": f"cb-{time.time_ns()}", "from": user(chat_id, language_code), "chat_instance": "ci", "data": data,
        "message": {"message_id": message_id, "date": int(time.time()), "chat": chat(chat_id), "from": BOT_USER,
                    "text": "…"}}}


def photo(chat_id: int, file_id: str = "PHOTO-FILE-ID") -> dict[str, Any]:
    sizes = [{"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 900},
             {"file_id": file_id, "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 120_000}]
    return message(chat_id, photo=sizes)


def location(chat_id: int, lat: float, lon: float) -> dict[str, Any]:
    return message(chat_id, location={"latitude": lat, "longitude": lon})


def document(chat_id: int, file_id: str = "DOC-FILE-ID", mime: str = "application/pdf", size: int = 4000,
             name: str = "plan.pdf") -> dict[str, Any]:
    return message(chat_id, document={"file_id": file_id, "file_unique_id": "d", "file_name": name,
                                      "mime_type": mime, "file_size": size})


def sticker(chat_id: int) -> dict[str, Any]:
    return message(chat_id, sticker={"file_id": "STK", "file_unique_id": "k", "type": "regular", "width": 512,
                                     "height": 512, "is_animated": False, "is_video": False})


def blocked_by(chat_id: int, now_status: str = "kicked") -> dict[str, Any]:
    """The private chat's member update Telegram sends when the user blocks the bot ("member": unblocks it)."""
    return {"my_chat_member": {
        "chat": chat(chat_id), "from": user(chat_id), "date": int(time.time()),
        "old_chat_member": member("member" if now_status == "kicked" else "kicked"),
        "new_chat_member": member(now_status)}}


def member(status: str) -> dict[str, Any]:
    """The bot as a chat member; Telegram gives a kicked member its `until_date` (0: for ever)."""
    return {"user": BOT_USER, "status": status, **({"until_date": 0} if status == "kicked" else {})}


def added_to_group(group_id: int, by: int) -> dict[str, Any]:
    return {"my_chat_member": {
        "chat": chat(group_id, "group"), "from": user(by), "date": int(time.time()),
        "old_chat_member": member("left"), "new_chat_member": member("member")}}
