"""The citizen's rights carried out on a real database built by the migrations (bot/services/privacy.py): what
/mydata returns, a correction reaching the open request and its clerk, consent withdrawn, and /forget leaving no
value the citizen typed anywhere (every table through the ORM, the raw database file, the data folder) while the
transparency figures do not move. People talk to the core as the web chat does; nothing of ours is patched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import Bab
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from bot.flows.spec import FileRef, Inbound, InboundKind, State, Submit
from bot.i18n import translator
from bot.services import media
from bot.services.conversations import NewAttachment
from bot.services.staff import StaffAdmin
from bot.storage import repos, tables

TETOUAN = "01.571.01.11"
FR = translator("fr")
# What Amina types: each value is distinctive, so finding it anywhere after /forget is a leak.
NAME = "Zoubida Qarmouchi"
CARD = "QZ784512"
CONTACT = "zoubida.qarmouchi@example.ma"
PHONE = "+212677112233"
TOPIC = "Le registre des autorisations de kiosques Zephyrine 2025"
DESCRIPTION = "Les lampadaires de la rue Oukhrifane sont éteints depuis trois semaines"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"PHOTO-OF-ZOUBIDA-7731" * 8 + b"\xff\xd9"
TYPED = [NAME, CARD, CONTACT, PHONE, TOPIC, DESCRIPTION]


class Person:
    """Someone writing to the core on one channel, as an adapter would hand their messages over."""

    def __init__(self, bab: Bab, external_id: str, channel: str = "web") -> None:
        self.bab = bab
        self.channel = channel
        self.external_id = external_id

    async def identity(self) -> tables.Identity:
        async with self.bab.sessions() as session:
            found = await repos.find_identity(session, self.channel, self.external_id)
            assert found is not None
            return found

    async def last_id(self) -> int:
        async with self.bab.sessions() as session:
            return int(await session.scalar(select(tables.OutboxMessage.id).order_by(
                tables.OutboxMessage.id.desc()).limit(1)) or 0)

    async def sent_since(self, after: int) -> list[dict[str, Any]]:
        identity = await self.identity()
        async with self.bab.sessions() as session:
            return [row.payload for row in await session.scalars(select(tables.OutboxMessage).where(
                tables.OutboxMessage.identity_id == identity.id, tables.OutboxMessage.id > after)
                .order_by(tables.OutboxMessage.id))]

    async def handle(self, inbound: Inbound, attachment: NewAttachment | None = None) -> list[dict[str, Any]]:
        before = await self.last_id()
        await self.bab.conversations.handle(self.channel, self.external_id, inbound, attachment=attachment)
        return await self.sent_since(before)

    async def say(self, text: str) -> str:
        return "\n".join(str(payload["text"]) for payload in await self.handle(Inbound(InboundKind.TEXT, text=text)))

    async def version(self) -> int:
        identity = await self.identity()
        async with self.bab.sessions() as session:
            row = await session.get(tables.Conversation, identity.id)
            return State.from_json(row.state if row else None).version

    async def options(self) -> list[str]:
        """The ids of the buttons of the latest question."""
        payloads = await self.sent_since(0)
        return [option["id"] for option in next(payload for payload in reversed(payloads)
                                                if payload.get("version") is not None)["options"]]

    async def tap(self, option_id: str, version: int | None = None) -> str:
        inbound = Inbound(InboundKind.CHOICE, choice_id=option_id,
                          version=await self.version() if version is None else version)
        return "\n".join(str(payload["text"]) for payload in await self.handle(inbound))

    async def photo(self, data: bytes) -> str:
        stored = media.store(self.bab.settings.uploads_dir, data)
        assert stored is not None
        found = await self.handle(Inbound(InboundKind.PHOTO), NewAttachment(stored.kind, stored.ref, stored.mime,
                                                                            stored.size))
        return "\n".join(str(payload["text"]) for payload in found)


async def file_access(person: Person, name: str = NAME, card: str = CARD, contact: str = CONTACT,
                      topic: str = TOPIC) -> str:
    await person.say("Bonjour")
    await person.tap("access")
    await person.say(topic)
    await person.say("Tétouan")
    await person.tap(TETOUAN)
    await person.tap("no")
    await person.tap("chat")
    await person.say(name)
    await person.say(card)
    await person.say(contact)
    reference = find_reference(await person.tap("send"))
    assert reference is not None
    return reference


async def file_complaint(person: Person, description: str = DESCRIPTION, photo: bytes | None = PHOTO,
                         phone: str | None = PHONE) -> str:
    await person.say("menu")
    await person.tap("feedback")
    await person.tap("complaint")
    await person.say("Tétouan")
    await person.tap(TETOUAN)
    await person.tap("lighting")
    await person.say(description)
    if photo is not None:
        await person.photo(photo)
    else:
        await person.tap("skip")
    if phone is not None:
        await person.say("0" + phone[4:])  # typed the way people write it; kept as +212…
    else:
        await person.tap("skip")
    reference = find_reference(await person.tap("send"))
    assert reference is not None
    return reference


async def clerk(bab: Bab, external_id: str = "clerk-fatima") -> Person:
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(Role.CLERK, [TETOUAN], "Fatima")
    member = Person(bab, external_id)
    assert "Fatima" in await member.say(f"/start {invite.code}")
    return member


async def answer(member: Person, reference: str, text: str = "Voici la réponse de la commune.") -> str:
    """The clerk opens the request (its card shows the requester's details), takes it and answers in full."""
    await member.say("/inbox")
    shown = await member.tap(f"open:{reference}")
    await member.tap("a:take")
    await member.tap("a:answer")
    await member.say(text)
    await member.tap("c:full")
    return shown


async def refuse(member: Person, reference: str, ground: str = "not_available") -> None:
    """The clerk refuses the request on a legal ground, with a reason."""
    await member.say("/inbox")
    await member.tap(f"open:{reference}")
    await member.tap("a:take")
    await member.tap("a:refuse")
    await member.tap(next(option for option in await member.options() if option.endswith(f":{ground}")))
    await member.say("Ce registre n'existe pas encore à la commune.")


async def leftovers(bab: Bab, values: list[str], photo: bytes | None = None) -> list[str]:
    """Where any of the values (or the photo's bytes) is still stored: every column of every table read through
    the ORM (so decrypted), then every file of the data folder, raw and decrypted."""
    found: list[str] = []
    async with bab.sessions() as session:
        for mapper in tables.Base.registry.mappers:
            for row in await session.scalars(select(mapper.class_)):
                for column in mapper.column_attrs:
                    value = getattr(row, column.key)
                    if isinstance(value, bytes):
                        text = value.decode("utf-8", "replace")
                        try:
                            text += json.dumps(json.loads(value), ensure_ascii=False)
                        except ValueError:
                            pass
                    else:
                        text = json.dumps(value, ensure_ascii=False, default=str)
                    found += [f"{mapper.class_.__tablename__}.{column.key}: {wanted}" for wanted in values
                              if wanted in text]
    for path in sorted(Path(bab.settings.data_dir).rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        # Stored files are encrypted: read as Bab reads them too.
        contents = [raw, media.read(path)] if path.parent == bab.settings.uploads_dir else [raw]
        needles = [wanted.encode() for wanted in values] + ([photo[20:60]] if photo else [])
        found += [f"{path.name}: {needle[:20]!r}" for needle in needles for data in contents if needle in data]
    return found


async def export_of(person: Person, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON file of a /mydata answer, read back from the uploads folder."""
    files = [FileRef.from_json(file) for payload in payloads for file in payload.get("files", [])]
    json_file = next(file for file in files if (file.name or "").endswith(".json"))
    async with person.bab.sessions() as session:
        row = await session.get(tables.Attachment, json_file.id)
        assert row is not None and row.mime == "application/json"
    path = media.path_of(person.bab.settings.uploads_dir, row.ref)
    assert path is not None
    assert b"Zoubida" not in path.read_bytes()  # encrypted at rest like every stored file
    data: dict[str, Any] = json.loads(media.read(path))
    html_file = next(file for file in files if (file.name or "").endswith(".html"))
    assert html_file.kind == "document"
    return data


async def test_mydata_returns_everything_held_and_nothing_of_anyone_else(bab: Bab) -> None:
    amina, youssef = Person(bab, "amina-browser"), Person(bab, "youssef-browser")
    access = await file_access(amina)
    complaint = await file_complaint(amina)
    other = await file_access(youssef, name="Youssef Benlahcen", card="YB112233", contact="youssef@example.ma",
                              topic="Le budget des fêtes de quartier 2026")
    payloads = await amina.handle(Inbound(InboundKind.TEXT, text="/mydata"))
    summary = payloads[0]["text"]
    for shown in (NAME, CARD, CONTACT, access, complaint):
        assert shown in summary, shown
    assert [file["name"] for file in payloads[0]["files"]] == ["bab-my-data.json", "bab-my-data.html"]
    data = await export_of(amina, payloads)
    text = json.dumps(data, ensure_ascii=False)
    for held in (NAME, CARD, CONTACT, PHONE, TOPIC, DESCRIPTION, access, complaint):
        assert held in text, held
    for elsewhere in ("Youssef", "YB112233", "youssef@example.ma", "fêtes de quartier", other, "amina-browser"):
        assert elsewhere not in text, elsewhere  # nor the web cookie, a secret even to its owner
    assert [request["reference"] for request in data["requests"]] == [access, complaint]
    assert data["requests"][1]["contact"] == PHONE and data["requests"][0]["events"][0]["what"] == "submitted"
    assert [(file["kind"], file["from"]) for file in data["files"]] == [("photo", "you")]
    assert any(message["text"] == DESCRIPTION for message in data["messages_from_you"])
    assert payloads[-1]["options"] and [option["id"] for option in payloads[-1]["options"]] == [
        "correct", "consent", "forget", "menu"]


async def test_a_correction_reaches_the_open_request_and_its_clerk(bab: Bab) -> None:
    amina = Person(bab, "amina-browser")
    fatima = await clerk(bab)
    reference = await file_access(amina)
    await amina.say("/mydata")
    await amina.tap("correct")
    await amina.tap("contact")
    before = await fatima.last_id()
    done = await amina.say("amina.nouvelle@example.ma")
    assert FR("The collectivity of each open request was told.") in done
    told = await fatima.sent_since(before)
    st = translator(await bab.conversations.locale_of("web", "clerk-fatima"))  # the clerk's own language
    assert [payload["text"] for payload in told] == [st(
        "The citizen has corrected their {field} on request {reference}. Open it to see the new details.",
        field=st("contact"), reference=reference)]
    async with bab.sessions() as session:
        request = await repos.request_by_reference(session, reference)
        assert request is not None and request.contact == "amina.nouvelle@example.ma"
        events = list(await session.scalars(select(tables.RequestEvent).where(
            tables.RequestEvent.request_id == request.id, tables.RequestEvent.kind == "details_corrected")))
        assert [event.data for event in events] == [{"fields": ["contact"]}]  # the value is not copied there
    card = await fatima.say("/inbox") + await fatima.tap(f"open:{reference}")
    assert "amina.nouvelle@example.ma" in card and CONTACT not in card


async def test_a_card_number_is_never_kept_for_a_complaint(bab: Bab) -> None:
    """The one place a request's fields are written (Conversations.submit) keeps the card number for access
    requests only, even when the answers carry one."""
    amina = Person(bab, "amina-browser")
    await amina.say("Bonjour")
    async with bab.sessions() as session, session.begin():
        identity = await repos.find_identity(session, "web", "amina-browser")
        assert identity is not None
        await bab.conversations.submit(session, identity, Submit(kind="complaint", locale="fr", answers={
            "place": TETOUAN, "service": "waste", "description": DESCRIPTION, "id_number": CARD}))
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None and request.kind == "complaint" and request.id_number is None


async def test_withdrawing_consent_erases_the_photo_and_the_contact_and_tells_the_clerk(bab: Bab) -> None:
    amina = Person(bab, "amina-browser")
    fatima = await clerk(bab)
    await amina.say("Bonjour")
    reference = await file_complaint(amina)
    async with bab.sessions() as session:
        photo = await session.scalar(select(tables.Attachment).where(tables.Attachment.kind == "photo"))
        assert photo is not None
    path = media.path_of(bab.settings.uploads_dir, photo.ref)
    assert path is not None
    await amina.say("/mydata")
    await amina.tap("consent")
    await amina.tap("photos")
    before = await fatima.last_id()
    assert "1" in await amina.tap("yes")
    assert not path.exists()
    assert reference in (await fatima.sent_since(before))[0]["text"]
    await amina.tap("consent")
    await amina.tap("contact")
    await amina.tap("yes")
    async with bab.sessions() as session:
        request = await repos.request_by_reference(session, reference)
        assert request is not None and request.contact is None and request.subject == DESCRIPTION
        row = await session.get(tables.Attachment, photo.id)
        assert row is not None and row.ref == "erased"
    # Objected to, photos are now offered to be allowed again; a location never given has nothing to erase.
    await amina.tap("consent")
    offered = await amina.options()
    assert "allow_photos" in offered and "photos" not in offered
    await amina.tap("location")
    assert FR("None of your requests holds a {what}: nothing to erase.", what=FR("location")) in await amina.tap("yes")


async def test_forget_leaves_nothing_typed_and_the_figures_unchanged(bab: Bab) -> None:
    amina, youssef = Person(bab, "amina-browser"), Person(bab, "youssef-browser")
    fatima = await clerk(bab)
    access = await file_access(amina)
    complaint = await file_complaint(amina)
    kept = await file_access(youssef, name="Youssef Benlahcen", card="YB112233", contact="youssef@example.ma",
                             topic="Le budget des fêtes de quartier 2026")
    shown = await answer(fatima, access)
    assert NAME in shown and CARD in shown  # the clerk was shown the requester's details
    await answer(fatima, complaint)
    await refuse(fatima, kept)
    await amina.say("/mydata")  # export files on disk too
    assert len(await leftovers(bab, TYPED, PHOTO)) > 6  # the scan does find what is stored
    before = await bab.transparency.refresh()
    facts = sorted(await bab.transparency.facts(), key=repr)
    assert [fact.ground for fact in facts if fact.decision == "refuse"] == ["not_available"]

    question = await amina.say("oubliez-moi")
    assert "BAB-" not in question  # nothing open: nothing to withdraw or keep
    done = await amina.tap("yes")
    assert FR("Done: Bab has erased your personal data. Only the anonymous facts of your requests remain, for "
              "the public statistics.") in done

    assert await leftovers(bab, TYPED, PHOTO) == []
    after = await bab.transparency.refresh()
    assert after.figures == before.figures
    assert sorted(await bab.transparency.facts(), key=repr) == facts  # kind, place, dates, status, ground
    # The other citizen is untouched.
    assert await leftovers(bab, ["Youssef Benlahcen", "YB112233", "youssef@example.ma"]) != []
    # The identity comes back as a new citizen with nothing: no profile, no requests.
    greeting = await amina.say("/mydata")
    assert NAME not in greeting and access not in greeting and FR("• Requests: none") in greeting
    identity = await amina.identity()
    async with bab.sessions() as session:
        old = await session.scalar(select(tables.Citizen).where(tables.Citizen.forgotten_at.is_not(None)))
        assert old is not None and identity.citizen_id != old.id


async def test_forget_keeps_or_withdraws_open_requests_and_tells_the_collectivity(bab: Bab) -> None:
    amina, salma = Person(bab, "amina-browser"), Person(bab, "salma-browser")
    fatima = await clerk(bab)
    keep = await file_access(amina)
    withdraw = await file_access(salma, name="Salma Bouziane", card="SB445566", contact="salma@example.ma",
                                 topic="Les procès-verbaux du conseil de 2025 et 2026")
    await fatima.say("/inbox")
    await fatima.tap(f"open:{keep}")  # the card with Amina's details is now in the clerk's messages

    question = await amina.say("/forget")
    assert keep in question
    before = await fatima.last_id()
    done = await amina.tap("keep")
    assert keep in done
    told = "\n".join(payload["text"] for payload in await fatima.sent_since(before))
    st = translator(await bab.conversations.locale_of("web", "clerk-fatima"))
    assert st("The citizen of request {reference} asked Bab to erase their personal data: their name, card number "
              "and contact are erased. The request stays open: answer it here as usual, and delete any copy of "
              "their details you made.", reference=keep) in told
    assert await leftovers(bab, [NAME, CARD, CONTACT]) == []
    identity = await amina.identity()
    async with bab.sessions() as session:
        request = await repos.request_by_reference(session, keep)
        assert request is not None and request.status == "acknowledged" and request.subject == TOPIC
        assert request.citizen_id == identity.citizen_id  # still theirs: the answer comes here
    assert keep in await amina.say("/mydata")

    await salma.say("/forget")
    await salma.tap("withdraw")
    async with bab.sessions() as session:
        request = await repos.request_by_reference(session, withdraw)
        assert request is not None and request.status == "withdrawn" and request.subject == ""
    assert await leftovers(bab, ["Salma Bouziane", "SB445566", "salma@example.ma", "procès-verbaux du conseil"]) == []


async def test_forgetting_twice_and_stale_buttons_erase_nothing_more(bab: Bab) -> None:
    amina = Person(bab, "amina-browser")
    await file_access(amina)
    await amina.say("/forget")
    stale = await amina.version()
    await amina.tap("keep")
    again = await amina.tap("keep", version=stale)
    assert FR("That button belongs to an earlier question. Here is where we are now:") in again
    async with bab.sessions() as session:
        forgotten = list(await session.scalars(select(tables.Citizen).where(tables.Citizen.forgotten_at.is_not(None))))
        assert len(forgotten) == 1
