"""A citizen on WhatsApp: signed webhooks posted to the real server, replies through the fake Graph API."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.handlers.whatsapp import WEBHOOK_PATH
from bot.services import media
from bot.storage import tables
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.whatsapp_api import FakeGraphAPI
from tests.golden.players import WhatsAppPlayer
from tests.golden.script import play, texts
from tests.whatsapp.conftest import VERIFY_TOKEN, WhatsAppCitizen

DUE = date(2026, 12, 15)  # see tests/e2e/test_web_access_request.py
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


async def file_access_request(user: WhatsAppCitizen, name: str = "access_request_fr") -> str:
    """The golden access request `name` (tests/golden/transcripts/), by WhatsApp messages and taps; returns the
    receipt."""
    return texts(await play(name, WhatsAppPlayer(user)))


@pytest.mark.parametrize(("name", "locale", "due_text"), [
    ("access_request_ary", "ary", "15 دجنبر 2026"),
    ("access_request_fr", "fr", "15 décembre 2026"),
])
async def test_full_access_request_with_buttons_and_a_list(amina: WhatsAppCitizen, graph: FakeGraphAPI,
                                                           name: str, locale: str, due_text: str) -> None:
    receipt = await file_access_request(amina, name)
    assert "BAB-" in receipt and due_text in receipt
    kinds = {call.kind for call in graph.messages_to(wp.AMINA.address)}
    assert {"button", "list", "text"} <= kinds, kinds
    async with amina.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None
        assert (request.kind, request.collectivity_code, request.locale) == ("access", "01.571.01.11", locale)
        assert request.due_on == DUE and request.id_number == "AB123456"
        contact = await session.scalar(select(tables.WhatsAppContact))
        assert contact is not None and (contact.wa_id, contact.bsuid) == (wp.AMINA.wa_id, wp.AMINA.user_id)
        pending = await session.scalar(select(func.count()).select_from(tables.OutboxMessage)
                                       .where(tables.OutboxMessage.status != "sent"))
        assert pending == 0
    # Every message was marked read with the typing bubble while Bab worked.
    assert any(call.kind == "typing" for call in graph.calls)


async def test_a_complaint_with_a_location_and_a_photo(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    sha = graph.add_media("9988776655", JPEG, "image/jpeg")
    await amina.say("Bonjour, j'ai une réclamation")  # a complaint: the flow starts at the place (issue 11)
    # A shared location near Tétouan's centre suggests the nearest communes.
    await amina.send(wp.location(amina.user, 35.57, -5.37, name="Derb", at=amina.clock.now()))
    assert "01.571.01.11" in amina.option_ids()
    await amina.tap("01.571.01.11")
    await amina.tap("waste")
    await amina.say("Les ordures ne sont plus ramassées dans notre rue depuis deux semaines.")
    await amina.send(wp.image(amina.user, "9988776655", sha256=sha, at=amina.clock.now()))
    await amina.say("0661234567")
    receipt = await amina.tap("send")
    assert "BAB-" in amina.texts(receipt)
    async with amina.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None and (request.kind, request.service) == ("complaint", "waste")
        attachment = await session.scalar(select(tables.Attachment))
        assert attachment is not None and attachment.request_id == request.id
        assert attachment.ref.startswith("file:") and attachment.mime == "image/jpeg"
    stored = amina.bab.settings.uploads_dir / attachment.ref[5:]
    assert JPEG[:16] not in stored.read_bytes() and media.read(stored) == JPEG  # encrypted on disk


async def test_a_duplicate_delivery_is_processed_once(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    message = wp.text(amina.user, "Bonjour", at=amina.clock.now())
    await amina.send(message)
    first = len(amina.graph.messages_to(wp.AMINA.address))
    await amina.send(message)  # Meta redelivers the same wamid
    await amina.send(wp.entry(wp.change([message]), wp.change([wp.text(wp.user(9), "salam")])))  # in a new batch
    assert len(amina.graph.messages_to(wp.AMINA.address)) == first
    async with amina.bab.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(tables.InboundMessage)
                                     .where(tables.InboundMessage.external_id == message["id"]))
        assert count == 1


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", ""])
async def test_a_bad_or_missing_signature_is_refused(amina: WhatsAppCitizen, signature: str | None) -> None:
    body = wp.dumps(wp.envelope(wp.text(amina.user, "Bonjour")))
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[wp.SIGNATURE_HEADER] = signature
    response = await amina.client.post(WEBHOOK_PATH, data=body, headers=headers)
    assert response.status in (401, 403)
    async with amina.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.WebhookDelivery)) == 0


async def test_the_signature_is_checked_over_the_raw_bytes(amina: WhatsAppCitizen) -> None:
    # Meta escapes non-ASCII and "/" in what it signs; re-serialising the JSON would break the check.
    payload = wp.envelope(wp.text(amina.user, "J'ai mangé des pâtes à Fès/Meknès — السلام", at=amina.clock.now()))
    for style in ("utf8", "meta"):
        body, headers = wp.signed(payload, style=style)  # type: ignore[arg-type]
        response = await amina.client.post(WEBHOOK_PATH, data=body, headers=headers)
        assert response.status == 200


async def test_oversized_bodies_are_refused_even_chunked(amina: WhatsAppCitizen) -> None:
    big = b"{" + b" " * (3 * 1024 * 1024 + 10) + b"}"

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 256 * 1024):
            yield big[start:start + 256 * 1024]

    response = await amina.client.post(WEBHOOK_PATH, data=chunks(), headers={wp.SIGNATURE_HEADER: wp.sign(big)})
    assert response.status == 413
    body, headers = wp.signed(wp.envelope(wp.text(amina.user, "x" * (2 * 1024 * 1024))))
    response = await amina.client.post(WEBHOOK_PATH, data=io.BytesIO(body), headers=headers)
    assert response.status == 200  # 2 MB is fine: Meta's payloads go up to 3 MB


async def test_verification_handshake(amina: WhatsAppCitizen) -> None:
    ok = await amina.client.get(WEBHOOK_PATH, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                      "hub.challenge": "1158201444"})
    assert ok.status == 200 and await ok.text() == "1158201444"
    wrong = await amina.client.get(WEBHOOK_PATH, params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                         "hub.challenge": "1"})
    assert wrong.status == 403


async def test_unusable_types_get_a_polite_answer(amina: WhatsAppCitizen) -> None:
    await amina.say("Bonjour")
    for item in (wp.audio(amina.user, at=amina.clock.now()), wp.sticker(amina.user, at=amina.clock.now()),
                 wp.video(amina.user, at=amina.clock.now()), wp.shared_contacts(amina.user, at=amina.clock.now()),
                 wp.unsupported(amina.user, at=amina.clock.now()),
                 wp.message(amina.user, "brand_new_type", {"x": 1}, at=amina.clock.now())):
        replies = await amina.send(item)
        assert replies and "seulement lire les messages écrits" in amina.texts(replies), item["type"]


async def test_a_username_user_without_a_number_is_written_to_by_bsuid(graph: FakeGraphAPI, wa_bab: object,
                                                                      wa_client: object, clock: object) -> None:
    youssef = WhatsAppCitizen(graph, wa_bab, wa_client, wp.YOUSSEF, clock)  # type: ignore[arg-type]
    replies = await youssef.say("salam")
    assert replies and all(call.recipient == wp.YOUSSEF.user_id and call.to is None for call in replies)


async def test_a_changed_number_keeps_the_requests(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    await file_access_request(amina)
    await amina.post(wp.user_changed_number(amina.user, "212698765432", at=amina.clock.now()))
    await amina.replies()
    moved = wp.WaUser(user_id="MA.99990000111122223333", wa_id="212698765432", name="Amina")
    async with amina.bab.sessions() as session:
        contact = await session.scalar(select(tables.WhatsAppContact))
        assert contact is not None and contact.wa_id == "212698765432"
    again = WhatsAppCitizen(graph, amina.bab, amina.client, moved, amina.clock)
    await again.say("Bonjour")
    await again.tap("mine")
    assert "BAB-" in again.texts(again.graph.messages_to(moved.address))


async def test_a_typed_number_presses_that_choice(amina: WhatsAppCitizen) -> None:
    await amina.say("Bonjour")
    first = amina.option_ids()[0]
    assert first == "access"
    replies = await amina.say("1")
    assert "information" in amina.texts(replies).lower()  # the access request's first question
    async with amina.bab.sessions() as session:
        stored = (await session.scalars(select(tables.InboundMessage.kind).order_by(tables.InboundMessage.id))).all()
    assert stored[-1] == "choice"


async def test_several_people_in_one_post_are_all_answered_in_time_order(amina: WhatsAppCitizen,
                                                                         graph: FakeGraphAPI) -> None:
    other = wp.user(3)
    later = amina.clock.now()
    menu, bonjour = wp.text(amina.user, "menu", at=later.timestamp() + 5), wp.text(amina.user, "Bonjour", at=later)
    body = wp.entry(wp.change([menu, bonjour]),
                    wp.change([wp.text(other, "salam", at=later)]))
    graph.user_wrote(amina.user.address)
    graph.user_wrote(other.address)
    await amina.post(body)
    await amina.replies()
    assert graph.messages_to(other.address), "the second change was handled too"
    async with amina.bab.sessions() as session:
        # Texts are not kept on WhatsApp (minimisation): the order shows in the rows' message ids.
        ids = (await session.scalars(select(tables.InboundMessage.external_id)
                                     .order_by(tables.InboundMessage.id))).all()
    assert ids.index(bonjour["id"]) < ids.index(menu["id"])  # sorted by WhatsApp's timestamp, not by position


async def test_a_typed_number_still_picks_the_option_once_the_menu_message_is_purged(
        amina: WhatsAppCitizen) -> None:
    # A numbered choice is read from the last menu Bab sent; the retention purge deletes delivered outbox rows
    # after a week, and the number must then still mean the current question's option (the conversation state).
    await amina.say("Bonjour, j'ai une réclamation")
    await amina.send(wp.location(amina.user, 35.57, -5.37, name="Derb", at=amina.clock.now()))
    await amina.tap("01.571.01.11")
    services = amina.option_ids()
    assert services[1] == "waste"
    amina.clock.advance(days=8)  # the citizen comes back after a week; the daily purge ran
    purged = await amina.bab.retention.purge(amina.clock.now())
    assert purged.outbox > 0
    async with amina.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.OutboxMessage)) == 0
    await amina.say("2")
    await amina.say("Les ordures ne sont plus ramassées dans notre rue depuis deux semaines.")
    async with amina.bab.sessions() as session:
        row = await session.get(tables.Conversation, (await session.scalar(select(tables.Identity.id))))
        assert row is not None and row.state["answers"].get("service") == "waste"
