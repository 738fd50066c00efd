"""The deadline sweeps on SQLite with an injected clock: who hears what, once, in their language.

Dates (2026, Africa/Casablanca = UTC+1 in Oct–Dec): Sat 31 Oct Unity Day, Fri 6 Nov Green March,
Wed 18 Nov Independence Day. The default clock is Mon 16 Nov 10:00.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update

from bot.app import Bab
from bot.domain.deadlines import CASABLANCA
from bot.domain.remedies import can_go_to_cdai, cdai_deadline
from bot.flows.remedies import complain_option
from bot.i18n import translator
from bot.services import jobs
from bot.services.clock import FixedClock
from bot.storage import tables
from tests.jobs import factories as f


def local(y: int, mo: int, d: int, h: int = 10) -> datetime:
    return datetime(y, mo, d, h, 0, tzinfo=CASABLANCA)


async def people(bab: Bab, now: datetime) -> dict[str, int]:
    """A citizen (Darija), a clerk of the commune (fr), coordinators of its province (ary) and region (ar)."""
    async with bab.sessions() as session, session.begin():
        amina = await f.citizen(session, "amina", now)
        clerk = await f.staff(session, "clerk", "clerk", [f.COMMUNE], now, locale="fr")
        province = await f.staff(session, "prov", "coordinator", [f.PROVINCE], now, locale="ary")
        region = await f.staff(session, "reg", "coordinator", [f.REGION], now, locale="ar")
        return {"amina": amina.id, "clerk": clerk.identity_id or 0, "province": province.identity_id or 0,
                "region": region.identity_id or 0}


async def file(bab: Bab, received: datetime, **kwargs: object) -> tables.Request:
    async with bab.sessions() as session, session.begin():
        identity = await session.scalar(select(tables.Identity).where(tables.Identity.external_id == "amina"))
        assert identity is not None
        return await f.request(session, identity, received, bab.calendar, **kwargs)  # type: ignore[arg-type]


async def messages(bab: Bab, identity_id: int | None = None) -> list[tables.OutboxMessage]:
    async with bab.sessions() as session:
        return await f.outbox(session, identity_id)


async def test_reminders_five_and_one_working_days_before(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    # Received Mon 26 Oct: 27–30 (1–4), Unity Day Sat 31, 2–5 Nov (5–8), Green March Fri 6, 9–13 (9–13),
    # 16–17 (14–15), Independence Day Wed 18, 19–20 (16–17), 23–25 (18–20): due Wed 25 Nov.
    request = await file(bab, local(2026, 10, 26))
    assert request.due_on == date(2026, 11, 25)
    # Mon 16: 17, 19, 20, 23, 24, 25 = 6 working days left: too early.
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 0
    clock.advance(days=1)  # Tue 17: 5 left
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 1
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 0  # twice: once
    clock.advance(days=1)  # Wed 18 (holiday): still 5 left, nothing new
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 0
    clock.advance(days=6)  # Tue 24: 1 left
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 1
    clock.advance(days=1)  # Wed 25, due today: the 1-day reminder was sent, nothing more
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 0
    sent = await messages(bab, who["clerk"])
    assert len(sent) == 2
    assert [m.payload["locale"] for m in sent] == ["fr", "fr"]
    assert sent[0].payload["text"].endswith("Jours ouvrables restants : 5.")
    assert sent[1].payload["text"].endswith("Jours ouvrables restants : 1.")
    assert request.reference in sent[1].payload["text"]
    # Reminders go to the clerk only: the citizen and coordinators heard nothing.
    assert await messages(bab, who["amina"]) == []


async def test_downtime_sends_only_the_nearest_reminder(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    await file(bab, local(2026, 10, 26))  # due Wed 25 Nov
    clock.advance(days=8)  # down from Mon 16 to Tue 24: the 5-day reminder is stale, the 1-day one is due
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 1
    async with bab.sessions() as session:
        keys = list(await session.scalars(select(tables.Alert.dedupe_key)))
    assert [k for k in keys if k.startswith("reminder")] == [k for k in keys if k.endswith(":1")]
    assert len(await messages(bab, who["clerk"])) == 1


async def test_a_due_date_that_moves_makes_its_reminders_due_again(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    request = await file(bab, local(2026, 10, 26))  # due Wed 25 Nov
    clock.advance(days=1)  # Tue 17: 5 left
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 1
    async with bab.sessions() as session, session.begin():
        row = await session.get(tables.Request, request.id)
        assert row is not None and row.reminded_step == 5
        row.due_on = date(2026, 12, 2)  # moved a week (the desk's extension and calendar corrections set it so)
        assert row.reminded_step is None
    clock.advance(days=1)  # Wed 18: 9 working days left now
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 0
    clock.advance(days=7)  # Wed 25: 26, 27, 30 Nov, 1, 2 Dec = 5 left
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 1
    clock.advance(days=6)  # Tue 1 Dec: 1 left, found by the search for requests reminded at an earlier step
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 1
    assert (await bab.jobs.run_all(clock.now()))["reminders"] == 0
    texts = [m.payload["text"] for m in await messages(bab, who["clerk"])]
    assert [text.rsplit(" ", 1)[-1] for text in texts] == ["5.", "5.", "1."]


async def test_overdue_access_request(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    # Received Thu 15 Oct: Fri 16 (1), 19–23 (2–6), 26–30 (7–11), 2–5 Nov (12–15), 9–13 (16–20): due Fri 13 Nov.
    request = await file(bab, local(2026, 10, 15))
    assert request.due_on == date(2026, 11, 13)
    first = await bab.jobs.run_all(clock.now())
    assert first == {"reminders": 0, "overdue": 2, "escalations": 0, "digests": 2}
    assert await bab.jobs.run_all(clock.now()) == {"reminders": 0, "overdue": 0, "escalations": 0, "digests": 0}
    async with bab.sessions() as session:
        row = await session.get(tables.Request, request.id)
        assert row is not None and row.overdue_at == clock.now()
        events = list(await session.scalars(select(tables.RequestEvent.kind)
                                            .where(tables.RequestEvent.request_id == request.id)))
        assert events == ["overdue"]
    (to_citizen,) = await messages(bab, who["amina"])
    payload = to_citizen.payload
    assert payload["locale"] == "ary"
    # The same complaint button as everywhere else (its label translated), working from any state.
    assert payload["options"] == [{"id": f"go:complain:{request.reference}",
                                   "label": translator("ary")(complain_option(request.reference).label)}]
    assert payload["version"] == 0
    # 20 working days to complain, from Fri 13 Nov: 16–17, 19–20, 23–27, 30 Nov–4 Dec, 7–11, Mon 14 Dec.
    assert "14 دجنبر 2026" in payload["text"]
    assert request.reference in payload["text"]
    (to_clerk,) = await messages(bab, who["clerk"])
    assert to_clerk.payload["locale"] == "fr" and request.reference in to_clerk.payload["text"]
    assert to_clerk.payload["options"] == [{"id": f"go:open:{request.reference}", "label": request.reference}]
    # The coordinators' digests (it is past 08:00) count the overdue request.
    (digest,) = await messages(bab, who["province"])
    assert request.reference in digest.payload["text"] and digest.payload["locale"] == "ary"


async def test_overdue_feedback_just_says_it_is_late(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    # Complaint received Mon 14 Sep 2026: +60 calendar days = Fri 13 Nov, a working day.
    request = await file(bab, local(2026, 9, 14), kind="complaint", rule="feedback_answer", locale="fr")
    assert request.due_on == date(2026, 11, 13)
    await bab.jobs.run_all(clock.now())
    (to_citizen,) = await messages(bab, who["amina"])
    assert to_citizen.payload["options"] == [] and to_citizen.payload["locale"] == "fr"
    assert request.reference in to_citizen.payload["text"]


async def test_head_answer_overdue_points_to_the_cdai(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    # Complaint to the head received Wed 28 Oct: +15 calendar days = Thu 12 Nov (working).
    request = await file(bab, local(2026, 10, 28), kind="head_complaint", rule="head_answer", locale="fr")
    assert request.due_on == date(2026, 11, 12)
    await bab.jobs.run_all(clock.now())
    (to_citizen,) = await messages(bab, who["amina"])
    assert "CDAI" in to_citizen.payload["text"]
    assert [option["id"] for option in to_citizen.payload["options"]] == [f"go:cdai:{request.reference}"]
    # 30 calendar days to go to the CDAI from Thu 12 Nov: Sat 12 Dec, the last day the remedy is open.
    assert "12 décembre 2026" in to_citizen.payload["text"]
    assert cdai_deadline(request.kind, request.status, None, request.due_on, date(2026, 11, 16)) == date(2026, 12, 12)
    assert can_go_to_cdai(request.kind, request.status, None, request.due_on, date(2026, 12, 12))
    assert not can_go_to_cdai(request.kind, request.status, None, request.due_on, date(2026, 12, 13))


async def test_no_clerk_means_the_coordinators_hear(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    await file(bab, local(2026, 10, 15), code=f.OTHER_COMMUNE)  # a commune without clerks, due Fri 13 Nov
    counts = await bab.jobs.run_all(clock.now())
    assert counts["overdue"] == 2  # the province coordinators + the citizen
    assert await messages(bab, who["clerk"]) == []
    province = await messages(bab, who["province"])
    assert len(province) == 2  # the overdue alert and the digest


async def test_escalation_twenty_working_days_past_due(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    request = await file(bab, local(2026, 10, 15))  # due Fri 13 Nov
    await bab.jobs.run_all(clock.now())
    region_before = len(await messages(bab, who["region"]))
    # 20 working days after Fri 13 Nov is Mon 14 Dec (16–17, 19–20, 23–27, 30 Nov–4 Dec, 7–11, 14).
    clock.moment = local(2026, 12, 11).astimezone(clock.moment.tzinfo)
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 0
    clock.moment = local(2026, 12, 14).astimezone(clock.moment.tzinfo)
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 1
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 0
    region = await messages(bab, who["region"])
    escalations = [m for m in region[region_before:] if request.reference in m.payload["text"]
                   and m.payload["locale"] == "ar"]
    # One level above the province coordinators: the region's (one escalation, digests aside).
    async with bab.sessions() as session:
        kinds = list(await session.scalars(select(tables.Alert.kind).where(tables.Alert.identity_id == who["region"])))
    assert kinds.count("escalation") == 1 and escalations
    # The escalation (digests have no button) opens the request in the inbox.
    opens = [m for m in escalations if m.payload["options"]]
    assert [m.payload["options"] for m in opens] == [[{"id": f"go:open:{request.reference}",
                                                       "label": request.reference}]]
    # The nearest responsible level (the province coordinators, who get the digests) is not escalated to.
    async with bab.sessions() as session:
        province = list(await session.scalars(select(tables.Alert.kind)
                                               .where(tables.Alert.identity_id == who["province"])))
    assert "escalation" not in province and "digest" in province


async def test_digest_hour_and_nothing_to_say(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    # Nothing open: no digest at all.
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 0
    await file(bab, local(2026, 11, 13))  # due in December, not this week: still nothing to say
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 0
    await file(bab, local(2026, 10, 26))  # due Wed 25 Nov: within 7 days from Thu 19
    clock.moment = local(2026, 11, 19, 7).astimezone(clock.moment.tzinfo)  # 07:00, before the digest hour
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 0
    clock.moment = local(2026, 11, 19, 8).astimezone(clock.moment.tzinfo)
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 2
    clock.advance(hours=5)
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 0  # once a day
    (digest,) = await messages(bab, who["region"])
    assert digest.payload["locale"] == "ar"


async def test_quiet_hours(bab: Bab, clock: FixedClock) -> None:
    await people(bab, clock.now())
    await file(bab, local(2026, 10, 15))  # overdue since Sat 14 Nov
    clock.moment = local(2026, 11, 17, 3).astimezone(clock.moment.tzinfo)
    assert await bab.jobs.run_all(clock.now()) == {"reminders": 0, "overdue": 0, "escalations": 0, "digests": 0}
    clock.advance(hours=5)  # 08:00
    assert (await bab.jobs.run_all(clock.now()))["overdue"] == 2


async def test_answered_and_closed_requests_are_left_alone(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    await file(bab, local(2026, 10, 15), status="answered", answered_at=local(2026, 11, 12))
    await file(bab, local(2026, 10, 15), status="withdrawn")
    counts = await bab.jobs.run_all(clock.now())
    assert counts["overdue"] == 0
    assert await messages(bab, who["amina"]) == []
    # The answer in the last 7 days is news for the coordinators' digest.
    assert counts["digests"] == 2


async def test_extended_request_is_due_later(bab: Bab, clock: FixedClock) -> None:
    await people(bab, clock.now())
    # Received Thu 15 Oct, due Fri 13 Nov, extended: +20 working days = Mon 14 Dec (see above): not overdue.
    request = await file(bab, local(2026, 10, 15), kind="access", extended_at=local(2026, 11, 2))
    assert request.due_on == date(2026, 12, 14)
    assert (await bab.jobs.run_all(clock.now()))["overdue"] == 0


async def test_digest_hour_is_moroccan_time_in_ramadan(bab: Bab, clock: FixedClock) -> None:
    # 2 Mar 2026 is in Ramadan: Casablanca is UTC+0, so 08:00 local is 08:00 UTC (07:00 UTC the rest of the year).
    clock.moment = datetime(2026, 3, 2, 7, 30, tzinfo=CASABLANCA).astimezone(clock.moment.tzinfo)
    assert clock.moment.hour == 7  # 07:30 UTC
    await people(bab, clock.now())
    await file(bab, local(2026, 2, 26))  # due within the week (urgent would be too short; access is 20 days)
    async with bab.sessions() as session, session.begin():
        identity = await session.scalar(select(tables.Identity).where(tables.Identity.external_id == "amina"))
        assert identity is not None
        soon = await f.request(session, identity, local(2026, 3, 2), bab.calendar, rule="urgent")
    assert soon.due_on == date(2026, 3, 5)  # Mon 2 + 3 calendar days = Thu 5 Mar
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 0
    clock.advance(minutes=30)  # 08:00 UTC = 08:00 in Casablanca during Ramadan
    assert (await bab.jobs.run_all(clock.now()))["digests"] == 2


async def test_digest_waits_for_the_awake_hours(bab: Bab, clock: FixedClock) -> None:
    # A digest hour set before the quiet hours end still sends nothing before 08:00 (Moroccan time).
    await people(bab, clock.now())
    await file(bab, local(2026, 10, 26))  # due Wed 25 Nov: within 7 days from Thu 19
    early = jobs.Jobs(bab.sessions, bab.directory, bab.calendar, jobs.JobSettings(digest_hour=6),
                      lifecycle=bab.lifecycle)
    clock.moment = local(2026, 11, 19, 7).astimezone(clock.moment.tzinfo)
    assert await early.digest(clock.now()) == 0
    clock.moment = local(2026, 11, 19, 8).astimezone(clock.moment.tzinfo)
    assert await early.digest(clock.now()) == 2


async def test_many_notices_to_one_person_in_a_sweep_go_as_one_list(bab: Bab, clock: FixedClock) -> None:
    who = await people(bab, clock.now())
    three = [await file(bab, local(2026, 10, 15)) for _ in range(3)]  # due Fri 13 Nov: overdue on Mon 16
    assert (await bab.jobs.run_all(clock.now()))["overdue"] == 3 + 3  # three alerts to the clerk, one each
    assert len(await messages(bab, who["clerk"])) == 3
    # After a week away (say the server was down), five more are overdue at once, and escalated later.
    five = [await file(bab, local(2026, 10, 21)) for _ in range(5)]  # due Fri 20 Nov
    clock.moment = local(2026, 11, 23).astimezone(clock.moment.tzinfo)
    assert (await bab.jobs.run_all(clock.now()))["overdue"] == 1 + 5  # one list to the clerk, each citizen told
    clerk = await messages(bab, who["clerk"])
    assert len(clerk) == 3 + 1
    listed = clerk[-1].payload
    assert all(r.reference in listed["text"] for r in five) and "5" in listed["text"]
    assert [o["id"] for o in listed["options"]] == [f"go:open:{r.reference}" for r in five[:3]]
    assert len(await messages(bab, who["amina"])) == 3 + 5
    async with bab.sessions() as session:
        overdue = list(await session.scalars(select(tables.Alert.request_id).where(
            tables.Alert.kind == "overdue", tables.Alert.identity_id == who["clerk"])))
    assert sorted(overdue) == sorted(r.id for r in three + five)  # still one ledger row per request

    # 20 working days after Fri 20 Nov is Fri 18 Dec: on Mon 21 Dec all eight are escalated at once.
    clock.moment = local(2026, 12, 21).astimezone(clock.moment.tzinfo)
    region_before = len(await messages(bab, who["region"]))
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 1
    region = (await messages(bab, who["region"]))[region_before:]
    escalation = [m.payload for m in region if "options" in m.payload and m.payload["options"]]
    assert len(escalation) == 1 and escalation[0]["locale"] == "ar"
    assert all(r.reference in escalation[0]["text"] for r in three + five)

    # A crash after the list was queued and before the requests were marked: the next sweep only marks them.
    async with bab.sessions() as session, session.begin():
        await session.execute(update(tables.Request).values(escalated_at=None))
    assert (await bab.jobs.run_all(clock.now()))["escalations"] == 0
    async with bab.sessions() as session:
        marked = list(await session.scalars(select(tables.Request.escalated_at)))
    assert marked and all(at is not None for at in marked)
