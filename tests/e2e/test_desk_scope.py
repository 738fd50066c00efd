"""Scope is checked server side on every route: a clerk of another commune, a forged button, a typed
reference, an inbox filter, a revoked account; and coordinators' inbox, reports and reassignment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Bab, web_app
from bot.domain.staff import Role
from bot.services.staff import StaffAdmin
from bot.storage import tables
from tests.e2e.desk_helpers import TETOUAN, file_access, new_user, staff_user, texts


@pytest.fixture
async def server(bab: Bab, aiohttp_server: Any) -> AsyncIterator[Any]:
    yield await aiohttp_server(web_app(bab, dispatch=False))


async def audits(bab: Bab) -> list[tuple[str, str]]:
    async with bab.sessions() as session:
        rows = await session.execute(select(tables.AuditEvent.action, tables.AuditEvent.outcome)
                                     .order_by(tables.AuditEvent.id))
        return [(row[0], row[1]) for row in rows]


async def status_and_events(bab: Bab, reference: str) -> tuple[str, int]:
    async with bab.sessions() as session:
        row = await session.scalar(select(tables.Request).where(tables.Request.reference == reference))
        assert row is not None
        count = await session.scalar(select(func.count()).select_from(tables.RequestEvent)
                                     .where(tables.RequestEvent.request_id == row.id))
        return row.status, int(count or 0)


async def test_a_clerk_of_another_commune_gets_nothing_by_any_route(bab: Bab, server: Any,
                                                                    aiohttp_client: Any) -> None:
    martil = bab.directory.match("martil", levels={"commune"})[0].collectivity.code
    await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    intruder = await staff_user(bab, server, aiohttp_client, Role.CLERK, [martil], "Youssef")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    before = await status_and_events(bab, reference)
    assert reference not in texts(await intruder.replies())  # not told of it either

    # Every inbox filter leaves it out.
    await intruder.say("/inbox")
    for name in ("overdue", "mine", "unassigned", "open"):
        if f"f:{name}" in intruder.option_ids():
            await intruder.tap(f"f:{name}")
        assert reference not in intruder.prompt["text"] and f"open:{reference}" not in intruder.option_ids()
    # A forged 'open' button, for the current version, on the list.
    denied = texts(await intruder.tap(f"open:{reference}", version=intruder.prompt["version"]))
    assert reference in denied and "Amina" not in denied and "budget" not in denied.lower()
    # The notice-style button, and the reference typed.
    denied = texts(await intruder.tap(f"go:open:{reference}", version=0))
    assert "Amina" not in denied and "budget" not in denied.lower()
    denied = texts(await intruder.say(reference))
    assert "Amina" not in denied and "budget" not in denied.lower()
    # Forged action and choice buttons while on the desk.
    for forged in ("a:answer", "a:refuse", "c:full", "c:not_available"):
        denied = texts(await intruder.tap(forged, version=intruder.prompt["version"]))
        assert "Amina" not in denied and "budget" not in denied.lower()
    # Nothing happened to the request, and every refusal left an audit event.
    assert await status_and_events(bab, reference) == before
    assert [entry for entry in await audits(bab) if entry[1] == "denied"][:3] == [
        ("open", "denied"), ("open", "denied"), ("open", "denied")]
    # A file of the request is not served to the intruder either.
    async with bab.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(tables.Attachment))
    assert count == 0


async def test_a_guessed_reference_and_a_citizen_typing_inbox_get_nothing(bab: Bab, server: Any,
                                                                          aiohttp_client: Any) -> None:
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    other = await new_user(bab, server, aiohttp_client)
    replies = texts(await other.say("/inbox"))
    assert reference not in replies and "Amina" not in replies
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    replies = texts(await clerk.say("BAB-ZZZZZZ"))
    assert "BAB-ZZZZZZ" in replies  # the same answer as for someone else's request
    assert ("open", "denied") in await audits(bab)


async def test_a_revoked_clerk_is_refused_and_audited(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    await clerk.replies()
    async with bab.sessions() as session:
        staff_id = await session.scalar(select(tables.Staff.id))
    assert staff_id is not None
    assert await StaffAdmin(bab.sessions, bab.directory, bab.clock).revoke(staff_id)
    replies = texts(await clerk.say("/inbox"))
    assert reference not in replies
    stale = texts(await clerk.tap(f"open:{reference}", version=clerk.prompt["version"]))
    assert "Amina" not in stale and "budget" not in stale.lower()
    assert ("desk", "revoked") in await audits(bab)
    # Tétouan no longer answers through Bab: the next citizen is told so, with the portal copy.
    another = await new_user(bab, server, aiohttp_client)
    await file_access(another)
    assert "chafafiya.ma" in texts(another.messages[-3:])


async def test_an_invite_code_works_once(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(Role.CLERK, [TETOUAN], "Fatima")
    first = await new_user(bab, server, aiohttp_client)
    await first.say(f"/start {invite.code}")
    second = await new_user(bab, server, aiohttp_client)
    replies = texts(await second.say(invite.code))
    assert "Fatima" not in replies
    assert ("link", "denied") in await audits(bab)


async def test_coordinators_take_requests_without_a_clerk_report_and_reassign(bab: Bab, server: Any,
                                                                               aiohttp_client: Any) -> None:
    province = bab.directory.get(TETOUAN).parent_code  # type: ignore[union-attr]
    national = await staff_user(bab, server, aiohttp_client, Role.COORDINATOR, [None], "Coordination nationale")
    coordinator = await staff_user(bab, server, aiohttp_client, Role.COORDINATOR, [province], "Province Tétouan")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    portal = texts(citizen.messages[-3:])  # no clerk: the request text is offered, ready for the portal
    assert "chafafiya.ma" in portal and "AB123456" in portal and reference in portal
    # The nearest level with a coordinator takes it: the province, not the national coordination.
    assert reference in texts(await coordinator.replies())
    assert reference not in texts(await national.replies())
    await coordinator.say("/inbox")
    assert f"open:{reference}" in coordinator.option_ids()
    await national.say("/inbox")
    assert f"open:{reference}" not in national.option_ids()
    await national.tap("f:all")
    assert f"open:{reference}" in national.option_ids()

    # Overdue and stats reports, in scope.
    bab.clock.advance(days=31)  # type: ignore[attr-defined]
    overdue = texts(await coordinator.say("/overdue"))
    assert reference in overdue and "Tétouan" in overdue
    stats = texts(await coordinator.say("/stats"))
    assert "Tétouan" in stats and "1" in stats
    assert "Tétouan : 1 reçues, 0 répondues, 0 refusées, 1 en retard" in stats, stats

    # A clerk joins: the coordinator assigns the request to them.
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    await coordinator.say(reference)  # a typed reference opens it from any desk step
    await coordinator.tap("a:assign")
    async with bab.sessions() as session:
        fatima = await session.scalar(select(tables.Staff.id).where(tables.Staff.name == "Fatima"))
    await coordinator.tap(f"c:{fatima}")
    assert reference in texts(await clerk.replies())
    await clerk.say("/inbox")
    await clerk.tap("f:mine")
    assert f"open:{reference}" in clerk.option_ids()


async def test_a_national_coordinator_moves_an_estimated_holiday_from_the_chat(bab: Bab, server: Any,
                                                                              aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    refused = texts(await clerk.say("/calendar"))
    assert not any(option.startswith("cal:") for option in clerk.option_ids()), refused
    national = await staff_user(bab, server, aiohttp_client, Role.COORDINATOR, [None], "Coordination")
    await national.say("/calendar")
    confirm = next(option for option in national.option_ids() if option.startswith("cal:confirm:"))
    day = date.fromisoformat(confirm.rsplit(":", 1)[1])
    holiday = bab.calendar.holiday(day)
    assert holiday is not None and holiday.estimated
    await national.tap(f"cal:later:{day.isoformat()}")
    done = texts(await national.replies())
    assert national.bab.calendar.holiday(day + timedelta(days=1)) is not None, done
    moved = bab.calendar.holiday(day + timedelta(days=1))
    assert moved is not None and not moved.estimated and moved.name == holiday.name
    await national.say("/calendar")
    denied = await national.tap("cal:later:2020-01-01", version=national.prompt["version"])
    assert ("calendar", "denied") in await audits(bab), denied
