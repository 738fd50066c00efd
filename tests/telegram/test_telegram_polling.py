"""Long polling under faults: an update PTB cannot parse, and an update whose handling fails.

(a) PTB parses a getUpdates batch whole: one update of a shape it does not know (a chat member "kicked" without its
    `until_date`: TypeError inside de_json) used to end the polling task, and it would have failed the same way on
    every restart, the offset never moving past it. It is skipped now, its id logged, and polling goes on.
(b) A webhook answers 500 when the core fails and Telegram delivers the update again; polling used to log it and
    move on, losing the message. It is tried again with backoff now, the chat's later updates waiting behind it.
    The fault is a real one in the database: a trigger that refuses the update's inbound record.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import select, text

from bot.app import Bab
from bot.storage import tables
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.conftest import TelegramCitizen

LOGGER = "bot.handlers.telegram"


def unparsable(chat_id: int) -> dict[str, object]:
    """A private chat's member update whose "kicked" member lacks `until_date`: PTB's de_json raises TypeError."""
    kicked = {"user": tg.BOT_USER, "status": "kicked"}
    return {"my_chat_member": {"chat": tg.chat(chat_id), "from": tg.user(chat_id), "date": int(time.time()),
                               "old_chat_member": tg.member("member"), "new_chat_member": kicked}}


async def inbound_ids(bab: Bab) -> list[str]:
    """The external ids of the handled updates, in the order they were handled."""
    async with bab.sessions() as session:
        return [str(value) for value in (await session.scalars(
            select(tables.InboundMessage.external_id).order_by(tables.InboundMessage.id))).all()]


async def refuse(bab: Bab, external_id: str) -> None:
    """Make the database refuse the inbound record of one update, as an outage would (until `restore`)."""
    async with bab.sessions() as session, session.begin():
        await session.execute(text(
            "CREATE TRIGGER refuse_inbound BEFORE INSERT ON inbound_messages "
            f"WHEN NEW.external_id = '{external_id}' BEGIN SELECT RAISE(ABORT, 'database unavailable'); END"))


async def restore(bab: Bab) -> None:
    async with bab.sessions() as session, session.begin():
        await session.execute(text("DROP TRIGGER refuse_inbound"))


async def test_an_update_ptb_cannot_parse_is_skipped_and_polling_goes_on(
        citizen: TelegramCitizen, fake_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    bad = await fake_api.push(unparsable(citizen.chat_id))
    replies = await citizen.say("Bonjour")  # behind it, in the same batch or the next
    assert replies, "the message behind the unparsable update got no answer"
    assert fake_api.confirmed > bad  # the offset moved past it: it is not fetched again
    assert citizen.bab.telegram is not None and citizen.bab.telegram._task is not None
    assert not citizen.bab.telegram._task.done()
    skipped = [record.getMessage() for record in caplog.records if "unreadable" in record.getMessage()]
    assert skipped == [f"telegram update={bad} unreadable (TypeError), skipped"]  # its id, never its content
    assert not any("Citizen" in record.getMessage() for record in caplog.records)


async def test_an_update_whose_handling_fails_is_tried_again_and_what_follows_waits(
        citizen: TelegramCitizen, fake_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    bab = citizen.bab
    assert bab.telegram is not None
    bab.telegram.retry_delays = (0.3, 0.6, 1.2)
    bot_id = bab.telegram.bot_id
    first = fake_api.new_update_id()
    await refuse(bab, f"{bot_id}:{first}")
    await fake_api.push(tg.text(citizen.chat_id, "Bonjour"), first)
    behind = await fake_api.push(tg.text(citizen.chat_id, "menu"))  # the same chat: must come after it
    elsewhere = await fake_api.push(tg.text(citizen.chat_id + 1, "Salam"))  # another chat: not held up

    async def failed_once() -> None:
        while not any(f"update={first} failed, retry 1" in record.getMessage() for record in caplog.records):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(failed_once(), 5)
    await restore(bab)  # the outage ends before the retries run out
    await fake_api.wait_confirmed(behind, timeout=10)
    handled = await inbound_ids(bab)
    assert f"{bot_id}:{first}" in handled, "the failed update was dropped"
    assert handled.index(f"{bot_id}:{first}") < handled.index(f"{bot_id}:{behind}")
    assert f"{bot_id}:{elsewhere}" in handled
    assert (await citizen.replies())  # the citizen was answered


async def test_an_update_that_keeps_failing_is_given_up_without_losing_those_behind_it(
        citizen: TelegramCitizen, fake_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    bab = citizen.bab
    assert bab.telegram is not None
    bab.telegram.retry_delays = (0.05, 0.1)
    bot_id = bab.telegram.bot_id
    first = fake_api.new_update_id()
    await refuse(bab, f"{bot_id}:{first}")
    await fake_api.push(tg.text(citizen.chat_id, "Bonjour"), first)
    behind = await fake_api.push(tg.text(citizen.chat_id, "Bonjour"))
    await fake_api.wait_confirmed(behind, timeout=10)
    handled = await inbound_ids(bab)
    assert f"{bot_id}:{first}" not in handled and f"{bot_id}:{behind}" in handled
    messages = [record.getMessage() for record in caplog.records if f"update={first} failed" in record.getMessage()]
    assert messages == [f"telegram update={first} failed, retry 1 in 0.1s",
                        f"telegram update={first} failed, retry 2 in 0.1s",
                        f"telegram update={first} failed 3 times, given up"]
    assert (await citizen.replies())
