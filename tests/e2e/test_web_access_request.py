"""A citizen files a full access-to-information request through the real aiohttp server, in each language."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.storage import tables
from tests.conftest import WebUser

# Received Monday 16 Nov 2026 at 10:00: day 0. Twenty working days after it, skipping the weekends and
# Wednesday 18 Nov (Independence Day): 17, 19, 20, 23–27, 30 Nov, 1–4, 7–11, 14, 15 Dec → due 15 Dec 2026.
DUE = date(2026, 12, 15)

CASES = [
    # (first message, expected locale, place typed, due date as the locale writes it)
    ("salam bghit n3ref chi haja 3afak", "ary", "tetouan", "15 دجنبر 2026"),
    ("Bonjour, je voudrais une information", "fr", "Tétouan", "15 décembre 2026"),
    ("السلام عليكم، أريد الحصول على معلومات من فضلكم", "ar", "تطوان", "15 دجنبر 2026"),
]


@pytest.mark.parametrize(("greeting", "locale", "place", "due_text"), CASES)
async def test_full_access_request_in_each_language(web_user: WebUser, greeting: str, locale: str, place: str,
                                                     due_text: str) -> None:
    first = await web_user.say(greeting)
    assert first[-1]["locale"] == locale
    assert first[-1]["dir"] == ("ltr" if locale == "fr" else "rtl")
    steps = 0

    async def act(coro):  # type: ignore[no-untyped-def]
        nonlocal steps
        steps += 1
        return await coro

    await act(web_user.tap("access"))
    await act(web_user.say("Le budget 2025 de la commune et le procès-verbal du dernier conseil"))
    await act(web_user.say(place))
    candidates = web_user.option_ids()
    assert candidates[0] == "01.571.01.11", candidates  # Tétouan commune comes first
    await act(web_user.tap(candidates[0]))
    await act(web_user.tap("no"))
    await act(web_user.tap("chat"))
    await act(web_user.say("Amina El Idrissi"))
    await act(web_user.say("ab 123456"))
    await act(web_user.say("0612345678"))
    assert "09-08" in web_user.prompt["text"]
    receipt = await act(web_user.tap("send"))
    assert steps <= 10, "the issue asks for at most 10 messages or taps after the greeting"

    text = "\n".join(message["text"] for message in receipt)
    assert "BAB-" in text and due_text in text
    async with web_user.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None
        assert (request.kind, request.status, request.collectivity_code) == ("access", "submitted", "01.571.01.11")
        assert request.due_on == DUE and request.id_number == "AB123456" and request.contact == "+212612345678"
        assert request.locale == locale and request.reference in text
        events = await session.scalar(select(func.count()).select_from(tables.RequestEvent))
        assert events == 1
    assert all(message["locale"] == locale for message in web_user.messages)


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
