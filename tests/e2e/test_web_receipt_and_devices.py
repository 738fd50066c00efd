"""The receipt card, leaving a shared device and reopening a request elsewhere, through the real aiohttp server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import Bab, web_app
from bot.storage import tables
from tests.conftest import WebUser
from tests.golden.transcript import TRANSCRIPTS, load


async def file_request(user: WebUser) -> dict[str, Any]:
    for turn in load(TRANSCRIPTS / "access_request_fr.txt").turns:
        await (user.tap(turn.value) if turn.kind == "tap" else user.say(turn.value))
    return next(message["card"] for message in user.messages if message.get("card"))


async def test_the_receipt_card_carries_reference_code_place_and_dates(web_user: WebUser) -> None:
    card = await file_request(web_user)
    assert card["reference"].startswith("BAB-") and len(card["code"]) == 9
    assert (card["to"], card["received_on"], card["due_on"]) == ("Tétouan", "16 novembre 2026", "15 décembre 2026")
    async with web_user.bab.sessions() as session:
        stored = await session.scalar(select(tables.Request.access_code_hash))
    assert stored and card["code"] not in stored and len(stored) == 64


async def test_leave_detaches_the_browser_and_wipes_the_code(web_user: WebUser) -> None:
    card = await file_request(web_user)
    old_cookie = web_user.client.session.cookie_jar.filter_cookies(web_user.client.make_url("/"))["bab_chat"].value
    response = await web_user.client.post("/api/leave", json={})
    assert response.status == 200
    transcript = await (await web_user.client.get("/api/transcript")).json()
    assert transcript["messages"] == []
    web_user.client.session.cookie_jar.update_cookies({"bab_chat": old_cookie})  # someone kept the old cookie
    assert (await (await web_user.client.get("/api/transcript")).json())["messages"] == []
    async with web_user.bab.sessions() as session:
        payloads = (await session.scalars(select(tables.OutboxMessage.payload))).all()
    assert all(card["code"] not in str(payload) for payload in payloads)


async def test_reopen_needs_the_code_and_stops_after_five_wrong_tries(web_user: WebUser, bab: Bab,
                                                                      aiohttp_client: Any) -> None:
    card = await file_request(web_user)
    other = WebUser(await aiohttp_client(web_app(bab, dispatch=False)), bab)
    await other.open()
    assert (await other.client.post("/api/reopen", json={"reference": card["reference"]})).status == 400
    found = await other.client.post("/api/reopen", json={"reference": card["reference"], "code": card["code"]})
    assert found.status == 200 and (await found.json())["to"] == "تطوان"  # a new browser: the default, Darija
    third = WebUser(await aiohttp_client(web_app(bab, dispatch=False)), bab)
    await third.open()
    for _ in range(5):
        wrong = await third.client.post("/api/reopen", json={"reference": card["reference"], "code": "AAAA-AAAA"})
        assert wrong.status == 403
    locked = await third.client.post("/api/reopen", json={"reference": card["reference"], "code": card["code"]})
    assert locked.status == 403
    # The second browser follows the citizen's requests now: "My requests" lists it.
    await other.say("menu")
    await other.tap("mine")
    assert card["reference"] in other.text()
