"""Clerks answer citizens from the inbox, through the real aiohttp server: answer with a document, extend then
answer, refuse with a ground then the complaint to the head and the CDAI, transfer, and a clarification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Bab, web_app
from bot.domain.staff import Role
from bot.storage import tables
from tests.e2e.desk_helpers import (
    PDF,
    TETOUAN,
    file_access,
    new_user,
    staff_user,
    texts,
    upload,
)


@pytest.fixture
async def server(bab: Bab, aiohttp_server: Any) -> AsyncIterator[Any]:
    yield await aiohttp_server(web_app(bab, dispatch=False))


async def request_row(bab: Bab, reference: str) -> tables.Request:
    async with bab.sessions() as session:
        row = await session.scalar(select(tables.Request).where(tables.Request.reference == reference))
        assert row is not None
        return row


async def event_kinds(bab: Bab, reference: str) -> list[str]:
    row = await request_row(bab, reference)
    async with bab.sessions() as session:
        return list((await session.scalars(select(tables.RequestEvent.kind).where(
            tables.RequestEvent.request_id == row.id).order_by(tables.RequestEvent.id))).all())


async def test_clerk_answers_with_a_document_and_the_citizen_closes_it(bab: Bab, server: Any,
                                                                       aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    assert "Cette collectivité répond via Bab" in texts(citizen.messages[-2:])
    assert "chafafiya" not in texts(citizen.messages[-2:])  # Tétouan answers on Bab now: no portal copy

    new = await clerk.replies()
    assert reference in texts(new) and f"go:open:{reference}" in clerk.option_ids()
    await clerk.say("/inbox")
    assert f"open:{reference}" in clerk.option_ids()
    await clerk.tap(f"open:{reference}")
    opened = texts([clerk.prompt])
    assert "Le budget 2025" in opened and "AB123456" in opened and "+212612345678" in opened
    assert "ouvert" in texts(await citizen.replies())  # acknowledged: the citizen is told
    await clerk.tap("a:take")
    await clerk.tap("a:answer")
    assert "(1)" in texts(await upload(clerk, PDF))
    await clerk.say("Voici le budget 2025 adopté par le conseil, en pièce jointe.")
    await clerk.tap("c:full")

    answer = await citizen.replies()
    assert "Voici le budget 2025" in texts(answer)
    files = [file for message in answer for file in message["files"]]
    assert len(files) == 1
    document = await citizen.client.get(files[0]["url"])
    assert document.status == 200 and await document.read() == PDF
    stranger = await new_user(bab, server, aiohttp_client)
    assert (await stranger.client.get(files[0]["url"])).status == 404

    await citizen.tap(f"go:rate:{reference}:answered")
    row = await request_row(bab, reference)
    assert (row.status, row.rating) == ("closed", "answered") and row.answered_at is not None
    assert await event_kinds(bab, reference) == ["submitted", "open", "take", "answer", "rated", "close"]


async def test_extended_then_answered_in_part(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    await clerk.replies()  # the "new in the inbox" notice, with its open button
    await clerk.tap(f"go:open:{reference}")
    await clerk.tap("a:extend")
    await clerk.tap("c:large_volume")
    told = texts(await citizen.replies())
    # Due Tue 15 Dec 2026; 20 more working days, skipping weekends and 1, 11 and 14 Jan 2027 (New Year,
    # Independence Manifesto, Amazigh New Year): 15 January 2027.
    row = await request_row(bab, reference)
    assert row.status == "extended" and row.extended_at is not None and row.due_on == date(2027, 1, 15), row.due_on
    assert "15 janvier 2027" in told and "volume" in told
    assert "a:extend" not in clerk.option_ids()  # once only

    await clerk.tap("a:answer")
    await clerk.say("Le budget est joint ; le PV n'est pas encore adopté.")
    await clerk.tap("c:partial")
    answer = await citizen.replies()
    assert "en partie" in texts(answer)
    await citizen.tap(f"go:rate:{reference}:partly")
    assert f"go:complain:{reference}" in citizen.option_ids()
    assert (await request_row(bab, reference)).status == "partially_answered"


async def test_refused_with_a_ground_then_complaint_to_the_head_then_cdai(bab: Bab, server: Any,
                                                                         aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    await clerk.replies()  # the "new in the inbox" notice, with its open button
    await clerk.tap(f"go:open:{reference}")
    await clerk.tap("a:refuse")
    await clerk.tap("c:article_7")
    await clerk.tap("c:private_life")
    await clerk.say("Le PV contient des données personnelles de tiers.")
    refusal = texts(await citizen.replies())
    assert "refusé" in refusal and "vie privée" in refusal.lower() and "données personnelles de tiers" in refusal
    row = await request_row(bab, reference)
    assert row.status == "refused"

    await citizen.tap(f"go:complain:{reference}")
    await citizen.say("Le PV d'un conseil est public : il suffit d'en masquer les noms.")
    receipt = texts(await citizen.tap("send"))
    assert "chef" in receipt.lower() or "président" in receipt.lower()
    async with bab.sessions() as session:
        complaint = await session.scalar(select(tables.Request).where(tables.Request.kind == "head_complaint"))
        assert complaint is not None and complaint.parent_id == row.id
        assert complaint.deadline_rule == "head_answer" and complaint.collectivity_code == TETOUAN
    # A second complaint about the same request is refused.
    await citizen.tap(f"go:complain:{reference}", version=0)
    assert "une seule fois" in texts(citizen.messages[-2:])

    # The complaint is its own item in the clerk's inbox, with its own deadline.
    await clerk.replies()
    await clerk.say("/inbox")
    assert f"open:{complaint.reference}" in clerk.option_ids()
    await clerk.tap(f"open:{complaint.reference}")
    await clerk.tap("a:refuse")
    await clerk.tap("c:not_available")
    await clerk.say("Le refus est maintenu.")
    refusal = await citizen.replies()
    assert f"go:cdai:{complaint.reference}" in citizen.option_ids(), refusal  # the next step is offered
    await citizen.tap(f"go:complain:{complaint.reference}", version=0)  # not possible on a complaint itself
    assert "CDAI" not in texts(citizen.messages[-2:])
    await citizen.tap(f"go:cdai:{complaint.reference}", version=0)
    letter = texts(citizen.messages[-2:])
    assert "cdai.ma" in letter and reference in letter and complaint.reference in letter


async def test_transferred_to_another_commune(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    martil = bab.directory.match("martil", levels={"commune"})[0].collectivity.code
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    other = await staff_user(bab, server, aiohttp_client, Role.CLERK, [martil], "Youssef")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    before = await request_row(bab, reference)
    await clerk.replies()
    await clerk.tap(f"go:open:{reference}")
    await clerk.tap("a:transfer")
    await clerk.say("martil")
    await clerk.tap(f"c:{martil}")
    told = texts(await citizen.replies())
    assert "Martil" in told and "15 décembre 2026" in told and "16 novembre 2026" in told
    after = await request_row(bab, reference)
    assert (after.collectivity_code, after.status) == (martil, "transferred")
    assert (after.received_at, after.due_on) == (before.received_at, before.due_on)
    assert f"open:{reference}" not in clerk.option_ids()
    assert reference in texts(await other.replies())
    await other.say("/inbox")
    assert f"open:{reference}" in other.option_ids()


async def test_clarification_round_trip(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    await clerk.replies()  # the "new in the inbox" notice, with its open button
    await clerk.tap(f"go:open:{reference}")
    await clerk.tap("a:clarify")
    await clerk.say("Quel conseil : celui de juillet ou celui d'octobre ?")
    question = texts(await citizen.replies())
    assert "juillet ou celui d'octobre" in question and f"go:reply:{reference}" in citizen.option_ids()
    assert (await request_row(bab, reference)).status == "clarification"
    await citizen.tap(f"go:reply:{reference}")
    await citizen.say("Celui d'octobre 2026.")
    assert (await request_row(bab, reference)).status == "in_progress"
    assert reference in texts(await clerk.replies())
    await clerk.tap(f"go:open:{reference}")
    assert "Celui d'octobre 2026." in clerk.prompt["text"]  # the history shows the citizen's answer


async def test_complaint_to_the_head_after_the_deadline_passes(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    bab.clock.advance(days=31)  # type: ignore[attr-defined]  # due 15 Dec; now 17 Dec
    await citizen.say("menu")
    await citizen.tap("mine")
    await citizen.tap(f"open:{reference}")
    assert f"go:complain:{reference}" in citizen.option_ids()
    await citizen.tap(f"go:complain:{reference}")
    await citizen.say("Aucune réponse dans le délai légal de 20 jours ouvrables.")
    await citizen.tap("send")
    async with bab.sessions() as session:
        kinds = (await session.scalars(select(tables.Request.kind).order_by(tables.Request.id))).all()
    assert list(kinds) == ["access", "head_complaint"]


async def test_the_citizen_asks_why_this_due_date(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    await citizen.say("menu")
    await citizen.tap("mine")
    await citizen.tap(f"open:{reference}")
    explained = texts(await citizen.tap("why"))
    # Independence Day (18 Nov) and the weekends are skipped; the due date is 15 December 2026.
    assert "18 novembre 2026" in explained and "15 décembre 2026" in explained
    assert "why" in citizen.option_ids()  # the detail is asked again
