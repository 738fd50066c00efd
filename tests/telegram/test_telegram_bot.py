"""The bot as a whole: start-up (commands, polling, webhook), groups, and `bab run` with a token."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import func, select

from bot.app import Bab, serve
from bot.config import Settings
from bot.handlers.telegram import TelegramChannel
from bot.storage import tables
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.conftest import TelegramCitizen


def arabic_share(text: str) -> float:
    letters = [char for char in text if char.isalpha()]
    return sum("\u0600" <= char <= "\u06ff" for char in letters) / len(letters)


async def test_command_menu_is_published_in_french_and_arabic(citizen: TelegramCitizen) -> None:
    calls = citizen.api.called("setMyCommands")
    by_language = {call.params.get("language_code"): call.params for call in calls}
    assert set(by_language) == {None, "fr", "ar"}
    for params in by_language.values():
        assert [command["command"] for command in params["commands"]] == ["start", "menu", "help", "lang"]
        assert params["scope"] == {"type": "all_private_chats"}
    french = {command["command"]: command["description"] for command in by_language["fr"]["commands"]}
    assert french["lang"] == "Changer de langue" and by_language[None]["commands"] == by_language["fr"]["commands"]
    assert all(arabic_share(command["description"]) == 1.0 for command in by_language["ar"]["commands"])
    # Polling mode: any webhook is removed first, since Telegram refuses getUpdates while one is set.
    methods = [call.method for call in citizen.api.calls]
    assert methods.index("getMe") < methods.index("deleteWebhook") < methods.index("getUpdates")


async def test_staff_commands_for_one_linked_chat(tg_bab: Bab, fake_api: FakeTelegramAPI) -> None:
    assert tg_bab.telegram is not None
    await tg_bab.telegram.set_staff_commands(777, "ary")
    call = fake_api.called("setMyCommands")[-1]
    assert call.params["scope"] == {"type": "chat", "chat_id": 777}
    assert [command["command"] for command in call.params["commands"]][-3:] == ["inbox", "overdue", "stats"]


async def test_groups_get_one_notice_when_added_or_addressed_and_never_reach_the_core(
        citizen: TelegramCitizen) -> None:
    api, group = citizen.api, -100200300
    await citizen.deliver(tg.added_to_group(group, by=citizen.chat_id))
    await citizen.deliver(tg.text(group, "salam 3likom, chkoun hna?", chat_type="group", from_id=42))
    await citizen.deliver(tg.text(group, "/start@other_bot", chat_type="group", from_id=42))
    assert len(api.sent_to(group)) == 1  # added: one notice; chatter and other bots' commands: silence
    notice = api.sent_to(group)[0].params["text"]
    assert "https://t.me/bab_test_bot" in notice and "privée" in notice
    await citizen.deliver(tg.text(group, "/start", chat_type="group", from_id=42, language_code="ar"))
    mention = tg.text(group, "@bab_test_bot bghit nchki", chat_type="group", from_id=43, language_code=None)
    mention["message"]["entities"] = [{"type": "mention", "offset": 0, "length": 13}]
    await citizen.deliver(mention)
    notices = [call.params["text"] for call in api.sent_to(group)]
    assert len(notices) == 3 and arabic_share(notices[1].split("\n")[0]) == 1.0
    async with citizen.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.Identity)) == 0
        assert await session.scalar(select(func.count()).select_from(tables.InboundMessage)) == 0
    assert await citizen.replies() == []


async def test_polling_survives_errors_of_the_api(citizen: TelegramCitizen) -> None:
    citizen.api.fail("getUpdates", 500, "Internal Server Error")
    citizen.api.fail("getUpdates", 409, "Conflict: terminated by other getUpdates request")
    await asyncio.sleep(0)  # the poller is holding a long poll: the failures hit the next two calls
    replies = await citizen.say("Bonjour")
    assert replies and replies[-1].buttons
    assert [failure.times for failure in citizen.api.failures] == [0, 0]  # both errors were met and survived


async def test_a_rejected_token_turns_the_channel_off_without_crashing(settings: Settings,
                                                                       fake_api: FakeTelegramAPI) -> None:
    channel = TelegramChannel(dataclasses.replace(settings, telegram_bot_token="999:wrong",
                                                  telegram_api_base_url=fake_api.base_url))
    task = channel.start(None)  # type: ignore[arg-type]  # never reaches the core
    await asyncio.wait_for(task, 5)
    assert task.exception() is None and not fake_api.calls
    assert fake_api.rejected and "getUpdates" not in fake_api.rejected  # it tried, was refused, and stopped
    await channel.close()


async def test_bab_run_with_a_token_and_no_public_url_polls(settings: Settings, fake_api: FakeTelegramAPI) -> None:
    stop = asyncio.Event()
    configured = dataclasses.replace(settings, port=0, telegram_bot_token=fake_api.token,
                                     telegram_api_base_url=fake_api.base_url)
    running = asyncio.create_task(serve(configured, stop))
    try:
        await fake_api.wait_for("getUpdates", timeout=20)
        update_id = await fake_api.push(tg.text(5550009, "Bonjour"))
        await fake_api.wait_confirmed(update_id, timeout=10)
        # The dispatcher runs inside `bab run`: the greeting reaches the chat without any help.
        for _ in range(100):
            if fake_api.sent_to(5550009):
                break
            await asyncio.sleep(0.05)
        assert fake_api.sent_to(5550009)
        assert not fake_api.called("setWebhook")
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)


async def test_start_up_retries_outages_and_gives_up_on_refusals(tg_bab: Bab, fake_api: FakeTelegramAPI) -> None:
    assert tg_bab.telegram is not None
    fake_api.fail("getMe", 502, "Bad Gateway")  # Telegram down at boot: tried again
    fake_api.fail("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID")  # a refused menu: polling anyway
    task = tg_bab.telegram.start(tg_bab.conversations)
    await fake_api.wait_for("getUpdates", timeout=10)
    assert not task.done() and len(fake_api.called("getMe")) == 2


async def test_a_refused_webhook_address_stops_only_the_channel(webhook_bab: Bab, fake_api: FakeTelegramAPI) -> None:
    assert webhook_bab.telegram is not None
    fake_api.fail("setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
    await asyncio.wait_for(webhook_bab.telegram.start(webhook_bab.conversations), 5)
    assert not fake_api.called("getUpdates")
