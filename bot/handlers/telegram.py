"""The Telegram channel: python-telegram-bot 22 as a typed Bot API client and update parser, nothing more.

Updates arrive by long polling (`getUpdates`) or, when BAB_PUBLIC_URL is set, on `POST /telegram/webhook` of our
own aiohttp server. Each update from a private chat is parsed into an `Inbound` and handed to the core; the
conversation state lives in our database (no ConversationHandler, no PTB persistence, no JobQueue). Replies
come back through the outbox dispatcher and `TelegramSender`, which renders options as inline keyboards whose
callback data is "<state version>|<option id>", splits long texts and sends plain text (no parse_mode, so a
citizen's words echoed back cannot inject markup).

Groups: Bab serves people one to one. In a group it speaks only when it is added (Telegram sends that event
once) or when someone addresses it (a command or an @mention; with BotFather's default privacy mode the bot sees
nothing else there): it answers with a short notice pointing to a private chat, and nothing reaches the core.
That needs no memory of its own, so every worker behaves the same after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.flows.spec import FileRef, Inbound, InboundKind, Outbound
from bot.handlers import text_parts
from bot.handlers.bodies import read_limited
from bot.i18n import N_, locale_for_hint, translator
from bot.services import media
from bot.services.conversations import Conversations, NewAttachment
from bot.services.outbox import DeliveryError, Unreachable, backoff
from bot.services.pacing import Pace

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096  # Bot API limit for a message text, in UTF-16 code units
MAX_CALLBACK_BYTES = 64  # Bot API limit for callback_data, in bytes
MAX_WEBHOOK_BODY = 1024 * 1024
SHORT_LABEL = 16  # labels at most this long go two to a row
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"  # PTB's default base_file_url

# The command menu. Darija has no Telegram language code: users whose app is in Arabic ("ar") get the Darija
# descriptions, Bab's own voice, which read as plain Arabic to any Arabic reader; everyone else gets French.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Start a conversation with Bab")),
    ("menu", N_("Back to the main menu")),
    ("help", N_("What you can type at any time")),
    ("lang", N_("Change the language")),
)
# Staff commands: shown only in the chats of linked staff (see `TelegramChannel.set_staff_commands`).
STAFF_COMMANDS: tuple[tuple[str, str], ...] = (
    ("inbox", N_("Requests waiting for your answer")),
    ("overdue", N_("Requests past their due date")),
    ("stats", N_("Figures for your collectivity")),
)
COMMAND_LANGUAGES: tuple[str | None, ...] = (None, "fr", "ar")  # Telegram has no code for Darija
GROUP_NOTICE = N_("I answer people one to one, to protect their personal data. "
                  "Please write to me in a private chat:")


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram echoes in every webhook call: the configured one, else an HMAC of the token.

    Derived, it is the same in every worker and across restarts without being stored anywhere.
    """
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    token = settings.telegram_bot_token or ""
    return hmac.new(token.encode(), b"bab telegram webhook", hashlib.sha256).hexdigest()


def base_file_url(base_url: str) -> str:
    """The download URL of the Bot API server at `base_url`: '<server>/bot' gives '<server>/file/bot'."""
    # PTB would download from api.telegram.org whatever base_url says; a self-hosted server (or the tests'
    # fake) serves files under /file/bot<token>/ next to its methods.
    head, sep, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else DEFAULT_FILE_URL


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into pieces Telegram accepts (counted in UTF-16 units), at line ends, then spaces."""
    return text_parts.split_text(text, limit, utf16_len)


def callback_data(version: int | None, option_id: str) -> str | None:
    """'<version>|<option id>' for a button, or None when it would not fit Telegram's 64 bytes."""
    data = text_parts.choice_id(version, option_id)
    return data if len(data.encode()) <= MAX_CALLBACK_BYTES else None


parse_callback = text_parts.parse_choice  # a button press; malformed data is a stale choice for the core


