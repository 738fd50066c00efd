"""The channels a transcript is replayed on: the web chat (SQLite and PostgreSQL), Telegram and WhatsApp."""

from __future__ import annotations

from typing import Any

import pytest

from tests.golden.players import Channel, TelegramChannel, WebChannel, WhatsAppChannel
from tests.telegram.conftest import citizen, fake_api, ptb_timedelta, tg_bab, tg_settings  # noqa: F401
from tests.whatsapp.conftest import amina, graph, wa_bab, wa_client  # noqa: F401

CHANNELS = ["web-sqlite", "web-postgresql", "telegram", "whatsapp"]


@pytest.fixture
def channel(request: pytest.FixtureRequest, aiohttp_server: Any, aiohttp_client: Any) -> Channel:
    name = request.param
    if name == "web-sqlite":
        return WebChannel(name, request.getfixturevalue("bab"), aiohttp_server, aiohttp_client)
    if name == "web-postgresql":
        return WebChannel(name, request.getfixturevalue("pg_bab"), aiohttp_server, aiohttp_client)
    if name == "telegram":
        return TelegramChannel(request.getfixturevalue("citizen"))
    return WhatsAppChannel(request.getfixturevalue("amina"))
