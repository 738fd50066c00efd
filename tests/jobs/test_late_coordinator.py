"""A coordinator linked after requests in their care were escalated hears of those still open: once, in one
message, whatever the number of sweeps, processes or days of downtime.

Dates as in test_sweeps.py: a request received Thu 15 Oct 2026 is due Fri 13 Nov and escalated on Mon 14 Dec,
20 working days later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.app import Bab
from bot.domain.deadlines import CASABLANCA
from bot.services.clock import FixedClock
from bot.storage import tables
from tests.jobs import factories as f
from tests.jobs.test_sweeps import file, local, messages, people

OTHER_REGION_COMMUNE = "01.571.01.11"  # Tétouan, in Tanger-Tétouan-Al Hoceïma


async def linked(bab: Bab, name: str, role: str, scopes: list[str | None], now: datetime,
                 locale: str = "fr") -> int:
    """A staff member linked at `now`; their chat identity's id."""
    async with bab.sessions() as session, session.begin():
        return (await f.staff(session, name, role, scopes, now, locale=locale)).identity_id or 0


async def escalation_kinds(bab: Bab, identity_id: int) -> list[str]:
    async with bab.sessions() as session:
        return list(await session.scalars(select(tables.Alert.kind).where(tables.Alert.identity_id == identity_id)
                                          .order_by(tables.Alert.id)))


def at(clock: FixedClock, when: datetime) -> None:
    clock.moment = when.astimezone(clock.moment.tzinfo)


async def test_a_coordinator_linked_after_an_escalation_hears_of_it_once(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    late = await file(bab, local(2026, 10, 15))  # due Fri 13 Nov
    closed = await file(bab, local(2026, 10, 15))  # escalated too, then answered
    elsewhere = await file(bab, local(2026, 10, 15), code=OTHER_REGION_COMMUNE)  # another region's
    at(clock, local(2026, 12, 14))
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 2  # the region's coordinator, for two of ours
    async with bab.sessions() as session, session.begin():
        row = await session.get(tables.Request, closed.id)
        assert row is not None
        row.status = "answered"
    # Tue 15 Dec: a second coordinator of the region, and one of the province (the nearest level, never escalated
    # to), are linked.
    at(clock, local(2026, 12, 15, 9))
    newcomer = await linked(bab, "reg-2", "coordinator", [f.REGION], clock.now(), locale="ar")
    province = await linked(bab, "prov-2", "coordinator", [f.PROVINCE], clock.now())
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 1
    told = [m for m in await messages(bab, newcomer) if m.payload["options"]]  # the digest has no buttons
    assert len(told) == 1 and told[0].payload["locale"] == "ar"
    assert told[0].payload["options"] == [{"id": f"go:open:{late.reference}", "label": late.reference}]
    assert closed.reference not in told[0].payload["text"] and elsewhere.reference not in told[0].payload["text"]
    # The ledger says the request was escalated to them, under the escalation's own key, and the catch-up is done.
    assert [k for k in await escalation_kinds(bab, newcomer) if k != "digest"] == ["escalation_caught_up",
                                                                                  "escalation"]
    assert "escalation" not in await escalation_kinds(bab, province)
    assert not [m for m in await messages(bab, province) if late.reference in m.payload["text"]
                and m.payload["options"]]
    # The first region coordinator had it already: nothing again.
    assert [k for k in await escalation_kinds(bab, who["region"]) if k.startswith("escalation")] == [
        "escalation", "escalation", "escalation_caught_up"]
    # Again, later, and after downtime: nothing more.
    before = len(await messages(bab, newcomer))
    for when in (local(2026, 12, 15, 9), local(2026, 12, 15, 15), local(2026, 12, 28)):
        at(clock, when)
        assert (await bab.jobs.run_all(clock.now()))["escalations"] == 0
    assert [m for m in (await messages(bab, newcomer))[before:] if m.payload["options"]] == []


async def test_a_catch_up_waits_for_the_morning_and_lists_the_oldest_first(bab: Bab, clock: FixedClock) -> None:
    await people(bab, clock.now())
    references = [(await file(bab, local(2026, 10, day))).reference for day in (15, 13, 14, 12)]
    at(clock, local(2026, 12, 14))
    await bab.jobs.run_all(clock.now())
    at(clock, local(2026, 12, 14, 22))  # linked at night: told in the morning
    national = await linked(bab, "nat", "coordinator", [None], clock.now())
    newcomer = await linked(bab, "reg-2", "coordinator", [f.REGION], clock.now())
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 0
    at(clock, local(2026, 12, 15, 8))
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 1  # the region's: the nation is two levels up
    told = [m for m in await messages(bab, newcomer) if m.payload["options"]]
    assert len(told) == 1
    oldest_first = [references[i] for i in (3, 1, 2, 0)]  # received 12, 13, 14, 15 Oct: due in that order
    assert [o["id"] for o in told[0].payload["options"]] == [f"go:open:{ref}" for ref in oldest_first[:3]]
    assert ", ".join(oldest_first) in told[0].payload["text"]
    assert [m for m in await messages(bab, national) if m.payload["options"]] == []
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 0


async def test_the_catch_up_keeps_to_working_hours_like_every_notice(bab: Bab, clock: FixedClock) -> None:
    assert local(2026, 12, 15, 7).astimezone(CASABLANCA).hour == 7
    await people(bab, clock.now())
    at(clock, local(2026, 12, 15, 7))
    assert await bab.jobs.catch_up_escalations(clock.now()) == 0
    async with bab.sessions() as session:
        assert await f.count(session, tables.Alert) == 0  # not even marked: the morning's sweep does it
