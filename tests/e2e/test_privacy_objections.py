"""A citizen's objection to optional data (law 09-08) is remembered: later forms do not ask for it, what is sent
never holds it, and it can be withdrawn. Through the web chat (real aiohttp server, real database)."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.directory import Collectivity, Directory
from bot.flows.engine import Context, advance
from bot.flows.spec import Inbound, InboundKind, State, Submit
from bot.i18n import translator
from bot.storage import tables
from tests.conftest import WebUser
from tests.e2e.test_web_feedback_and_mine import complaint_up_to_media

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FR = translator("fr")


async def send_photo(user: WebUser) -> None:
    assert (await user.client.post("/api/upload", data={"file": PNG})).status == 202
    await user.replies()


async def objections(user: WebUser) -> str | None:
    async with user.bab.sessions() as session:
        return await session.scalar(select(tables.Citizen.objections).join(
            tables.Identity, tables.Identity.citizen_id == tables.Citizen.id))


async def object_to(user: WebUser, what: str) -> None:
    await user.say("/mydata")
    await user.tap("consent")
    await user.tap(what)
    assert FR("no longer be asked") not in user.prompt["text"]  # the French question, not the msgid
    assert "ne plus vous les demander" in user.prompt["text"]
    await user.tap("yes")


async def test_an_objection_is_remembered_asked_no_more_and_withdrawable(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    await complaint_up_to_media(web_user)
    await send_photo(web_user)
    await web_user.say("0661234567")
    await web_user.tap("send")
    await object_to(web_user, "contact")
    assert "Bab ne vous le demandera plus" in web_user.text()
    await object_to(web_user, "photos")
    assert await objections(web_user) == "contact,photos"
    async with web_user.bab.sessions() as session:
        first = await session.scalar(select(tables.Request))
        assert first is not None and first.contact is None
        assert (await session.scalar(select(tables.Attachment.ref))) == "erased"
    # The next complaint asks only for the location, refuses a photo, and asks no contact.
    await web_user.say("menu")
    await complaint_up_to_media(web_user)
    assert web_user.prompt["text"] == FR("You can share the location of the problem. Otherwise tap Skip.")
    await send_photo(web_user)
    assert FR("Thank you, but I cannot use a file at this step.") in web_user.messages[-2]["text"] + \
        web_user.messages[-1]["text"]
    await web_user.client.post("/api/location", json={"lat": 34.02, "lon": -6.83})
    await web_user.replies()
    summary = web_user.prompt["text"]
    assert "09-08" in summary and FR("only here in the chat") in summary  # straight to the summary
    await web_user.tap("send")
    async with web_user.bab.sessions() as session:
        second = (await session.scalars(select(tables.Request).order_by(tables.Request.id.desc()))).first()
        assert second is not None and second.contact is None and second.lat is not None
        claimed = (await session.scalars(select(tables.Attachment.request_id)
                                         .where(tables.Attachment.request_id == second.id))).all()
        assert claimed == []  # the photo sent anyway is not on the request: no clerk sees it
        photos = list(await session.scalars(select(tables.Attachment.ref).where(tables.Attachment.kind == "photo")))
    assert photos == ["erased"]  # it was not kept at all (the first complaint's photo was erased) …
    kept = sorted(path.suffix for path in web_user.bab.settings.uploads_dir.glob("*"))
    assert kept == [".html", ".json"]  # … nor its file: only the /mydata export is there
    # /mydata says what is not asked any more; the objection is withdrawn in one tap.
    await web_user.say("/mydata")
    assert "Ne vous est plus demandé" in web_user.text()
    await web_user.tap("consent")
    assert "allow_contact" in web_user.option_ids() and "allow_photos" in web_user.option_ids()
    assert "location" in web_user.option_ids()
    await web_user.tap("allow_contact")
    assert await objections(web_user) == "photos"
    await web_user.say("menu")
    await complaint_up_to_media(web_user)
    assert web_user.prompt["text"] == FR("You can share the location of the problem. Otherwise tap Skip.")
    await web_user.tap("skip")
    assert web_user.prompt["text"].startswith(FR(
        "Would you like to leave a phone number or an e-mail address, in case the collectivity needs to reach you? "
        "You will get the answer here in any case."))


async def test_an_objection_to_locations_asks_only_for_a_photo(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    await object_to(web_user, "location")
    await web_user.say("menu")
    await complaint_up_to_media(web_user)
    assert web_user.prompt["text"] == FR("You can add a photo of the problem. Otherwise tap Skip.")
    await web_user.client.post("/api/location", json={"lat": 34.02, "lon": -6.83})
    await web_user.replies()
    assert FR("I cannot use a location at this step.") in web_user.text()
    await web_user.tap("skip")
    await web_user.say("0661234567")
    assert "media" in web_user.option_ids() or "send" in web_user.option_ids()
    await web_user.tap("send")
    async with web_user.bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None and request.lat is None and request.contact == "+212661234567"


def test_a_draft_written_before_the_objection_is_sent_without_it() -> None:
    """A form filled in before the objection (kept, or resumed later) loses the objected data at the summary."""
    directory = Directory([Collectivity("01.571.01.11", "commune", "Tétouan", "تطوان", None, 380000, 35.57, -5.37,
                                        "province", "urbaine")], chat_words=())
    ctx = Context(directory=directory, default_locale="fr", objections=frozenset({"contact", "location"}))
    draft = State(flow="feedback", step="confirm", locale="fr", locale_confirmed=True, version=5, answers={
        "kind": "complaint", "place": "01.571.01.11", "service": "roads", "description": "Un trou avenue Hassan II.",
        "media": {"lat": 35.57, "lon": -5.37}, "contact": "+212661234567"})
    _, effects = advance(draft, Inbound(kind=InboundKind.CHOICE, choice_id="send", version=5), ctx)
    sent = [effect for effect in effects if isinstance(effect, Submit)]
    assert len(sent) == 1 and "contact" not in sent[0].answers and "media" not in sent[0].answers
    # The edit menu does not offer what was objected to (the photo is still allowed: "media" stays).
    _, effects = advance(draft, Inbound(kind=InboundKind.CHOICE, choice_id="edit", version=5), ctx)
    offered = [option for effect in effects for option, _ in getattr(getattr(effect, "message", None), "options", ())]
    assert "media" in offered and "contact" not in offered and "description" in offered
