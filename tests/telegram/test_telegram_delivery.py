"""Outbound on Telegram: failures and recovery, blocked users, long texts, files, keyboards, flood limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Bab
from bot.flows.spec import FileRef, Outbound
from bot.handlers.telegram import (
    MAX_CALLBACK_BYTES,
    TelegramSender,
    callback_data,
    keyboard,
    parse_callback,
    split_text,
    utf16_len,
)
from bot.services.clock import FixedClock
from bot.services.outbox import DeliveryError, Unreachable
from bot.storage import repos, tables
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.conftest import TelegramCitizen


async def outbox(bab: Bab) -> list[tables.OutboxMessage]:
    async with bab.sessions() as session:
        return list((await session.scalars(select(tables.OutboxMessage).order_by(tables.OutboxMessage.id))).all())


async def test_429_and_500_are_retried_until_everything_is_delivered(citizen: TelegramCitizen,
                                                                     clock: FixedClock) -> None:
    api = citizen.api
    api.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, chat_id=citizen.chat_id)
    assert await citizen.say("Bonjour") == []
    rows = await outbox(citizen.bab)
    first = rows[0]
    assert first.status == "pending" and first.last_error == "telegram: flood control"
    # retry_after honoured: not sent again before 7 s have passed, and the later message waits its turn.
    assert first.next_attempt_at == clock.now() + timedelta(seconds=7)
    clock.advance(seconds=6)
    assert await citizen.replies() == []
    api.fail("sendMessage", 500, "Internal Server Error", chat_id=citizen.chat_id)
    clock.advance(seconds=1)
    assert await citizen.replies() == []  # the 500: retried with backoff
    assert (await outbox(citizen.bab))[0].last_error == "telegram: NetworkError"
    api.fail("sendMessage", 502, "Bad Gateway", chat_id=citizen.chat_id)
    clock.advance(minutes=1)
    assert await citizen.replies() == []
    clock.advance(minutes=1)
    delivered = await citizen.replies()
    assert [call.params["text"] for call in delivered] == [row.payload["text"] for row in rows]
    assert all(row.status == "sent" for row in await outbox(citizen.bab))
    # The flow goes on normally afterwards.
    assert await citizen.tap("access")


async def test_a_user_who_blocked_the_bot_is_marked_unreachable(citizen: TelegramCitizen, clock: FixedClock) -> None:
    citizen.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=citizen.chat_id, times=99)
    assert await citizen.say("Bonjour") == []
    rows = await outbox(citizen.bab)
    assert rows and all(row.status == "failed" and "unreachable" in (row.last_error or "") for row in rows)
    async with citizen.bab.sessions() as session:
        identity = await session.scalar(select(tables.Identity))
        assert identity is not None and identity.unreachable
    # Not retried: the first message was tried once, the ones queued behind it not at all, nothing is left.
    clock.advance(hours=1)
    await citizen.bab.dispatcher.dispatch_once()
    assert len(rows) == 2 and len(citizen.api.called("sendMessage")) == 1


async def test_blocking_the_bot_stops_what_is_queued_until_the_citizen_writes_again(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour")
    async with citizen.bab.sessions() as session, session.begin():  # a notice queued, not yet sent
        identity = await session.scalar(select(tables.Identity))
        assert identity is not None
        await repos.enqueue(session, identity.id, "telegram", Outbound("Votre demande a reçu une réponse", "fr"),
                            citizen.bab.clock.now())
    await citizen.deliver(tg.blocked_by(citizen.chat_id))
    assert await citizen.replies() == []  # not tried: Telegram would only answer 403
    async with citizen.bab.sessions() as session:
        identity = await session.scalar(select(tables.Identity))
        assert identity is not None and identity.unreachable
    await citizen.deliver(tg.blocked_by(citizen.chat_id, "member"))  # unblocked: nothing to say yet
    assert await citizen.replies() == []
    assert await citizen.say("menu")  # writing again: answered
    async with citizen.bab.sessions() as session:
        identity = await session.scalar(select(tables.Identity))
        assert identity is not None and not identity.unreachable


async def sender_for(bab: Bab) -> TelegramSender:
    assert bab.telegram is not None
    return bab.telegram.sender


async def test_chat_not_found_is_unreachable_and_other_errors_retry(tg_bab: Bab, fake_api: FakeTelegramAPI) -> None:
    sender = await sender_for(tg_bab)
    fake_api.fail("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(Unreachable):
        await sender.send("42", Outbound("x", "fr"))
    fake_api.fail("sendMessage", 429, "Too Many Requests", retry_after=3)
    with pytest.raises(DeliveryError) as flood:
        await sender.send("42", Outbound("x", "fr"))
    assert flood.value.retry_after == 3
    fake_api.fail("sendMessage", 503, "Service Unavailable")
    with pytest.raises(DeliveryError):
        await sender.send("42", Outbound("x", "fr"))
    with pytest.raises(Unreachable):
        await sender.send("not-a-chat", Outbound("x", "fr"))


async def test_long_text_is_split_on_lines_with_the_keyboard_last(tg_bab: Bab, fake_api: FakeTelegramAPI) -> None:
    sender = await sender_for(tg_bab)
    lines = [f"Ligne {number} : " + "مرحبا بكم في باب " * 12 for number in range(40)]
    text = "\n".join(lines)
    assert len(text) > 2 * 4096
    await sender.send("42", Outbound(text, "fr", options=(("yes", "Oui"),), version=3))
    sent = fake_api.called("sendMessage")
    assert len(sent) == 3 and all(call.status == 200 for call in sent)
    assert all(utf16_len(call.params["text"]) <= 4096 for call in sent)
    assert "\n".join(call.params["text"] for call in sent) == text  # cut between lines, nothing lost
    assert [bool(call.buttons) for call in sent] == [False, False, True]
    assert sent[-1].buttons == [{"text": "Oui", "callback_data": "3|yes"}]


def test_split_text_handles_single_huge_lines_and_emoji() -> None:
    words = "kalma " * 2000
    pieces = split_text(words.strip())
    assert all(utf16_len(piece) <= 4096 for piece in pieces) and len(pieces) == 3
    assert " ".join(pieces).split() == words.split()
    emoji = "😀" * 3000  # two UTF-16 units each: 6000 units
    assert [utf16_len(piece) for piece in split_text(emoji)] == [4096, 1904]
    assert split_text("") == [] and split_text("salam") == ["salam"]


async def test_documents_are_sent_by_file_id_and_from_the_uploads_folder(tg_bab: Bab,
                                                                          fake_api: FakeTelegramAPI) -> None:
    sender = await sender_for(tg_bab)
    uploads = tg_bab.settings.uploads_dir
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "answer-7.pdf").write_bytes(b"%PDF-1.4 answer")
    payload = {"text": "Voici la réponse à votre demande BAB-1234.", "locale": "fr", "options": [], "version": None,
               "files": [{"id": 1, "kind": "document", "ref": "telegram:CLERK-DOC-ID", "mime": "application/pdf",
                          "name": "budget.pdf"},
                         {"id": 2, "kind": "document", "ref": "file:answer-7.pdf", "mime": "application/pdf",
                          "name": "reponse.pdf"},
                         {"id": 3, "kind": "photo", "ref": "telegram:PHOTO-ID", "mime": "image/jpeg", "name": None}]}
    await sender.send("42", Outbound.from_payload(payload))
    calls = fake_api.sent_to(42)
    assert [call.method for call in calls] == ["sendMessage", "sendDocument", "sendDocument", "sendPhoto"]
    assert calls[1].params["document"] == "CLERK-DOC-ID"
    assert calls[2].params["document"] == {"filename": "reponse.pdf", "content": b"%PDF-1.4 answer"}
    assert calls[3].params["photo"] == "PHOTO-ID"
    # A name that climbs out of the uploads folder, a missing file, another channel's id: never sent.
    (tg_bab.settings.data_dir / "secret.txt").write_text("no")
    for ref in ("file:../secret.txt", "file:missing.pdf", "whatsapp:123"):
        with pytest.raises(DeliveryError):
            await sender.send("42", Outbound("", "fr", files=(FileRef(1, "document", ref),)))
    assert len(fake_api.sent_to(42)) == 4


async def test_a_clerk_document_in_the_outbox_reaches_the_citizen(citizen: TelegramCitizen) -> None:
    """What the inbox (issue 3) will queue: a message with a file ref, delivered by the dispatcher."""
    from bot.flows.spec import FileRef, Outbound
    from bot.storage import repos

    await citizen.say("Bonjour")
    async with citizen.bab.sessions() as session, session.begin():
        identity = await repos.find_identity(session, "telegram", str(citizen.chat_id))
        assert identity is not None
        await repos.enqueue(session, identity.id, "telegram", Outbound(
            text="Réponse", locale="fr", files=(FileRef(9, "document", "telegram:ANSWER-DOC", "application/pdf",
                                                        "reponse.pdf"),)), citizen.bab.clock.now())
    delivered = await citizen.replies()
    assert [call.method for call in delivered] == ["sendMessage", "sendDocument"]
    assert delivered[1].params["document"] == "ANSWER-DOC"


def test_callback_data_fits_64_bytes_and_carries_the_version() -> None:
    assert callback_data(12, "01.571.01.11") == "12|01.571.01.11"
    assert callback_data(3, "x" * 70) is None
    assert callback_data(1, "ب" * 31) is not None  # 62 bytes in UTF-8, plus "1|": exactly 64
    arabic = "ب" * 32  # 64 bytes in UTF-8: with the version it no longer fits
    assert callback_data(1, arabic) is None
    markup = keyboard([("ok", "Oui"), (arabic, "Trop long"), ("no", "Non"), ("edit", "Changer quelque chose d'autre")],
                      5)
    assert markup is not None
    rows = [[button.callback_data for button in row] for row in markup.inline_keyboard]
    assert rows == [["5|ok", "5|no"], ["5|edit"]]  # short labels pair up; the oversized id is left out
    assert all(len(str(data).encode()) <= MAX_CALLBACK_BYTES for row in rows for data in row)
    assert keyboard([], 1) is None
    choice = parse_callback("5|open:BAB-12|34")
    assert (choice.choice_id, choice.version) == ("open:BAB-12|34", 5)
    forged = parse_callback("garbage")
    assert forged.version is None and forged.choice_id == "garbage"


def test_settings_read_the_telegram_variables(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.handlers.telegram import webhook_secret

    env = {"BAB_DATA_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:abc", "BAB_PUBLIC_URL": "https://bab.ma/",
           "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot"}
    settings = load_settings(env, env_file=None)
    assert (settings.telegram_bot_token, settings.public_url, settings.telegram_api_base_url) == (
        "1:abc", "https://bab.ma", "http://127.0.0.1:8081/bot")
    secret = webhook_secret(settings)
    assert secret == webhook_secret(load_settings(env, env_file=None))  # stable across workers
    assert secret != webhook_secret(load_settings({**env, "TELEGRAM_BOT_TOKEN": "1:abd"}, env_file=None))
    assert set(secret) <= set("0123456789abcdef") and 1 <= len(secret) <= 256
    assert webhook_secret(load_settings({**env, "TELEGRAM_WEBHOOK_SECRET": "s3cr3t"}, env_file=None)) == "s3cr3t"
    plain = load_settings({"BAB_DATA_DIR": str(tmp_path)}, env_file=None)
    assert plain.telegram_bot_token is None and plain.telegram_api_base_url == "https://api.telegram.org/bot"


async def test_a_long_message_whose_second_part_fails_is_not_sent_again_from_the_start(
        citizen: TelegramCitizen, clock: FixedClock) -> None:
    from tests.fakes.chaos import Chaos

    await citizen.say("Bonjour")
    message = Outbound(text="Début\n" + "a" * 4000 + "\n" + "b" * 200 + "\nFin", locale="fr",
                       options=(("ok", "OK"),))
    pieces = split_text(message.text)
    assert len(pieces) == 2
    async with citizen.bab.sessions() as session, session.begin():
        identity = await session.scalar(select(tables.Identity))
        assert identity is not None
        await repos.enqueue(session, identity.id, "telegram", message, clock.now())
    citizen.api.chaos = Chaos(plan=[None, "5xx"])  # the first part goes, the second is refused
    assert [call.params["text"] for call in await citizen.replies()] == pieces[:1]
    rows = await outbox(citizen.bab)
    assert rows[-1].status == "pending" and rows[-1].payload["resume"]["text"] == pieces[1]
    clock.advance(seconds=3)
    again = await citizen.replies()
    assert [call.params["text"] for call in again] == pieces[1:]  # only what was left, with the buttons
    assert again[0].buttons
    done = (await outbox(citizen.bab))[-1]
    assert done.status == "sent" and "resume" not in done.payload and done.payload["text"] == message.text