def keyboard(options: Sequence[tuple[str, str]], version: int | None) -> InlineKeyboardMarkup | None:
    """Options (id, label) as inline buttons: two to a row when both labels are short, else one per row."""
    buttons: list[InlineKeyboardButton] = []
    for option_id, label in options:
        data = callback_data(version, option_id)
        if data is None:  # the core's ids are short; a long one cannot be a button, it can still be typed
            log.warning("telegram option id too long for a button, left out")
            continue
        buttons.append(InlineKeyboardButton(label, callback_data=data))
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        last = rows[-1] if rows else None
        if (last is not None and len(last) == 1 and len(last[0].text) <= SHORT_LABEL
                and len(button.text) <= SHORT_LABEL):
            last.append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


# Telegram's flood limits (Bot API FAQ): about 30 messages a second per bot, and about one a second per chat
# after a short burst (Telegram gives no figure for the burst: 3). The dispatcher spaces the sends by this pace
# (keeping a fifth of a second of each burst in hand for requests that arrive bunched: see bot/services/pacing).
# The pace is per process: with several processes delivering for one bot give each its share (TelegramChannel's
# `pace`). Groups allow 20 a minute, but Bab only sends a group its one notice, outside the outbox.
TELEGRAM_PACE = Pace(per_second=30.0, burst=30, recipient_interval=1.0, recipient_burst=3)


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter's delay in seconds (PTB 22 gives an int, or a timedelta with PTB_TIMEDELTA=true)."""
    value: int | float | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """The outbox's sender for Telegram: texts with inline keyboards, then files, at the pace the dispatcher keeps."""

    def __init__(self, bot: Bot, uploads_dir: Path, pace: Pace | None = None) -> None:
        self.bot = bot
        self.uploads_dir = uploads_dir
        self.pace = pace or TELEGRAM_PACE  # read by the dispatcher, which spaces the sends: `send` never waits

    def cost(self, message: Outbound) -> int:
        """API calls the message takes: its text pieces (one, for buttons without text) and its files."""
        pieces = len(split_text(message.text)) if message.text.strip() else (1 if message.options else 0)
        return max(pieces + len(message.files), 1)

    def merge(self, messages: Sequence[Outbound]) -> Outbound | None:
        """Consecutive messages for one chat as one: when only the last has buttons or files (so nothing
        changes order) and all the texts fit in one message; None otherwise."""
        if not messages:
            return None
        *head, last = messages
        if any(message.options or message.files for message in head):
            return None
        text = "\n\n".join(message.text for message in messages if message.text.strip())
        if utf16_len(text) > MAX_TEXT:
            return None
        return replace(last, text=text)

    async def send(self, external_id: str, message: Outbound) -> None:
        """Deliver one outbox message; raises DeliveryError (retry) or Unreachable (blocked, chat gone).

        Returns None: Telegram sends no delivery receipts, so its message ids are not worth keeping.
        """
        try:
            chat_id = int(external_id)
        except ValueError:
            raise Unreachable("telegram: not a chat id") from None
        done: list[int] = [0]  # the calls that went: a retry sends only what is left (Telegram has no idempotency)
        try:
            await self._send(chat_id, message, done)
        except RetryAfter as error:
            raise DeliveryError("telegram: flood control", retry_after=retry_seconds(error),
                                rest=remainder(message, done[0])) from error
        except Forbidden as error:  # blocked the bot, or deactivated
            raise Unreachable("telegram: forbidden") from error
        except BadRequest as error:
            if _chat_gone(error):
                raise Unreachable("telegram: chat not found") from error
            raise DeliveryError(f"telegram: bad request: {error.message}"[:200],
                                rest=remainder(message, done[0])) from error
        except InvalidToken as error:
            raise DeliveryError("telegram: token rejected", rest=remainder(message, done[0])) from error
        except TelegramError as error:  # 5xx, timeouts, connection errors (NetworkError, TimedOut) and the rest
            raise DeliveryError(f"telegram: {type(error).__name__}", rest=remainder(message, done[0])) from error
        except DeliveryError as error:  # a file missing: what went before it is not sent again
            error.rest = remainder(message, done[0])
            raise

    async def _send(self, chat_id: int, message: Outbound, done: list[int]) -> None:
        """Send the message's calls in order, counting in done[0] each one Telegram confirmed."""
        pieces = text_pieces(message)
        markup = keyboard(message.options, message.version)
        for index, piece in enumerate(pieces):
            await self.bot.send_message(chat_id, piece, reply_markup=markup if index == len(pieces) - 1 else None,
                                        link_preview_options=LinkPreviewOptions(is_disabled=True))
            done[0] += 1
        for file in message.files:
            await self._send_file(chat_id, file)
            done[0] += 1

    async def _send_file(self, chat_id: int, file: FileRef) -> None:
        """Upload a file of the uploads folder ('file:<name>'), or send a legacy Telegram file id ('telegram:<id>')."""
        ref = file.ref
        scheme, sep, value = ref.partition(":")
        content: str | bytes
        filename: str | None = None
        if sep and scheme == "telegram":  # recorded before files were downloaded: still valid for this bot
            content = value
        elif sep and scheme != "file":
            # Another channel's file id means nothing to Telegram: a bug upstream, so fail loudly in last_error.
            raise DeliveryError(f"telegram: cannot send a {scheme} file")
        else:
            path = media.path_of(self.uploads_dir, ref)
            if path is None:
                raise DeliveryError("telegram: file missing from the uploads folder")
            content = media.read(path)
            filename = file.name or path.name
        if file.kind == "photo":
            await self.bot.send_photo(chat_id, content, filename=filename)
        else:
            await self.bot.send_document(chat_id, content, filename=filename)


