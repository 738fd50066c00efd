"""Complaints with a photo, 'my requests', withdrawal, and other people's references, through the web chat."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.services import media
from bot.storage import tables
from tests.conftest import WebUser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Decree 2-17-265: 60 calendar days from Monday 16 Nov 2026 is Friday 15 Jan 2027, a working day.
FEEDBACK_DUE = date(2027, 1, 15)


@pytest.mark.parametrize(("greeting", "locale", "due_text"), [
    ("السلام، عندي شكاية", "ary", "15 يناير 2027"),
    ("Bonjour, j'ai une réclamation", "fr", "15 janvier 2027"),
    ("مساء الخير، أود تقديم شكاية", "ar", "15 يناير 2027"),
])
async def test_complaint_with_photo_and_receipt(web_user: WebUser, greeting: str, locale: str, due_text: str) -> None:
    await web_user.say(greeting)  # it says it is a complaint: the flow starts at the place (issue 11)
    await web_user.say("casa")
    assert web_user.option_ids()[0] == "06.141.01.0"
    await web_user.tap("06.141.01.0")
    await web_user.tap("lighting")
    await web_user.say("Les lampadaires de la rue 12 à Sidi Moumen sont éteints depuis deux semaines.")
    response = await web_user.client.post("/api/upload", data={"file": PNG})
    assert response.status == 202
    await web_user.replies()
    await web_user.say("0661234567")
    assert "09-08" in web_user.prompt["text"]
    receipt = await web_user.tap("send")
    text = "\n".join(message["text"] for message in receipt)
    assert "BAB-" in text and due_text in text
    async with web_user.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None
        assert (request.kind, request.service, request.due_on) == ("complaint", "lighting", FEEDBACK_DUE)
        photo = await session.scalar(select(tables.Attachment))
        assert photo is not None and photo.request_id == request.id and photo.mime == "image/png"
    assert photo.ref.startswith("file:")
    stored = web_user.bab.settings.uploads_dir / photo.ref.removeprefix("file:")
    assert PNG[:16] not in stored.read_bytes() and media.read(stored) == PNG  # encrypted on disk


async def test_suggestion_with_location_and_no_contact(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    await web_user.tap("feedback")
    await web_user.tap("suggestion")
    # A shared location near Tétouan's centre suggests the nearest communes.
    await web_user.client.post("/api/location", json={"lat": 35.57, "lon": -5.37})
    await web_user.replies()
    assert "01.571.01.11" in web_user.option_ids()
    await web_user.tap("01.571.01.11")
    await web_user.tap("waste")
    await web_user.say("Installer des poubelles de tri près du marché central.")
    await web_user.client.post("/api/location", json={"lat": 35.571, "lon": -5.372})
    await web_user.replies()
    await web_user.tap("skip")
    await web_user.tap("send")
    async with web_user.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None and request.kind == "suggestion" and request.contact is None
        assert request.lat == pytest.approx(35.571)


async def complaint_up_to_media(user: WebUser) -> None:
    """A complaint about a road in Rabat, up to the question asking for a photo or a location."""
    await user.tap("feedback")
    await user.tap("complaint")
    await user.say("Rabat")
    await user.tap(user.option_ids()[0])
    await user.tap("roads")
    await user.say("Un grand trou dans la chaussée avenue Hassan II, dangereux la nuit.")


async def file_quick_complaint(user: WebUser) -> str:
    await complaint_up_to_media(user)
    await user.tap("skip")
    await user.tap("skip")
    receipt = await user.tap("send")
    text = "\n".join(message["text"] for message in receipt)
    return text[text.index("BAB-"):text.index("BAB-") + 10]


async def test_my_requests_open_and_withdraw(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    reference = await file_quick_complaint(web_user)
    await web_user.tap("mine")
    assert reference in web_user.prompt["text"]
    await web_user.tap(f"open:{reference}")
    assert reference in web_user.prompt["text"] and "withdraw" in web_user.option_ids()
    await web_user.tap("withdraw")
    replies = await web_user.tap("yes")
    assert any(reference in message["text"] for message in replies)
    async with web_user.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None and request.status == "withdrawn"
        kinds = (await session.scalars(select(tables.RequestEvent.kind).order_by(tables.RequestEvent.id))).all()
        assert kinds == ["submitted", "withdraw"]


async def test_someone_elses_reference_reveals_nothing(web_user: WebUser, aiohttp_client: object) -> None:
    await web_user.say("Bonjour")
    reference = await file_quick_complaint(web_user)
    from bot.app import web_app

    other = WebUser(await aiohttp_client(web_app(web_user.bab, dispatch=False)), web_user.bab)  # type: ignore[operator]
    await other.open()
    await other.say("Bonjour")
    await other.tap("mine")
    replies = await other.say(reference)
    text = "\n".join(message["text"] for message in replies)
    assert reference in text  # echoed in the refusal…
    assert "Hassan II" not in text and "Rabat" not in text  # …but nothing of the request itself
    # A forged button for the other person's request is refused the same way.
    await other.tap(f"open:{reference}", version=other.prompt["version"])
    assert "Hassan II" not in other.text()
