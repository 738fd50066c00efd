"""The citizen's rights on WhatsApp, through signed webhooks and the fake Graph API: /mydata arrives as two
documents of a type WhatsApp accepts, /forget leaves nothing typed, not even in the stored webhook bodies."""

from __future__ import annotations

import json

from bot.domain.requests import find_reference
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.whatsapp_api import FakeGraphAPI
from tests.golden.players import WhatsAppPlayer
from tests.golden.script import play, texts
from tests.services.test_privacy import CARD, CONTACT, NAME, PHOTO, TOPIC, leftovers
from tests.whatsapp.conftest import WhatsAppCitizen, amina, graph, wa_bab, wa_client  # noqa: F401  (fixtures)

FILL = {"Amina El Idrissi": NAME, "ab 123456": CARD, "0612345678": CONTACT,
        "Le budget 2025 de la commune et le procès-verbal du dernier conseil": TOPIC}


async def test_mydata_and_forget_on_whatsapp(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:  # noqa: F811
    reference = find_reference(texts(await play("access_request_fr", WhatsAppPlayer(amina), fill=FILL)))
    assert reference is not None
    sha = graph.add_media("5566778899", PHOTO, "image/jpeg")
    await amina.send(wp.image(amina.user, "5566778899", sha256=sha, at=amina.clock.now()))

    calls = await amina.say("m3lomati")
    assert NAME in amina.texts(calls)
    documents = [call for call in calls if call.kind == "document"]
    assert sorted(call.filename or "" for call in documents) == ["bab-my-data.html", "bab-my-data.json"]
    files = {media.filename: media for media in graph.media.values() if media.filename in ("bab-my-data.json",
                                                                                              "bab-my-data.html")}
    assert files["bab-my-data.json"].mime_type == "text/plain"  # WhatsApp takes no JSON or HTML documents
    data = json.loads(files["bab-my-data.json"].data)
    assert data["requests"][0]["name"] == NAME and data["identities"][0]["whatsapp"]["number"] == wp.AMINA.wa_id

    await amina.say("/forget")
    assert reference in amina.texts(await amina.tap("withdraw"))
    assert await leftovers(amina.bab, [NAME, CARD, CONTACT, TOPIC], PHOTO) == []