def text_pieces(message: Outbound) -> list[str]:
    """The texts a message is sent as, in order (the last one carries the buttons)."""
    pieces = split_text(message.text) if message.text.strip() else []  # Telegram refuses a blank text
    if not pieces and keyboard(message.options, message.version) is not None:
        pieces = ["…"]  # Telegram cannot show buttons without a text
    return pieces


def remainder(message: Outbound, done: int) -> Outbound | None:
    """What is left of `message` once its first `done` calls went (texts, then files); None when none went."""
    if done <= 0:
        return None
    pieces = text_pieces(message)
    if done < len(pieces):  # the keyboard rides on the last text, still to go
        return replace(message, text="\n".join(pieces[done:]))
    return replace(message, text="", options=(), files=message.files[done - len(pieces):])


def _chat_gone(error: BadRequest) -> bool:
    message = error.message.lower()
    return "chat not found" in message or "peer_id_invalid" in message or "user not found" in message


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A photo or document still on Telegram's servers: its file id, and its size when Telegram gave it."""

    file_id: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a private-chat update means for the core; a file must be fetched before the core sees it."""

    external_id: str
    inbound: Inbound | RemoteFile


def parse_message(message: Message, locale_hint: str | None) -> Inbound | RemoteFile:
    """A private message as the core's Inbound, or the file it carries (the largest size of a photo)."""
    if message.text is not None:
        # "/start <payload>" deep links go through whole: the core reads the command and its argument.
        return Inbound(kind=InboundKind.TEXT, text=message.text, locale_hint=locale_hint)
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        return RemoteFile(largest.file_id, largest.file_size)
    if message.document is not None:
        return RemoteFile(message.document.file_id, message.document.file_size)
    if message.location is not None:  # also set for venues
        return Inbound(kind=InboundKind.LOCATION, lat=message.location.latitude, lon=message.location.longitude)
    return Inbound(kind=InboundKind.OTHER)


