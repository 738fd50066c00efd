"""Clerks on WhatsApp: linking with the invite code, the inbox, answering with a PDF; files across channels."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Bab, web_app
from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from bot.services.clock import FixedClock
from bot.services.staff import StaffAdmin
from bot.storage import tables
from tests.fakes import telegram_api as tg
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.whatsapp_api import FakeGraphAPI
from tests.telegram.conftest import TelegramCitizen, fast
from tests.whatsapp.conftest import WhatsAppCitizen, make_bab, wa_settings
from tests.whatsapp.test_whatsapp_flows import file_access_request

TETOUAN = "01.571.01.11"
PDF = b"%PDF-1.4\n% Bab test document\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
FATIMA = wp.user(7, name="Fatima")


async def linked_clerk(citizen: WhatsAppCitizen, user: wp.WaUser = FATIMA) -> WhatsAppCitizen:
    """A clerk of Tétouan invited with `bab staff`'s service, who sends the code from WhatsApp."""
    bab = citizen.bab
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(Role.CLERK, [TETOUAN], "Fatima")
    clerk = WhatsAppCitizen(citizen.graph, bab, citizen.client, user, citizen.clock)
    welcome = await clerk.say(invite.code)
    assert "Fatima" in clerk.texts(welcome)
    return clerk


async def test_clerk_answers_from_the_inbox_with_a_pdf(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    clerk = await linked_clerk(amina)
    reference = find_reference(await file_access_request(amina))
    assert reference is not None
    notice = await clerk.replies()
    assert reference in clerk.texts(notice)
    await clerk.say("/inbox")
    assert f"open:{reference}" in clerk.option_ids()
    opened = await clerk.tap(f"open:{reference}")
    assert "AB123456" in clerk.texts(opened)
    await amina.replies()  # "your request was opened"
    await clerk.tap("a:take")
    await clerk.tap("a:answer")
    sha = graph.add_media("5544332211", PDF, "application/pdf")
    await clerk.send(wp.document(clerk.user, "5544332211", filename="budget.pdf", sha256=sha,
                                 at=clerk.clock.now()))
    await clerk.say("Voici le budget 2025 adopté par le conseil, en pièce jointe.")
    await clerk.tap("c:full")
    answer = await amina.replies()
    assert "Voici le budget 2025" in amina.texts(answer)
    documents = [call for call in answer if call.kind == "document"]
    assert len(documents) == 1
    assert graph.media[documents[0].media_id or ""].data == PDF  # uploaded from Bab's own copy
    async with amina.bab.sessions() as session:
        request = await session.scalar(select(tables.Request).where(tables.Request.reference == reference))
        assert request is not None and request.status == "answered"


async def test_a_coordinator_gets_the_audit_log_on_whatsapp_as_a_document(amina: WhatsAppCitizen,
                                                                          graph: FakeGraphAPI) -> None:
    clerk = await linked_clerk(amina)
    reference = find_reference(await file_access_request(amina))
    await clerk.say(str(reference))  # a view of the requester's details, audited
    bab = amina.bab
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(Role.COORDINATOR, [None], "Nadia")
    coordinator = WhatsAppCitizen(amina.graph, bab, amina.client, wp.user(8, name="Nadia"), amina.clock)
    await coordinator.say(invite.code)
    calls = await coordinator.say("/audit")
    documents = [call for call in calls if call.kind == "document"]
    assert len(documents) == 1 and (documents[0].filename or "").endswith(".csv")
    uploaded = graph.media[documents[0].media_id or ""]
    assert uploaded.mime_type == "text/plain"  # Meta's upload refuses text/csv; the name keeps the .csv
    assert f"view_personal,{reference}".encode() in uploaded.data.replace(b'"', b"")


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramAPI]:
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def both_bab(settings: Settings, graph: FakeGraphAPI, telegram_api: FakeTelegramAPI, clock: FixedClock,
                   template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    """One Bab speaking WhatsApp and Telegram (polling)."""
    both = wa_settings(dataclasses.replace(settings, telegram_bot_token=telegram_api.token,
                                           telegram_api_base_url=telegram_api.base_url), graph)
    bab = await make_bab(both, clock, template_db[1])
    assert bab.telegram is not None
    fast(bab.telegram)
    bab.telegram.start(bab.conversations)
    await telegram_api.wait_for("getUpdates")
    yield bab
    await bab.close()


async def test_a_whatsapp_citizen_receives_the_pdf_a_clerk_sent_from_telegram(
        both_bab: Bab, graph: FakeGraphAPI, telegram_api: FakeTelegramAPI, aiohttp_client: Any,
        clock: FixedClock) -> None:
    client = await aiohttp_client(web_app(both_bab, dispatch=False))
    amina = WhatsAppCitizen(graph, both_bab, client, wp.AMINA, clock)
    invite = await StaffAdmin(both_bab.sessions, both_bab.directory, clock).invite(Role.CLERK, [TETOUAN], "Driss")
    clerk = TelegramCitizen(telegram_api, both_bab, chat_id=5550101)
    await clerk.say(f"/start {invite.code}")
    reference = find_reference(await file_access_request(amina))
    await clerk.replies()
    await clerk.say("/inbox")
    await clerk.tap(f"open:{reference}")
    await clerk.tap("a:take")
    await clerk.tap("a:answer")
    telegram_api.files["DOC-FILE-7"] = PDF
    await clerk.send(tg.document(5550101, "DOC-FILE-7"))
    await clerk.say("Le document demandé est joint.")
    await clerk.tap("c:full")
    answer = await amina.replies()
    documents = [call for call in answer if call.kind == "document"]
    assert len(documents) == 1 and graph.media[documents[0].media_id or ""].data == PDF
    assert "Le document demandé est joint." in amina.texts(answer)
