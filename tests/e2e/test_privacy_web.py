"""The citizen's rights in the web chat, end to end through the real server: /mydata sends the files the browser
downloads (and no other browser can), /forget empties the transcript and leaves nothing typed anywhere."""

from __future__ import annotations

from typing import Any

from bot.app import Bab, web_app
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from tests.e2e.desk_helpers import TETOUAN, new_user, staff_user, upload
from tests.golden.players import WebPlayer
from tests.golden.script import play, texts
from tests.services.test_privacy import CARD, CONTACT, NAME, PHOTO, TOPIC, leftovers

# The golden French access request (tests/golden/transcripts/access_request_fr.txt) with this citizen's values.
FILL = {"Amina El Idrissi": NAME, "ab 123456": CARD, "0612345678": CONTACT,
        "Le budget 2025 de la commune et le procès-verbal du dernier conseil": TOPIC}


async def test_mydata_and_forget_in_the_web_chat(bab: Bab, aiohttp_server: Any, aiohttp_client: Any) -> None:
    server = await aiohttp_server(web_app(bab, dispatch=False))
    amina = await new_user(bab, server, aiohttp_client)
    other = await new_user(bab, server, aiohttp_client)
    reference = find_reference(texts(await play("access_request_fr", WebPlayer(amina), fill=FILL)))
    assert reference is not None
    await upload(amina, PHOTO, "photo.jpg")
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    await clerk.say("/inbox")
    card = await clerk.tap(f"open:{reference}")  # the card, with Amina's details, is in the clerk's transcript
    assert NAME in "\n".join(message["text"] for message in card)

    replies = await amina.say("mes données")
    summary = next(message for message in replies if message["files"])
    assert NAME in summary["text"] and reference in summary["text"]
    [json_file, html_file] = summary["files"]
    downloaded = await amina.client.get(json_file["url"])
    assert downloaded.status == 200 and downloaded.headers["Content-Type"] == "application/json"
    body = await downloaded.text()
    assert NAME in body and CARD in body and CONTACT in body and TOPIC in body
    page = await amina.client.get(html_file["url"])
    assert page.status == 200 and "<script" not in await page.text() and NAME in await page.text()
    assert (await other.client.get(json_file["url"])).status == 404  # another browser gets nothing

    await amina.say("/forget")
    assert amina.option_ids() == ["withdraw", "keep", "no"]
    done = await amina.tap("withdraw")
    assert reference in "\n".join(message["text"] for message in done)
    assert await leftovers(bab, [NAME, CARD, CONTACT, TOPIC], PHOTO) == []
    assert reference in "\n".join(message["text"] for message in await clerk.replies())  # the clerk is told
    assert (await amina.client.get(json_file["url"])).status == 404  # the export went too
    reloaded = await amina.client.get("/api/messages?after=0&wait=0")
    shown = str(await reloaded.json())
    assert NAME not in shown and TOPIC not in shown
