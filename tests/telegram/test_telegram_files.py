"""Files cross channels: a Telegram photo or document is downloaded (getFile, then the file URL) and kept in the
uploads folder like a web upload, so the web chat serves what a clerk sent from Telegram and Telegram uploads what
a clerk sent from the web. What cannot be kept (not a photo or PDF, too large, download failed) gets the core's
polite wrong-kind answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Bab, web_app
from bot.domain.staff import Role
from bot.handlers.telegram import base_file_url
from bot.i18n import translator
from bot.services import media
from bot.storage import crypto, tables
from tests.e2e.desk_helpers import file_access, new_user, staff_user, texts, upload
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.conftest import TelegramCitizen
from tests.telegram.test_staff_on_telegram import CLERK_CHAT, TETOUAN, file_for, linked_staff

DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + b"\x00" * 64  # a Word file is a zip
ONLY_TEXT = translator("fr")("I can only read text messages and button presses here.")


async def attachments(bab: Bab) -> list[tables.Attachment]:
    async with bab.sessions() as session:
        return list((await session.scalars(select(tables.Attachment).order_by(tables.Attachment.id))).all())


def stored_bytes(bab: Bab, ref: str) -> bytes:
    path = media.path_of(bab.settings.uploads_dir, ref)
    assert path is not None, ref
    assert crypto.is_token(path.read_bytes()), "stored encrypted"
    return media.read(path)


async def test_a_citizens_photo_is_downloaded_into_the_uploads_folder(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour")
    citizen.api.files["PHOTO-FILE-ID"] = tg.JPEG
    replies = await citizen.send(tg.photo(citizen.chat_id))
    # The core got a photo (not OTHER): at the menu it asks for a choice rather than for text.
    assert ONLY_TEXT not in citizen.texts(replies) and replies
    [photo] = await attachments(citizen.bab)
    assert (photo.kind, photo.mime, photo.size) == ("photo", "image/jpeg", len(tg.JPEG))
    assert photo.ref.startswith("file:") and stored_bytes(citizen.bab, photo.ref) == tg.JPEG
    # The largest size was fetched, through the file URL of the same (fake) server.
    assert [call.params["file_id"] for call in citizen.api.called("getFile")] == ["PHOTO-FILE-ID"]
    assert [call.status for call in citizen.api.called("download")] == [200]


async def test_an_image_sent_as_a_file_is_a_photo_whatever_the_sender_claims(citizen: TelegramCitizen) -> None:
    await citizen.say("Bonjour")
    citizen.api.files["UNCOMPRESSED"] = tg.JPEG
    await citizen.send(tg.document(citizen.chat_id, "UNCOMPRESSED", mime="application/pdf", name="photo.pdf"))
    [photo] = await attachments(citizen.bab)
    assert (photo.kind, photo.mime) == ("photo", "image/jpeg")  # decided from the bytes


async def test_a_clerk_on_telegram_answers_with_a_pdf_the_web_citizen_downloads(
        citizen: TelegramCitizen, aiohttp_server: Any, aiohttp_client: Any) -> None:
    bab = citizen.bab
    clerk, _ = await linked_staff(citizen, CLERK_CHAT, Role.CLERK, [TETOUAN], "Fatima")
    server = await aiohttp_server(web_app(bab, dispatch=False))
    web_citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(web_citizen)

    assert reference in clerk.texts(await clerk.replies())
    await clerk.say("/inbox")
    await clerk.tap(f"open:{reference}")
    await clerk.tap("a:take")
    await clerk.tap("a:answer")
    citizen.api.files["CLERK-PDF"] = tg.PDF
    await clerk.send(tg.document(CLERK_CHAT, "CLERK-PDF"))
    await clerk.say("Voici le budget 2025 adopté par le conseil, en pièce jointe.")
    await clerk.tap("c:full")

    answer = await web_citizen.replies()
    assert "Voici le budget 2025" in texts(answer)
    files = [file for message in answer for file in message["files"]]
    assert len(files) == 1
    document = await web_citizen.client.get(files[0]["url"])
    assert document.status == 200 and await document.read() == tg.PDF
    assert document.headers["Content-Type"] == "application/pdf"
    stranger = await new_user(bab, server, aiohttp_client)
    assert (await stranger.client.get(files[0]["url"])).status == 404


async def test_a_telegram_citizen_receives_the_pdf_a_web_clerk_uploaded(
        citizen: TelegramCitizen, aiohttp_server: Any, aiohttp_client: Any) -> None:
    bab = citizen.bab
    server = await aiohttp_server(web_app(bab, dispatch=False))
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    reference = await file_for(citizen)
    await citizen.replies()

    assert reference in texts(await clerk.replies())
    await clerk.say("/inbox")
    await clerk.tap(f"open:{reference}")
    await clerk.tap("a:take")
    await clerk.tap("a:answer")
    assert "(1)" in texts(await upload(clerk, tg.PDF))
    await clerk.say("Voici le budget 2025 adopté par le conseil, en pièce jointe.")
    await clerk.tap("c:full")

    answer = await citizen.replies()
    assert "Voici le budget 2025" in citizen.texts(answer)
    documents = [call for call in answer if call.method == "sendDocument"]
    assert len(documents) == 1 and documents[0].chat_id == citizen.chat_id
    assert documents[0].params["document"]["content"] == tg.PDF  # uploaded: a web file has no Telegram id


def unsupported(api: FakeTelegramAPI, chat_id: int) -> dict[str, Any]:
    api.files["WORD-FILE"] = DOCX
    return tg.document(chat_id, "WORD-FILE", mime="application/pdf", name="lettre.pdf")  # the name lies


def unknown_file(api: FakeTelegramAPI, chat_id: int) -> dict[str, Any]:
    return tg.photo(chat_id, "NOT-ON-TELEGRAM")  # getFile answers 400


def download_fails(api: FakeTelegramAPI, chat_id: int) -> dict[str, Any]:
    api.files["PHOTO-FILE-ID"] = tg.JPEG
    api.fail("download", 502, "Bad Gateway")
    return tg.photo(chat_id)


def too_large(api: FakeTelegramAPI, chat_id: int) -> dict[str, Any]:
    api.files["HUGE"] = tg.PDF  # never asked for: Telegram said how large it is
    return tg.document(chat_id, "HUGE", size=media.MAX_FILE_BYTES + 1)


@pytest.mark.parametrize("update", [unsupported, unknown_file, download_fails, too_large])
async def test_a_file_bab_cannot_keep_gets_the_polite_answer(
        citizen: TelegramCitizen, update: Callable[[FakeTelegramAPI, int], dict[str, Any]]) -> None:
    await citizen.say("Bonjour")
    replies = await citizen.send(update(citizen.api, citizen.chat_id))
    assert ONLY_TEXT in citizen.texts(replies)
    assert await attachments(citizen.bab) == []
    uploads = citizen.bab.settings.uploads_dir
    assert not uploads.exists() or not any(uploads.iterdir())
    if update is too_large:
        assert citizen.api.called("getFile") == []
    assert await citizen.say("Bonjour")  # the conversation goes on


async def test_a_failed_download_by_webhook_is_answered_not_redelivered(webhook_citizen: TelegramCitizen) -> None:
    await webhook_citizen.say("Bonjour")
    # TelegramCitizen.deliver asserts the webhook answered 200: a 500 would make Telegram resend the update.
    replies = await webhook_citizen.send(unknown_file(webhook_citizen.api, webhook_citizen.chat_id))
    assert ONLY_TEXT in webhook_citizen.texts(replies)


def test_files_are_downloaded_from_the_configured_server() -> None:
    assert base_file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert base_file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"  # a self-hosted server