def parse_update(update: Update) -> Parsed | None:
    """The core's view of a private-chat update, or None for updates the core has no use for."""
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    hint = user.language_code
    if update.callback_query is not None:
        return Parsed(str(user.id), parse_callback(update.callback_query.data))
    if update.message is not None:
        return Parsed(str(user.id), parse_message(update.message, hint))
    if update.edited_message is not None:  # the core says that an edit is not read, and to send it again
        return Parsed(str(user.id), Inbound(kind=InboundKind.EDITED, locale_hint=hint))
    return None  # chat member changes…: nothing for the conversation


async def fetch_attachment(bot: Bot, uploads_dir: Path, remote: RemoteFile) -> media.StoredFile | None:
    """Download a Telegram file into the uploads folder; None if too large, not a photo or PDF, or unreachable."""
    if remote.size is not None and remote.size > media.MAX_FILE_BYTES:  # refused before spending the bandwidth
        log.info("telegram file refused: %s bytes", remote.size)
        return None
    try:
        file = await bot.get_file(remote.file_id)
        if file.file_size is not None and file.file_size > media.MAX_FILE_BYTES:
            log.info("telegram file refused: %s bytes", file.file_size)
            return None
        data = await file.download_as_bytearray()
    except (TelegramError, RuntimeError) as error:  # RuntimeError: Telegram gave no file_path to download
        log.warning("telegram file download failed: %s", type(error).__name__)
        return None
    stored = media.store(uploads_dir, bytes(data))
    if stored is None:
        log.info("telegram file refused: not a photo or a PDF")
    return stored


# Polling: an update whose handling failed is tried again after these delays (seconds), then given up. The
# next batch waits meanwhile, so they stay short: a webhook would have Telegram retry for much longer.
UPDATE_RETRIES = (0.5, 1.5, 4.0)


class PollingBot(Bot):
    """PTB's Bot, with getUpdates read as raw JSON: PTB parses a batch whole, so one update of a shape it does not
    know fails the batch every time (and PTB logs the batch's contents, personal data, at CRITICAL)."""

    async def raw_updates(self, offset: int | None, timeout: int,
                          allowed_updates: Sequence[str]) -> list[dict[str, object]]:
        """The pending updates as Telegram sent them (a long poll of `timeout` seconds)."""
        data = {"offset": offset, "timeout": timeout, "allowed_updates": list(allowed_updates)}
        # As Bot.get_updates does: the read timeout covers the long poll itself.
        read_timeout = (self._request[0].read_timeout or 0) + timeout
        result = await self._post("getUpdates", data, read_timeout=read_timeout)
        return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []


