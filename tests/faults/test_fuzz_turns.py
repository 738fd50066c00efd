"""Fuzzing the core (hypothesis): random messages at every step of every flow, citizen and staff, never crash and
always get an answer, in the person's language.

Each example is a new person on one real Bab (SQLite built by the migrations, the real engine, flows and desk):
a citizen, or a clerk linked with an invite code to a commune where requests wait. At each step hypothesis draws
either one of the choices the last answer offered (with its version, so the walk goes deep into the forms and the
desk) or something a person or a broken client could send: any text (empty, huge, control characters, emoji,
Arabic, Arabizi, commands), a known word, a button of another state or a forged id, a stale or absurd version, a
photo, a document or a location with or without a file, an edit, a sticker.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import Bab
from bot.config import SUPPORTED_LOCALES
from bot.domain.staff import Role
from bot.flows.spec import Inbound, InboundKind, State
from bot.services.staff import StaffAdmin
from bot.storage import repos, tables

TETOUAN = "01.571.01.11"
CHANNEL = "test"
WORDS = ("menu", "Bonjour", "salam", "السلام عليكم", "bghit n3ref", "access", "complaint", "send", "yes", "no",
         "skip", "back", "cancel", "1", "2", "9", "0", "Tétouan", "tetouan", "الرباط", "Casa", "/start", "/inbox",
         "/overdue", "/stats", "/mydata", "/forget", "/calendar", "/audit", "/start nope", "fr", "ar", "ary",
         "BAB-7K3MQ9", "open BAB-7K3MQ9", "answer", "refuse", "extend", "transfer", "AB123456", "0612345678",
         "amina@example.ma", "🙂🙂🙂", "\u200f", "\x00\x01", "?" * 3, " ")
OPTION_IDS = ("access", "complaint", "observation", "suggestion", "mine", "help", "mydata", "forget", "consent",
              "send", "edit", "cancel", "yes", "no", "skip", "back", "resume", "go:open:BAB-7K3MQ9", "go:menu",
              "lang:fr", "lang:xx", "01.571.01.11", "99.999", "answer", "refuse", "extend", "transfer", "clarify",
              "next", "prev", "article_7", "", "x" * 300)
_people = itertools.count()

texts = st.one_of(st.sampled_from(WORDS), st.text(max_size=40),
                  st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=6000),
                  st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي 0123456789", max_size=60))
junk = st.one_of(
    texts.map(lambda text: Inbound(kind=InboundKind.TEXT, text=text)),
    st.builds(lambda choice, version: Inbound(kind=InboundKind.CHOICE, choice_id=choice, version=version),
              st.one_of(st.sampled_from(OPTION_IDS), st.text(max_size=20)),
              st.one_of(st.none(), st.integers(min_value=-2**63, max_value=2**63 - 1))),
    st.builds(lambda kind, attachment: Inbound(kind=kind, attachment_id=attachment),
              st.sampled_from((InboundKind.PHOTO, InboundKind.DOCUMENT)),
              st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12))),
    st.builds(lambda lat, lon: Inbound(kind=InboundKind.LOCATION, lat=lat, lon=lon),
              st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
              st.one_of(st.none(), st.floats(min_value=-200, max_value=200))),
    st.sampled_from((Inbound(kind=InboundKind.EDITED, text="edited"), Inbound(kind=InboundKind.OTHER))),
)


async def last_answer(bab: Bab, identity_id: int, after: int) -> list[dict[str, Any]]:
    """The messages queued for this identity since outbox id `after`."""
    async with bab.sessions() as session:
        rows = await session.scalars(select(tables.OutboxMessage).where(
            tables.OutboxMessage.identity_id == identity_id, tables.OutboxMessage.id > after)
            .order_by(tables.OutboxMessage.id))
        return [row.payload for row in rows]


async def last_id(bab: Bab) -> int:
    async with bab.sessions() as session:
        return int(await session.scalar(select(tables.OutboxMessage.id).order_by(
            tables.OutboxMessage.id.desc()).limit(1)) or 0)


async def locale_of(bab: Bab, identity_id: int) -> str:
    """The language the person's conversation is in now (the default until they chose or were recognised)."""
    async with bab.sessions() as session:
        row = await session.get(tables.Conversation, identity_id)
    return State.from_json(row.state if row else None).locale or bab.settings.default_locale


async def seed_requests(bab: Bab) -> None:
    """A few requests waiting in the clerks' commune, so the desk has something to list, open and act on."""
    async with bab.sessions() as session:
        if await session.scalar(select(tables.Request.id).limit(1)) is not None:
            return
    script = ["Bonjour", "access", "Le budget de la commune", "Tétouan", TETOUAN, "no", "chat", "Amina El Idrissi",
              "AB123456", "0612345678", "send"]
    for number in range(2):
        for text in script:
            await bab.conversations.handle(CHANNEL, f"seed-{number}", Inbound(kind=InboundKind.TEXT, text=text))


async def walk(bab: Bab, data: st.DataObject, person: str, steps: int) -> None:
    """Send `steps` drawn messages as `person`; each must be answered, in their language, without an error."""
    options: list[dict[str, Any]] = []
    version: int | None = None
    for step in range(steps):
        # The same draws whatever the answers were (hypothesis replays them to shrink a failure).
        follow = data.draw(st.booleans(), label="follow a button")
        pick = data.draw(st.integers(min_value=0, max_value=9), label="which button")
        inbound = data.draw(junk, label=f"message {step}")
        if follow and options:
            option = options[pick % len(options)]
            inbound = Inbound(kind=InboundKind.CHOICE, choice_id=str(option["id"]), version=version)
        before = await last_id(bab)
        handled = await bab.conversations.handle(CHANNEL, person, inbound)
        assert handled.identity_id is not None and not handled.duplicate and not handled.throttled
        answer = await last_answer(bab, handled.identity_id, before)
        assert answer, f"no answer to {inbound!r}"
        locale = await locale_of(bab, handled.identity_id)
        assert locale in SUPPORTED_LOCALES
        assert {message["locale"] for message in answer} == {locale}, (inbound, answer)
        assert all(message["text"].strip() for message in answer), answer
        options = list(answer[-1].get("options") or [])
        version = answer[-1].get("version")


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
async def test_citizens_never_crash_and_always_get_an_answer_in_their_language(bab: Bab, data: st.DataObject) -> None:
    await walk(bab, data, f"citizen-{next(_people)}", steps=12)


@FUZZ
@given(data=st.data(), role=st.sampled_from((Role.CLERK, Role.COORDINATOR)))
async def test_staff_never_crash_and_always_get_an_answer_in_their_language(bab: Bab, data: st.DataObject,
                                                                           role: Role) -> None:
    await seed_requests(bab)
    person = f"staff-{next(_people)}"
    scopes: list[str | None] = [TETOUAN] if role is Role.CLERK else ["01"]
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(role, scopes, person)
    linked = await bab.conversations.handle(CHANNEL, person, Inbound(kind=InboundKind.TEXT,
                                                                    text=f"/start {invite.code}"))
    async with bab.sessions() as session:
        assert linked.identity_id is not None
        assert await session.scalar(select(tables.Staff.id).where(
            tables.Staff.identity_id == linked.identity_id)) is not None, "the invite did not link"
    await walk(bab, data, person, steps=12)
    async with bab.sessions() as session:  # and the identity is still staff: no input unlinked it by accident
        identity = await repos.find_identity(session, CHANNEL, person)
        assert identity is not None
