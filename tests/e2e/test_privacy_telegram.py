"""The citizen's rights on Telegram, through the fake Bot API: /mydata arrives as a message and two documents
holding the data, /forget withdraws the open request, tells its clerk and leaves nothing typed anywhere."""

from __future__ import annotations

import json

from bot.app import Bab
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from tests.fakes import telegram_api as tg
from tests.golden.players import TelegramPlayer
from tests.golden.script import play, texts
from tests.services.test_privacy import CARD, CONTACT, NAME, PHOTO, TOPIC, leftovers
from tests.telegram.conftest import (  # noqa: F401  (fixtures)
    TelegramCitizen,
    citizen,
    fake_api,
    ptb_timedelta,
    tg_bab,
    tg_settings,
)
from tests.telegram.test_staff_on_telegram import CLERK_CHAT, TETOUAN, linked_staff

FILL = {"Amina El Idrissi": NAME, "ab 123456": CARD, "0612345678": CONTACT,
        "Le budget 2025 de la commune et le procès-verbal du dernier conseil": TOPIC}


async def test_mydata_and_forget_on_telegram(citizen: TelegramCitizen) -> None:  # noqa: F811
    bab: Bab = citizen.bab
    clerk, _ = await linked_staff(citizen, CLERK_CHAT, Role.CLERK, [TETOUAN], "Fatima")
    reference = find_reference(texts(await play("access_request_fr", TelegramPlayer(citizen), fill=FILL)))
    assert reference is not None
    citizen.api.files["AMINA-PHOTO"] = PHOTO
    await citizen.send(tg.photo(citizen.chat_id, "AMINA-PHOTO"))

    calls = await citizen.say("/mydata")
    assert NAME in citizen.texts(calls) and reference in citizen.texts(calls)
    documents = {call.params["document"]["filename"]: call.params["document"]["content"] for call in calls
                 if call.method == "sendDocument"}
    assert sorted(documents) == ["bab-my-data.html", "bab-my-data.json"]
    data = json.loads(documents["bab-my-data.json"])
    assert data["requests"][0]["id_number"] == CARD and data["identities"][0]["channel"] == "telegram"
    assert data["identities"][0]["id"] == str(citizen.chat_id)  # the chat id, decrypted from where it is kept
    assert NAME in documents["bab-my-data.html"].decode()

    await clerk.replies()
    question = citizen.texts(await citizen.say("effacer mes données"))
    assert reference in question and citizen.option_ids() == ["withdraw", "keep", "no"]
    await citizen.tap("withdraw")
    assert reference in clerk.texts(await clerk.replies())  # the collectivity is told
    assert await leftovers(bab, [NAME, CARD, CONTACT, TOPIC], PHOTO) == []
