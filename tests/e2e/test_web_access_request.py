"""A citizen files a full access-to-information request through the real aiohttp server, in each language."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.storage import tables
from bot.app import Bab
from tests.conftest import WebUser
from tests.golden.players import WebChannel
from tests.golden.test_golden import replay
from tests.golden.transcript import TRANSCRIPTS, load, render

# Received Monday 16 Nov 2026 at 10:00: day 0. Twenty working days after it, skipping the weekends and
# Wednesday 18 Nov (Independence Day): 17, 19, 20, 23–27, 30 Nov, 1–4, 7–11, 14, 15 Dec → due 15 Dec 2026.
DUE = date(2026, 12, 15)

CASES = [
    # (golden transcript, expected locale, due date as the locale writes it)
    ("access_request_ary", "ary", "15 دجنبر 2026"),
    ("access_request_fr", "fr", "15 décembre 2026"),
    ("access_request_ar", "ar", "15 دجنبر 2026"),
]


@pytest.mark.parametrize(("name", "locale", "due_text"), CASES)
async def test_full_access_request_in_each_language(bab: Bab, aiohttp_server: Any, aiohttp_client: Any, name: str,
                                                     locale: str, due_text: str) -> None:
    # The conversation itself (every text and button) is the golden transcript tests/golden/transcripts/NAME.txt;
    # here: what it leaves in the database, and the limit of ten steps after the greeting.
    expected = load(TRANSCRIPTS / f"{name}.txt")
    channel = WebChannel("web", bab, aiohttp_server, aiohttp_client)
    actual = await replay(expected, channel)
    assert render(actual) == render(expected)
    assert len(actual.turns) - 1 <= 10, "the issue asks for at most 10 messages or taps after the greeting"
    assert "09-08" in actual.turns[-2].replies[-1].text  # the summary quotes the personal-data law
    text = "\n".join(reply.text for reply in actual.turns[-1].replies)
    assert "{ref1}" in text and due_text in text
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None
        assert (request.kind, request.status, request.collectivity_code) == ("access", "submitted", "01.571.01.11")
        assert request.due_on == DUE and request.id_number == "AB123456" and request.contact == "+212612345678"
        assert request.locale == locale
        events = await session.scalar(select(func.count()).select_from(tables.RequestEvent))
        assert events == 1
        locales = (await session.scalars(select(tables.OutboxMessage.payload))).all()
    assert all(payload["locale"] == locale for payload in locales)
    assert all(message["locale"] == locale for message in channel.users[0].messages)
    assert {message["dir"] for message in channel.users[0].messages} == {"ltr" if locale == "fr" else "rtl"}


async def test_reload_finds_the_conversation_again(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    await web_user.tap("access")
    response = await web_user.client.get("/api/transcript")
    body = await response.json()
    senders = [message["from"] for message in body["messages"]]
    assert senders[0] == "user" and "bot" in senders
    assert body["messages"][-1]["text"] == web_user.messages[-1]["text"]
    ui = await (await web_user.client.get("/api/ui")).json()
    assert ui["locale"] == "fr" and ui["dir"] == "ltr" and ui["strings"]["send"]


async def test_second_request_reuses_saved_details(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    for action in [("tap", "access"), ("say", "Liste des marchés publics de 2025"), ("say", "Rabat")]:
        await (web_user.tap(action[1]) if action[0] == "tap" else web_user.say(action[1]))
    await web_user.tap(web_user.option_ids()[0])
    for option in ("no", "email"):
        await web_user.tap(option)
    await web_user.say("Karim Benali")
    await web_user.say("K998877")
    await web_user.say("0612345678")
    assert "e-mail" in web_user.messages[-2]["text"]  # e-mail delivery needs an e-mail address
    await web_user.say("karim@example.ma")
    await web_user.tap("send")
    # Second request: the saved details are offered in one tap.
    await web_user.tap("access")
    await web_user.say("Le nombre de permis de construire délivrés en 2025")
    await web_user.say("Rabat")
    await web_user.tap(web_user.option_ids()[0])
    await web_user.tap("no")
    await web_user.tap("email")
    assert "Karim Benali" in web_user.prompt["text"]
    await web_user.tap("reuse")
    assert "karim@example.ma" in web_user.prompt["text"]
    await web_user.tap("send")
    async with web_user.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.Request)) == 2
