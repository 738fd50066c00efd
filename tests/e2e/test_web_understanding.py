"""Issue 11 over the real web chat: a citizen who writes Arabizi is answered in Arabizi to the receipt, one who
writes MSA in MSA; what the first message said fills the request."""

from __future__ import annotations

from bot.app import Bab
from tests.conftest import WebUser
from tests.e2e.understanding_script import (
    ARABIC,
    arabizi_complaint,
    commune,
    filed,
    msa_access_request,
)


async def test_arabizi_complaint_to_the_receipt(web_user: WebUser, bab: Bab) -> None:
    await arabizi_complaint(web_user, commune(bab, "Casablanca"))
    bot = [message for message in web_user.messages if message.get("from", "bot") == "bot"]
    assert all(message["locale"] == "ary_Latn" and message["dir"] == "ltr" for message in bot)
    assert not ARABIC.search("\n".join(message["text"] for message in bot))  # Latin letters from start to end
    receipt = web_user.messages[-2]["text"] if "BAB-" not in web_user.messages[-1]["text"] else web_user.messages[-1][
        "text"]
    assert "BAB-" in receipt and "tsjjel" in receipt
    request = await filed(bab)
    assert (request.kind, request.locale, request.service) == ("complaint", "ary_Latn", "waste")
    assert request.subject == "salam, 3ndi chikaya 3la zbel f casa, kayn bzaf f derb dyalna men simana"


async def test_msa_access_request_to_the_receipt(web_user: WebUser, bab: Bab) -> None:
    await msa_access_request(web_user, commune(bab, "Rabat"))
    bot = [message for message in web_user.messages if message.get("from", "bot") == "bot"]
    assert all(message["locale"] == "ar" and message["dir"] == "rtl" for message in bot)
    text = web_user.text()
    assert "فهمت: طلب الحصول على المعلومات" in text  # what was understood, said back
    assert "BAB-" in text and "15 دجنبر 2026" in text  # the due date, in Moroccan month names
    request = await filed(bab)
    assert (request.kind, request.locale, request.collectivity_code) == ("access", "ar", commune(bab, "Rabat"))
    assert request.subject == "أريد الحصول على محضر الدورة الأخيرة لجماعة الرباط من فضلكم"
