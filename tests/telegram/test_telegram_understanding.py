"""Issue 11 over Telegram (real python-telegram-bot, fake Bot API): Arabizi answered in Arabizi and MSA in MSA, from
a first message that says what is wanted to the receipt."""

from __future__ import annotations

from tests.e2e.understanding_script import (
    ARABIC,
    arabizi_complaint,
    commune,
    filed,
    msa_access_request,
)
from tests.telegram.conftest import TelegramCitizen


async def test_arabizi_complaint_to_the_receipt(citizen: TelegramCitizen) -> None:
    citizen.language_code = "ar"  # an Arabic phone: the letters typed still decide the script
    await arabizi_complaint(citizen, commune(citizen.bab, "Casablanca"))
    sent = citizen.texts(citizen.api.sent_to(citizen.chat_id))
    assert "Fhemt: Chikaya" in sent and "BAB-" in sent and "tsjjel" in sent
    assert not ARABIC.search(sent)
    request = await filed(citizen.bab)
    assert (request.kind, request.locale, request.service) == ("complaint", "ary_Latn", "waste")


async def test_msa_access_request_to_the_receipt(citizen: TelegramCitizen) -> None:
    citizen.language_code = "fr"  # a French phone: the citizen writes MSA, so Bab answers in MSA
    await msa_access_request(citizen, commune(citizen.bab, "Rabat"))
    sent = citizen.texts(citizen.api.sent_to(citizen.chat_id))
    assert "BAB-" in sent and "15 دجنبر 2026" in sent
    request = await filed(citizen.bab)
    assert (request.kind, request.locale) == ("access", "ar")
