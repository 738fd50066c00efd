"""The WhatsApp channel on this machine's PostgreSQL (TEST_DATABASE_URL): a whole request, a redelivery and
receipts, with the webhook bodies claimed under SKIP LOCKED."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import web_app
from bot.config import Settings
from bot.domain.directory import Directory
from bot.services.clock import FixedClock
from bot.storage import tables
from tests.conftest import postgres_url, reset_schema
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.whatsapp_api import FakeGraphAPI
from tests.whatsapp.conftest import WhatsAppCitizen, make_bab, wa_settings
from tests.whatsapp.test_whatsapp_flows import file_access_request

pytestmark = pytest.mark.skipif(postgres_url() is None, reason="TEST_DATABASE_URL is not set")


async def test_a_request_on_postgres(tmp_path: Path, graph: FakeGraphAPI, clock: FixedClock,
                                     template_db: tuple[Path, Directory], aiohttp_client: Any) -> None:
    url = postgres_url()
    assert url is not None
    await reset_schema(url)
    settings = wa_settings(Settings(data_dir=tmp_path, database_url=url, default_locale="ary"), graph)
    bab = await make_bab(settings, clock, template_db[1])
    try:
        amina = WhatsAppCitizen(graph, bab, await aiohttp_client(web_app(bab, dispatch=False)), wp.AMINA, clock)
        receipt = await file_access_request(amina, "access_request_ary")
        assert "BAB-" in receipt
        again = wp.text(amina.user, "Bonjour", at=clock.now())
        await amina.send(again)
        await amina.send(again)
        wamids = [call.wamid for call in graph.messages_to(wp.AMINA.address) if call.wamid]
        await amina.post(*[wp.status(amina.user, wamid, "read") for wamid in wamids])
        await amina.replies()
        async with bab.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(tables.Request)) == 1
            assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)
                                        .where(tables.InboundMessage.external_id == again["id"])) == 1
            statuses = set((await session.scalars(select(tables.ChannelMessage.status))).all())
            assert statuses == {"read"}
            unprocessed = await session.scalar(select(func.count()).select_from(tables.WebhookDelivery)
                                               .where(tables.WebhookDelivery.processed_at.is_(None)))
            assert unprocessed == 0
    finally:
        await bab.close()
