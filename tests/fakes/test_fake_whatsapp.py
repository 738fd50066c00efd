"""The fake WhatsApp Cloud API and the webhook builders behave like Meta's, as far as Bab's tests rely on them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes import whatsapp_payloads as p
from tests.fakes.whatsapp_api import Call, FakeGraphAPI, GraphLimits

PHONE = p.AMINA.wa_id or ""


@pytest.fixture
async def api() -> AsyncIterator[FakeGraphAPI]:
    api = FakeGraphAPI(templates={("suivi_demande", "ar_MA"): 2, ("suivi_demande", "fr"): 2})
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def auth(api: FakeGraphAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


async def send(http: aiohttp.ClientSession, api: FakeGraphAPI, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    url = f"{api.base_url}/{api.phone_number_id}/messages"
    async with http.post(url, json={"messaging_product": "whatsapp", **body},
                         headers=auth(api) if headers is None else headers) as response:
        return response.status, await response.json()


def text(to: str, words: str = "Salam") -> dict[str, Any]:
    return {"recipient_type": "individual", "to": to, "type": "text", "text": {"body": words}}


def buttons(to: str, *titles: str) -> dict[str, Any]:
    return {"to": to, "type": "interactive", "interactive": {
        "type": "button", "body": {"text": "Choisissez"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": f"opt|{i}", "title": t}}
                               for i, t in enumerate(titles)]}}}


def template(to: str, language: str, *params: str) -> dict[str, Any]:
    return {"to": to, "type": "template", "template": {
        "name": "suivi_demande", "language": {"code": language, "policy": "deterministic"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": x} for x in params]}]}}


async def test_every_call_needs_the_bearer_token(api: FakeGraphAPI, http: aiohttp.ClientSession) -> None:
    api.user_wrote(PHONE)
    status, body = await send(http, api, text(PHONE), headers={})
    assert status == 401 and body["error"]["code"] == 190 and body["error"]["type"] == "OAuthException"
    status, body = await send(http, api, text(PHONE), headers={"Authorization": "Bearer wrong"})
    assert status == 401
    async with http.get(f"{api.base_url}/123") as response:
        assert response.status == 401
    assert [c.status for c in api.calls] == [401, 401, 401] and not api.messages_to(PHONE)

    status, body = await send(http, api, text("+212 612-345678", "مرحبا"))
    assert status == 200
    assert body["contacts"] == [{"input": "+212 612-345678", "wa_id": PHONE}]
    assert body["messages"][0]["id"].startswith("wamid.HBgM")  # a 12-digit Moroccan number, as Meta encodes it
    (call,) = api.messages_to(PHONE)
    assert (call.kind, call.text, call.wamid) == ("text", "مرحبا", body["messages"][0]["id"])


async def test_button_titles_are_limited_to_20_characters(api: FakeGraphAPI, http: aiohttp.ClientSession) -> None:
    api.user_wrote(PHONE)
    status, body = await send(http, api, buttons(PHONE, "Oui", "x" * 21))
    assert status == 400
    assert body["error"]["code"] == 131009
    assert body["error"]["error_data"] == {"messaging_product": "whatsapp",
                                           "details": "Button title length invalid. Min length: 1, Max length: 20"}
    assert body["error"]["fbtrace_id"]
    status, _ = await send(http, api, buttons(PHONE, "a", "b", "c", "d"))
    assert status == 400
    # Limits count characters, not bytes: 20 Arabic letters (40 bytes of UTF-8) pass.
    status, _ = await send(http, api, buttons(PHONE, "ب" * 20, "Non"))
    assert status == 200
    prompt = api.last_prompt(PHONE)
    assert prompt.kind == "button" and prompt.button_ids == ["opt|0", "opt|1"]
    assert prompt.button_titles == ["ب" * 20, "Non"] and prompt.text == "Choisissez"


async def test_templates_exist_per_language_and_ignore_the_window(api: FakeGraphAPI,
                                                                  http: aiohttp.ClientSession) -> None:
    status, body = await send(http, api, template(PHONE, "ar", "REF-1", "12/12"))
    assert status == 404 and body["error"]["code"] == 132001
    assert body["error"]["error_data"]["details"] == "template name (suivi_demande) does not exist in ar"
    status, body = await send(http, api, template(PHONE, "fr", "REF-1"))
    assert status == 400 and body["error"]["code"] == 132000
    # No window is open, yet a registered template goes through.
    status, body = await send(http, api, template(PHONE, "ar_MA", "REF-1", "12/12"))
    assert status == 200
    call = api.messages_to(PHONE)[-1]
    assert (call.kind, call.template_name, call.template_language) == ("template", "suivi_demande", "ar_MA")
    assert call.text == "REF-1\n12/12"


async def test_the_24_hour_window(api: FakeGraphAPI, http: aiohttp.ClientSession) -> None:
    status, body = await send(http, api, text(PHONE))
    assert status == 400 and body["error"]["code"] == 131047
    api.user_wrote(PHONE, at=time.time() - 25 * 3600)
    assert (await send(http, api, text(PHONE)))[0] == 400
    api.user_wrote(PHONE, at=time.time() - 23 * 3600)
    assert (await send(http, api, text(PHONE)))[0] == 200

    # A webhook body tells the fake who wrote and ties the phone to the BSUID: sending by BSUID then passes.
    api.observe(p.envelope(p.text(p.YOUSSEF, "bonjour"), p.text(p.AMINA, "salam")))
    recipient_only = {"recipient": p.YOUSSEF.user_id, "type": "text", "text": {"body": "Ahlan"}}
    status, body = await send(http, api, recipient_only)
    assert status == 200 and body["contacts"] == [{"input": p.YOUSSEF.user_id, "user_id": p.YOUSSEF.user_id}]
    assert api.window_open(p.AMINA.user_id)  # linked to Amina's phone by the contacts block
    assert [c.text for c in api.messages_to(p.YOUSSEF.user_id)] == ["Ahlan"]

    api.enforce_window = False
    assert (await send(http, api, text("212699999999")))[0] == 200


async def test_media_round_trip_needs_the_bearer_token(api: FakeGraphAPI, http: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", "application/pdf")
    form.add_field("file", b"%PDF-1.4 accuse de reception", filename="accuse.pdf", content_type="application/pdf")
    async with http.post(f"{api.base_url}/{api.phone_number_id}/media", data=form, headers=auth(api)) as response:
        assert response.status == 200
        media_id = (await response.json())["id"]
    api.user_wrote(PHONE)
    status, _ = await send(http, api, {"to": PHONE, "type": "document",
                                       "document": {"id": media_id, "filename": "accuse.pdf", "caption": "Reçu"}})
    assert status == 200 and api.messages_to(PHONE)[-1].filename == "accuse.pdf"

    # An inbound photo: the test holds the bytes, Bab fetches the URL, then the file with the same bearer.
    sha = api.add_media("987654321", b"\xff\xd8 a pothole", "image/jpeg")
    assert p.image(p.AMINA, "987654321", sha256=sha)["image"]["sha256"] == sha
    async with http.get(f"{api.base_url}/987654321", headers=auth(api)) as response:
        info = await response.json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["sha256"] == hashlib.sha256(b"\xff\xd8 a pothole").hexdigest() and info["file_size"] == 12
    assert info["url"].startswith(f"{api.url}/media-download/")
    async with http.get(info["url"]) as response:
        assert response.status == 401
    async with http.get(info["url"], headers=auth(api)) as response:
        assert response.status == 200 and await response.read() == b"\xff\xd8 a pothole"
    async with http.get(f"{api.base_url}/111", headers=auth(api)) as response:
        error = (await response.json())["error"]
        assert response.status == 400 and error["code"] == 100 and error["error_subcode"] == 33
    assert [c.kind for c in api.calls] == ["upload", "document", "media", "download", "download", "media"]


async def test_rate_limits_refuse_and_count(http: aiohttp.ClientSession) -> None:
    now = [1000.0]
    api = FakeGraphAPI(limits=GraphLimits(per_second=3, pair_interval=6.0, pair_burst=2), enforce_window=False,
                       clock=lambda: now[0])
    await api.start()
    try:
        codes = [(await send(http, api, text(PHONE)))[1].get("error", {}).get("code") for _ in range(3)]
        assert codes == [None, None, 131056]  # a burst of 2, then one per 6 s to the same person
        assert api.limit_errors == 1
        now[0] += 6.0
        assert (await send(http, api, text(PHONE)))[0] == 200
        now[0] += 1.0  # that send used a third of this second's throughput; start afresh
        codes = [(await send(http, api, text(f"21261111111{i}")))[1].get("error", {}).get("code")
                 for i in range(4)]
        assert codes == [None, None, None, 130429]  # 3 per second for the whole number
        assert api.limit_errors == 2 and len(api.refused(130429)) == 1
    finally:
        await api.close()


async def test_injected_failures(api: FakeGraphAPI, http: aiohttp.ClientSession) -> None:
    api.enforce_window = False
    api.fail(131026, recipient="+212 612 345 678")
    assert (await send(http, api, text("212600000001")))[0] == 200  # another recipient is unaffected
    status, body = await send(http, api, text(PHONE))
    assert status == 400 and body["error"]["code"] == 131026
    assert (await send(http, api, text(PHONE)))[0] == 200  # times=1

    api.fail("http", http_status=502)
    async with http.post(f"{api.base_url}/{api.phone_number_id}/messages", json=text(PHONE),
                         headers=auth(api)) as response:
        assert response.status == 502 and response.content_type == "text/html"
    api.fail("reset")
    with pytest.raises(aiohttp.ClientError):
        await send(http, api, text(PHONE))
    assert (await send(http, api, text(PHONE)))[0] == 200

    # Read receipts and typing indicators are calls of their own.
    for extra in ({}, {"typing_indicator": {"type": "text"}}):
        status, body = await send(http, api, {"status": "read", "message_id": "wamid.HBgM", **extra})
        assert (status, body) == (200, {"success": True})
    assert [c.kind for c in api.calls[-2:]] == ["read", "typing"]
    waited: Call = await api.wait_for("typing")
    assert waited.reply_to == "wamid.HBgM"


def test_webhook_bodies_and_signatures() -> None:
    first, second = p.text(p.AMINA, "Bonjour, j'ai été à la commune"), p.button_reply(p.YOUSSEF, "opt|1", "نعم")
    sent = p.wamid(PHONE, outbound=True)
    payload = p.envelope(first, second, p.status(p.AMINA, sent, "read"), p.failed(p.YOUSSEF, sent, 131047),
                         p.entry(p.value_errors(131000)))
    assert payload["object"] == "whatsapp_business_account" and len(payload["entry"]) == 2
    messages_change, statuses_change = payload["entry"][0]["changes"]
    value = messages_change["value"]
    assert value["metadata"] == {"display_phone_number": p.DISPLAY_PHONE_NUMBER, "phone_number_id": p.PHONE_NUMBER_ID}
    assert value["contacts"] == [
        {"profile": {"name": "Amina"}, "wa_id": PHONE, "user_id": p.AMINA.user_id},
        {"profile": {"name": "Youssef", "username": "@youssef.casa"}, "user_id": p.YOUSSEF.user_id}]
    amina, youssef = value["messages"]
    assert amina["from"] == PHONE and amina["from_user_id"] == p.AMINA.user_id and amina["timestamp"].isdigit()
    assert "from" not in youssef and youssef["interactive"]["button_reply"] == {"id": "opt|1", "title": "نعم"}
    read, failed = statuses_change["value"]["statuses"]
    assert read["pricing"]["pricing_model"] == "PMP" and read["recipient_user_id"] == p.AMINA.user_id
    assert failed["errors"][0]["code"] == 131047 and "pricing" not in failed
    assert statuses_change["value"]["contacts"] == [p.contact(p.AMINA)]  # none for the failed status
    assert payload["entry"][1]["changes"][0]["value"]["errors"][0]["code"] == 131000

    body = p.dumps(payload)
    assert "j'ai été".encode() in body and "نعم".encode() in body and b" " not in body.split(b'"body"')[0]
    escaped = p.dumps(payload, style="meta")
    assert escaped.isascii() and b"\\u00e9" in escaped and json.loads(escaped) == json.loads(body)
    assert p.sign(body, "s3cret") == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert p.sign(body, "s3cret") != p.sign(escaped, "s3cret")  # Bab must hash the bytes it received
    raw, headers = p.signed(payload)
    assert headers[p.SIGNATURE_HEADER] == p.sign(raw, p.APP_SECRET)

    system = p.envelope(p.user_changed_number(p.AMINA, "212700000000"))
    value = system["entry"][0]["changes"][0]["value"]
    assert "contacts" not in value and value["messages"][0]["system"]["type"] == "user_changed_number"
    assert value["messages"][0]["system"]["previous_user_id"] == p.AMINA.user_id
    edited = p.edit(p.AMINA, amina["id"], p.text(p.AMINA, "Bonjour, corrigé"))
    assert edited["edit"]["message"] == {"type": "text", "text": {"body": "Bonjour, corrigé"}}