class TelegramChannel:
    """One bot: its PTB client, the outbox sender, update handling, polling or webhook, and the command menu."""

    def __init__(self, settings: Settings, pace: Pace | None = None, poll_timeout: int = 25,
                 retry_delays: tuple[float, ...] = UPDATE_RETRIES) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("TelegramChannel needs TELEGRAM_BOT_TOKEN")
        self.settings = settings
        token = settings.telegram_bot_token
        # The outbox sends to many chats at once; PTB's default pool would queue them. getUpdates gets its own.
        # A send that outlasts BAB_TELEGRAM_TIMEOUT is given up and retried: it may have gone (at least once).
        timeout = settings.telegram_timeout
        self._requests = (HTTPXRequest(connection_pool_size=32, pool_timeout=10.0, connect_timeout=timeout,
                                       read_timeout=timeout, write_timeout=timeout),
                          HTTPXRequest(connection_pool_size=1))
        self.bot = PollingBot(token, base_url=settings.telegram_api_base_url,
                       base_file_url=base_file_url(settings.telegram_api_base_url), request=self._requests[0],
                       get_updates_request=self._requests[1])
        self.bot_id = token.split(":", 1)[0]
        self.sender = TelegramSender(self.bot, settings.uploads_dir, pace)
        self.secret = webhook_secret(settings)
        self.mode: Literal["polling", "webhook"] = "webhook" if settings.public_url else "polling"
        self.poll_timeout = poll_timeout
        self.retry_delays = retry_delays  # seconds before each new try of an update whose handling failed
        self._task: asyncio.Task[None] | None = None

    @property
    def webhook_url(self) -> str:
        return f"{(self.settings.public_url or '').rstrip('/')}{WEBHOOK_PATH}"

    # --- inbound ---------------------------------------------------------------------------------------------

    async def handle_update(self, conversations: Conversations, update: Update) -> None:
        """Feed one update to the core (private chats only); errors of the core propagate, Telegram's do not."""
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE:
            await self._group_update(update)
            if update.callback_query is not None:
                await self._answer(update.callback_query)
            return
        member, user = update.my_chat_member, update.effective_user
        if member is not None and user is not None and member.new_chat_member.status == ChatMemberStatus.BANNED:
            # "kicked": the citizen blocked the bot; what is queued for them would only fail with 403 one by one.
            await conversations.blocked(CHANNEL, str(user.id))
            log.info("telegram update=%s: the user blocked the bot", update.update_id)
            return
        parsed = parse_update(update)
        if parsed is None:
            log.debug("telegram update=%s ignored", update.update_id)
            return
        inbound, attachment = await self._fetch(parsed.inbound)
        # The bot id keeps update ids of another bot (a new token) from passing for redeliveries.
        handled = await conversations.handle(CHANNEL, parsed.external_id, inbound,
                                             message_id=f"{self.bot_id}:{update.update_id}", attachment=attachment)
        log.info("telegram update=%s identity=%s kind=%s duplicate=%s", update.update_id, handled.identity_id,
                 inbound.kind.value, handled.duplicate)
        if update.callback_query is not None:
            await self._answer(update.callback_query)

    async def _fetch(self, content: Inbound | RemoteFile) -> tuple[Inbound, NewAttachment | None]:
        """The Inbound for the core: a file is stored like a web upload, or becomes OTHER (the core's polite no)."""
        if isinstance(content, Inbound):
            return content, None
        stored = await fetch_attachment(self.bot, self.settings.uploads_dir, content)
        if stored is None:
            return Inbound(kind=InboundKind.OTHER), None
        # The kind comes from the bytes: an image sent "as a file" (uncompressed) is still a photo.
        kind = InboundKind.PHOTO if stored.kind == "photo" else InboundKind.DOCUMENT
        return Inbound(kind=kind), NewAttachment(kind=stored.kind, ref=stored.ref, mime=stored.mime,
                                                 size=stored.size)

    async def _answer(self, query: CallbackQuery) -> None:
        """Stop the button's spinner; the answer itself comes as a message through the outbox."""
        try:
            await self.bot.answer_callback_query(query.id)
        except TelegramError as error:  # too old, or answered already by another worker
            log.info("telegram callback answer failed: %s", type(error).__name__)

    def _username(self) -> str | None:
        try:
            return self.bot.username
        except RuntimeError:  # getMe has not answered yet
            return None

    def _addresses_bot(self, message: Message) -> bool:
        """A group message meant for Bab: a command, an @mention of it, or a reply to one of its messages."""
        text = message.text or message.caption or ""
        if text.startswith("/"):
            target = text.split(maxsplit=1)[0].partition("@")[2]
            return not target or target.lower() == (self._username() or "").lower()
        username = (self._username() or "").lower()
        for entity in message.entities or ():
            if (entity.type == MessageEntityType.MENTION and username
                    and message.parse_entity(entity).lstrip("@").lower() == username):
                return True
        replied = message.reply_to_message
        return bool(replied and replied.from_user and str(replied.from_user.id) == self.bot_id)

    async def _group_update(self, update: Update) -> None:
        """In a group: a notice when Bab is added or addressed; silence otherwise. Nothing reaches the core."""
        chat = update.effective_chat
        assert chat is not None
        if chat.type == ChatType.CHANNEL:  # a channel has no one to answer
            return
        member = update.my_chat_member
        added = (member is not None
                 and member.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
                 and member.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED))
        addressed = update.message is not None and self._addresses_bot(update.message)
        if not (added or addressed):
            log.debug("telegram group update=%s ignored", update.update_id)
            return
        user = update.effective_user
        t = translator(locale_for_hint(user.language_code if user else None, self.settings.default_locale))
        username = self._username()
        text = t(GROUP_NOTICE) + (f"\nhttps://t.me/{username}" if username else "")
        try:  # through the sender (splitting, error mapping), not the outbox nor its pacing: not worth a retry
            await self.sender.send(str(chat.id), Outbound(text=text, locale=t.locale))
            log.info("telegram group notice update=%s", update.update_id)
        except (DeliveryError, Unreachable) as error:
            log.info("telegram group notice failed update=%s: %s", update.update_id, error)

    async def process(self, conversations: Conversations, updates: Iterable[Update]) -> None:
        """Handle a batch: in order within a chat, chats concurrently; one bad update does not stop the rest.

        An update whose handling fails (the database briefly unavailable…) is tried again after each of
        `retry_delays`, as Telegram would redeliver it to a webhook, the chat's later updates waiting behind it;
        then it is given up (logged) and they go on.
        """
        by_chat: dict[object, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            user = update.effective_user
            by_chat.setdefault(chat.id if chat else (user.id if user else None), []).append(update)

        async def run(chat_updates: list[Update]) -> None:
            for update in chat_updates:
                for attempt, delay in enumerate((*self.retry_delays, None), start=1):
                    try:
                        # Handled twice is handled once: the core de-duplicates on the update id.
                        await self.handle_update(conversations, update)
                        break
                    except Exception:
                        if delay is None:  # given up: the bot keeps serving the chat and everyone else
                            log.exception("telegram update=%s failed %s times, given up", update.update_id,
                                          attempt)
                            break
                        log.warning("telegram update=%s failed, retry %s in %.1fs", update.update_id, attempt,
                                    delay, exc_info=True)
                        await asyncio.sleep(delay)

        await asyncio.gather(*(run(chat_updates) for chat_updates in by_chat.values()))

    async def fetch_updates(self, offset: int | None) -> tuple[list[Update], int | None]:
        """One long poll: the updates PTB could parse, and the offset that confirms the whole batch (None when
        it was empty). An update PTB cannot parse (a shape it does not know) is skipped with its id logged:
        parsing the batch whole would fail on it every time, and the offset would never move past it."""
        raw = await self.bot.raw_updates(offset, self.poll_timeout, ALLOWED_UPDATES)
        updates: list[Update] = []
        last: int | None = None
        for data in raw:
            update_id = data.get("update_id")
            if isinstance(update_id, int):
                last = update_id if last is None else max(last, update_id)
            try:
                update = Update.de_json(data, self.bot)
            except Exception as error:  # never the body in the log: it holds what the person wrote
                log.error("telegram update=%s unreadable (%s), skipped", update_id, type(error).__name__)
                continue
            if update is not None:
                updates.append(update)
        return updates, (last + 1 if last is not None else None)

    async def poll(self, conversations: Conversations) -> None:
        """Long-poll getUpdates until cancelled; an update is confirmed (offset) only after it was handled."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates, following = await self.fetch_updates(offset)
            except InvalidToken:
                log.error("telegram token rejected: polling stopped")
                return
            except TelegramError as error:
                # e.g. Conflict: a webhook is set, or another process polls the same bot.
                failures += 1
                log.warning("telegram getUpdates failed (%s), retry %s", type(error).__name__, failures)
                # A quarter of the outbox's backoff: polling is how messages arrive, so it comes back sooner.
                await asyncio.sleep(backoff(failures, cap=60).total_seconds() / 4)
                continue
            failures = 0
            if updates:
                await self.process(conversations, updates)
            if following is not None:
                offset = following

    async def webhook(self, conversations: Conversations, request: web.Request) -> web.Response:
        """POST /telegram/webhook: only Telegram knows the secret; anything else never reaches the core."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook refused: bad secret")
            raise web.HTTPForbidden()
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=request.content_length)
        body = await read_limited(request.content, MAX_WEBHOOK_BODY)  # a chunked body has no Content-Length
        if body is None:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=MAX_WEBHOOK_BODY + 1)
        try:
            data = json.loads(body)
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):  # not JSON, or not an update: no resend wanted
            log.warning("telegram webhook body unreadable")
            raise web.HTTPBadRequest() from None
        # A failure of the core answers 500, so Telegram delivers the update again (de-duplicated by update id).
        await self.handle_update(conversations, update)
        return web.Response(text="ok")

    def add_routes(self, app: web.Application, conversations: Conversations) -> None:
        """Register the webhook route on our aiohttp application."""
        async def route(request: web.Request) -> web.Response:
            return await self.webhook(conversations, request)

        app.router.add_post(WEBHOOK_PATH, route)

    # --- start-up and shutdown -------------------------------------------------------------------------------

    async def set_commands(self) -> None:
        """Publish the command menu for private chats: French by default, Darija for Arabic-language apps."""
        for language_code in COMMAND_LANGUAGES:
            # A client that gives no language gets French, the lingua franca of Moroccan administration.
            t = translator(locale_for_hint(language_code or "fr", self.settings.default_locale))
            await self.bot.set_my_commands([BotCommand(name, t(description)) for name, description in COMMANDS],
                                           scope=BotCommandScopeAllPrivateChats(), language_code=language_code)

    async def set_staff_commands(self, chat_id: int, locale: str) -> None:
        """Show the staff commands too in one staff member's chat (call after their account is linked)."""
        t = translator(locale)
        await self.bot.set_my_commands(
            [BotCommand(name, t(description)) for name, description in COMMANDS + STAFF_COMMANDS],
            scope=BotCommandScopeChat(chat_id))

    async def _start(self, conversations: Conversations) -> None:
        failures = 0
        while True:  # Telegram may be unreachable at boot: keep trying, the web chat serves meanwhile
            try:
                await self.bot.initialize()
                try:
                    await self.set_commands()
                except BadRequest as error:  # a menu Telegram refuses must not keep the bot deaf
                    log.error("telegram command menu refused: %s", error.message)
                if self.mode == "webhook":
                    await self.bot.set_webhook(self.webhook_url, secret_token=self.secret,
                                               allowed_updates=list(ALLOWED_UPDATES))
                    log.info("telegram webhook set")
                    return
                await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
                break
            except InvalidToken:
                log.error("telegram token rejected: the Telegram channel is off")
                return
            except BadRequest as error:  # e.g. BAB_PUBLIC_URL is not https: retrying cannot help
                log.error("telegram start-up refused: %s", error.message)
                return
            except TelegramError as error:
                failures += 1
                log.warning("telegram start-up failed (%s), retry %s", type(error).__name__, failures)
                await asyncio.sleep(backoff(failures - 1, cap=60).total_seconds())
        log.info("telegram polling started")
        await self.poll(conversations)

    def start(self, conversations: Conversations) -> asyncio.Task[None]:
        """Initialise the bot, publish the commands, then poll or register the webhook, in a background task."""
        self._task = asyncio.create_task(self._start(conversations), name="telegram")
        return self._task

    async def close(self) -> None:
        """Stop polling and close the HTTP clients."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("telegram task ended with an error")
            self._task = None
        await self.bot.shutdown()
        # Bot.shutdown skips clients it never initialised; ours are created open, so close them in any case.
        await asyncio.gather(*(request.shutdown() for request in self._requests))
