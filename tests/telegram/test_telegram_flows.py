"""A citizen on Telegram, through the real python-telegram-bot and a fake Bot API: polling and webhook."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.handlers.telegram import SECRET_HEADER, WEBHOOK_PATH
from bot.i18n import translator
from bot.storage import tables
from tests.fakes import telegram_api as tg
from tests.golden.players import TelegramPlayer
from tests.golden.script import play, texts
from tests.telegram.conftest import TelegramCitizen

DUE = date(2026, 12, 15)  # see tests/e2e/test_web_access_request.py


async def file_access_request(user: TelegramCitizen, name: str = "access_request_fr") -> str:
    """The golden access request `name` (tests/golden/transcripts/), by Telegram updates; returns the receipt."""
    return texts(await play(name, TelegramPlayer(user)))


async def assert_filed(user: TelegramCitizen, receipt: str, due_text: str, locale: str) -> None:
    assert "BAB-" in receipt and due_text in receipt
    async with user.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None
        assert (request.kind, request.status, request.collectivity_code) == ("access", "submitted", "01.571.01.11")
        assert request.due_on == DUE and request.id_number == "AB123456" and request.locale == locale
        identity = await session.get(tables.Identity, request.identity_id)
        # Keyed by the chat id's keyed hash; the chat id itself is kept encrypted, to send to.
        assert identity is not None and (identity.channel, identity.external_id, identity.address) == (
            "telegram", tables.identity_key("telegram", str(user.chat_id)), str(user.chat_id))
        pending = await session.scalar(select(func.count()).select_from(tables.OutboxMessage)
                                       .where(tables.OutboxMessage.status != "sent"))
        assert pending == 0


@pytest.mark.parametrize(("name", "language_code", "locale", "due_text"), [
    ("access_request_ary", "ar", "ary", "15 دجنبر 2026"),
    ("access_request_fr", "fr", "fr", "15 décembre 2026"),
])
async def test_full_access_request_by_polling(citizen: TelegramCitizen, name: str, language_code: str,
                                              locale: str, due_text: str) -> None:
    citizen.language_code = language_code
    receipt = await file_access_request(citizen, name)
    await assert_filed(citizen, receipt, due_text, locale)
    # Every tap was answered (the spinner stops) and every message was plain text: no parse_mode anywhere.
    assert len(citizen.api.called("answerCallbackQuery")) == 4  # the first message chose "request information"
    assert all("parse_mode" not in call.params for call in citizen.api.called("sendMessage"))


async def test_full_access_request_by_webhook(webhook_citizen: TelegramCitizen) -> None:
    bab = webhook_citizen.bab
    assert bab.telegram is not None and bab.telegram.mode == "webhook"
    task = bab.telegram.start(bab.conversations)
    registered = await webhook_citizen.api.wait_for("setWebhook")
    await task
    assert registered.params["url"] == "https://bab.example.ma" + WEBHOOK_PATH
    assert registered.params["secret_token"] == bab.telegram.secret
    assert not webhook_citizen.api.called("getUpdates")
    receipt = await file_access_request(webhook_citizen)
    await assert_filed(webhook_citizen, receipt, "15 décembre 2026", "fr")


async def test_forged_webhook_is_refused_before_the_core(webhook_citizen: TelegramCitizen) -> None:
    assert webhook_citizen.bab.telegram is not None
    secret = webhook_citizen.bab.telegram.secret
    update = {"update_id": 77, **tg.text(webhook_citizen.chat_id, "Bonjour")}
    for headers in ({}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: secret[:-1]}, {SECRET_HEADER: secret + "x"}):
        response = await webhook_citizen.client.post(WEBHOOK_PATH, json=update, headers=headers)
        assert response.status == 403
    async with webhook_citizen.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.Identity)) == 0
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 0
    # Garbage with the right secret is a 400 (no redelivery wanted), and still nothing is recorded.
    response = await webhook_citizen.client.post(WEBHOOK_PATH, data=b"not json", headers={SECRET_HEADER: secret})
    assert response.status == 400
    assert await webhook_citizen.replies() == [] and not webhook_citizen.api.calls


async def test_an_oversized_webhook_body_is_refused_even_chunked(webhook_citizen: TelegramCitizen) -> None:
    assert webhook_citizen.bab.telegram is not None
    secret = webhook_citizen.bab.telegram.secret
    big = b'{"update_id": 78, "message": {"text": "' + b"a" * (3 * 1024 * 1024) + b'"}}'

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: only the bytes read can tell
        for start in range(0, len(big), 256 * 1024):
            yield big[start:start + 256 * 1024]

    response = await webhook_citizen.client.post(WEBHOOK_PATH, data=chunks(), headers={SECRET_HEADER: secret})
    assert response.status == 413
    async with webhook_citizen.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 0


async def test_duplicate_update_is_processed_once_by_webhook(webhook_citizen: TelegramCitizen) -> None:
    update = tg.text(webhook_citizen.chat_id, "Bonjour")
    await webhook_citizen.deliver(update, update_id=500)
    first = await webhook_citizen.replies()
    await webhook_citizen.deliver(update, update_id=500)  # Telegram retried: same update id
    assert await webhook_citizen.replies() == []
    assert first
    async with webhook_citizen.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 1


async def test_duplicate_update_is_processed_once_by_polling(citizen: TelegramCitizen) -> None:
    update = tg.text(citizen.chat_id, "Bonjour")
    update_id = await citizen.deliver(update)
    first = await citizen.replies()
    # A redelivery (e.g. the poller stopped before confirming the batch) with the same update id.
    await citizen.deliver(update, update_id=update_id)
    await citizen.deliver(tg.text(citizen.chat_id, "menu"))
    second = await citizen.replies()
    assert first and len(second) == 1  # only "menu" was answered
    async with citizen.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 2


async def test_stale_button_gets_a_reprompt(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour")
    menu = citizen.prompt
    question = (await citizen.tap("access"))[-1]
    replies = await citizen.tap("feedback", prompt=menu)  # a button of the first menu, tapped later
    assert "question" in citizen.texts(replies[:-1]).lower()  # "That button belongs to an earlier question…"
    assert replies[-1].params["text"] == question.params["text"]  # …and the current question again
    async with citizen.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.Request)) == 0
    assert len(citizen.api.called("answerCallbackQuery")) == 2


async def test_an_edited_message_is_answered_and_changes_nothing(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour")
    question = (await citizen.tap("access"))[-1]
    sent = tg.message(citizen.chat_id, citizen.language_code, text="Le budget 2025 de la commune")["message"]
    replies = await citizen.send({"edited_message": {**sent, "edit_date": sent["date"] + 5}})
    t = translator("fr")
    assert citizen.texts(replies[:-1]) == t("I do not read changes to a message already sent. Please send it again "
                                             "as a new message.")
    assert replies[-1].params["text"] == question.params["text"]  # the question it was at, asked again
    assert "edited_message" in citizen.api.called("getUpdates")[-1].params["allowed_updates"]
    async with citizen.bab.sessions() as session:
        conversation = await session.scalar(select(tables.Conversation))
        assert conversation is not None and conversation.state["answers"] == {}


async def test_deep_link_start_reaches_the_core_whole(citizen: TelegramCitizen) -> None:
    await citizen.say("/start INVITE-42")
    async with citizen.bab.sessions() as session:
        texts = (await session.scalars(select(tables.InboundMessage.text))).all()
    assert texts == [None]  # read by the core, not kept: only the web shows typed texts again (law 09-08)
    assert citizen.prompt  # today /start shows the menu


async def test_photo_and_location_where_the_feedback_flow_asks(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour, j'ai une réclamation")  # a complaint: the flow starts at the place (issue 11)
    await citizen.send(tg.location(citizen.chat_id, 35.57, -5.37))  # the place step: nearest communes
    assert "01.571.01.11" in citizen.option_ids()
    await citizen.tap("01.571.01.11")
    await citizen.tap("lighting")
    await citizen.say("Les lampadaires de la rue 12 sont éteints depuis deux semaines.")
    replies = await citizen.send(tg.sticker(citizen.chat_id))  # not usable here: the question comes again
    assert "photo" in citizen.texts([citizen.prompt]).lower()
    assert len(replies) == 2 and "photo" in citizen.texts(replies[-1:]).lower()  # an answer, then the question
    citizen.api.files["BIG-PHOTO"] = tg.JPEG
    await citizen.send(tg.photo(citizen.chat_id, "BIG-PHOTO"))
    await citizen.tap("skip")
    receipt = await citizen.tap("send")
    assert "BAB-" in citizen.texts(receipt)
    async with citizen.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        photo = await session.scalar(select(tables.Attachment))
        assert request is not None and photo is not None
        assert (photo.kind, photo.mime, photo.size, photo.request_id) == ("photo", "image/jpeg", len(tg.JPEG),
                                                                           request.id)
        assert photo.ref.startswith("file:")  # downloaded (the largest size) and kept like a web upload
    assert [call.params["file_id"] for call in citizen.api.called("getFile")] == ["BIG-PHOTO"]

    # A second complaint with a shared location instead of a photo.
    await citizen.tap("feedback")
    await citizen.tap("complaint")
    await citizen.say("Rabat")
    await citizen.tap(citizen.option_ids()[0])
    await citizen.tap("roads")
    await citizen.say("Un grand trou dans la chaussée avenue Hassan II, dangereux la nuit.")
    await citizen.send(tg.location(citizen.chat_id, 34.02, -6.83))
    await citizen.tap("skip")
    await citizen.tap("send")
    async with citizen.bab.sessions() as session:
        second = (await session.scalars(select(tables.Request).order_by(tables.Request.id))).all()[-1]
        assert second.lat == pytest.approx(34.02) and second.lon == pytest.approx(-6.83)


async def test_a_document_is_downloaded_and_stored(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour")
    citizen.api.files["PDF-ID"] = tg.PDF
    await citizen.send(tg.document(citizen.chat_id, "PDF-ID"))
    async with citizen.bab.sessions() as session:
        attachment = await session.scalar(select(tables.Attachment))
        assert attachment is not None
        assert (attachment.kind, attachment.mime, attachment.size) == ("document", "application/pdf", len(tg.PDF))
        assert attachment.ref.startswith("file:")
