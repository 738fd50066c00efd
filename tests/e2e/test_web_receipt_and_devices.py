"""The receipt card, leaving a shared device and reopening a request elsewhere, through the real aiohttp server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Bab, build, web_app
from bot.config import Settings
from bot.domain.directory import Directory
from bot.i18n import translator
from bot.services import web_chat
from bot.services.clock import FixedClock
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
    for _ in range(4):
        wrong = await third.client.post("/api/reopen", json={"reference": card["reference"], "code": "AAAA-AAAA"})
        assert wrong.status == 403
    fifth = await third.client.post("/api/reopen", json={"reference": card["reference"], "code": "AAAA-AAAA"})
    assert fifth.status == 429  # the fifth wrong try says at once how long to wait
    locked = await third.client.post("/api/reopen", json={"reference": card["reference"], "code": card["code"]})
    assert locked.status == 429
    # The second browser follows the citizen's requests now: "My requests" lists it.
    await other.say("menu")
    await other.tap("mine")
    assert card["reference"] in other.text()


TOO_MANY = "Too many wrong tries. For your safety, try again at {time} (Moroccan time)."
WRONG = "AAAA-AAAA"


async def browser(bab: Bab, aiohttp_client: Any) -> WebUser:
    user = WebUser(await aiohttp_client(web_app(bab, dispatch=False)), bab)
    await user.open()
    return user


async def try_code(user: WebUser, reference: str, code: str, address: str = "198.51.100.7") -> Any:
    """A reopen from `address` (as the deployment's nginx on this machine passes it on)."""
    return await user.client.post("/api/reopen", json={"reference": reference, "code": code},
                                  headers={"X-Forwarded-For": f"203.0.113.250, {address}"})


async def test_wrong_tries_are_counted_in_the_database_and_survive_a_restart(
        web_user: WebUser, settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory],
        aiohttp_client: Any) -> None:
    card = await file_request(web_user)
    other = await browser(web_user.bab, aiohttp_client)
    for _ in range(5):
        await try_code(other, card["reference"], WRONG)
    cookie = other.client.session.cookie_jar.filter_cookies(other.client.make_url("/"))["bab_chat"].value
    # Another worker, or the same after a restart: the browser is still held back, until the window has passed.
    restarted = await build(settings, clock=clock, directory=template_db[1])
    try:
        again = WebUser(await aiohttp_client(web_app(restarted, dispatch=False)), restarted)
        again.client.session.cookie_jar.update_cookies({"bab_chat": cookie})  # the same browser, not a new one
        held = await try_code(again, card["reference"], card["code"], address="198.51.100.8")
        assert held.status == 429
        retry = (clock.now() + web_chat.VISITOR_WINDOW).astimezone(web_chat.CASABLANCA).strftime("%H:%M")
        # In the visitor's language: a new browser speaks the default, Darija.
        assert (await held.json())["error"] == translator("ary")(TOO_MANY, time=retry)
        clock.advance(seconds=web_chat.VISITOR_WINDOW.total_seconds() + 1)
        assert (await try_code(again, card["reference"], card["code"], address="198.51.100.8")).status == 200
    finally:
        await restarted.close()


async def test_a_client_address_is_limited_whatever_its_cookies(web_user: WebUser, aiohttp_client: Any) -> None:
    card = await file_request(web_user)
    for number in range(web_chat.ADDRESS_TRIES):  # a fresh cookie for each try, other references: one address
        fresh = await browser(web_user.bab, aiohttp_client)
        assert (await try_code(fresh, f"BAB-ZZZZ{number:02d}", WRONG, address="2001:db8:1:2::5")).status in (403, 429)
    owner = await browser(web_user.bab, aiohttp_client)
    # The same /64 network is the same subscriber; another address is not held back.
    assert (await try_code(owner, card["reference"], card["code"], address="2001:db8:1:2::99")).status == 429
    assert (await try_code(owner, card["reference"], card["code"], address="192.0.2.44")).status == 200


async def test_someone_who_knows_a_reference_locks_it_briefly_and_never_for_good(
        web_user: WebUser, clock: FixedClock, aiohttp_client: Any) -> None:
    card = await file_request(web_user)
    reference = card["reference"]

    async def attack(tries: int) -> None:
        """Wrong codes from as many browsers and addresses: only the reference ties them together."""
        for number in range(tries):
            attacker = await browser(web_user.bab, aiohttp_client)
            await try_code(attacker, reference, WRONG, address=f"10.{clock.now().minute}.{number // 200}.{number}")

    owner = await browser(web_user.bab, aiohttp_client)
    for lock in range(web_chat.REFERENCE_LOCKS_PER_DAY):
        await attack(web_chat.REFERENCE_TRIES)
        held = await try_code(owner, reference, card["code"], address="192.0.2.10")
        assert held.status == 429, lock
        await attack(30)  # tries during the lock are refused unchecked: they neither count nor lengthen it
        clock.advance(seconds=web_chat.REFERENCE_LOCK.total_seconds() + 1)
        # Free again after the short lock (the owner's own refused tries did not count against them).
    await attack(web_chat.REFERENCE_TRIES)  # a fourth time in the day: not locked again
    found = await try_code(owner, reference, card["code"], address="192.0.2.10")
    assert found.status == 200, await found.text()


async def test_old_failures_are_deleted_and_the_logs_name_no_visitor(
        web_user: WebUser, clock: FixedClock, aiohttp_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    card = await file_request(web_user)
    with caplog.at_level(logging.INFO):
        for number in range(web_chat.REFERENCE_TRIES):
            other = await browser(web_user.bab, aiohttp_client)
            await try_code(other, card["reference"], WRONG, address=f"198.51.100.{70 + number}")
        clock.advance(days=1, seconds=1)
        await try_code(other, "BAB-ZZZZZZ", WRONG, address="198.51.100.77")
    async with web_user.bab.sessions() as session:
        rows = (await session.execute(select(tables.ReopenFailure.key, func.count())
                                      .group_by(tables.ReopenFailure.key))).all()
    # Only the last try is left (browser, address, reference); no address is stored.
    assert sorted(count for _, count in rows) == [1, 1, 1]
    assert not any("198.51.100.77" in key for key, _ in rows)
    cookie = other.client.session.cookie_jar.filter_cookies(other.client.make_url("/"))["bab_chat"].value
    assert "198.51.100.77" not in caplog.text and WRONG not in caplog.text and cookie not in caplog.text
    assert f"web reopen reference={card['reference']} locked" in caplog.text
