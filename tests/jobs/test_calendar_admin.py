"""Holiday corrections: moon-sighting confirmations and moves recompute open deadlines and tell the people concerned."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Bab
from bot.cli import main
from bot.config import Settings
from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import CASABLANCA, RULES, due_date
from bot.services.calendar_admin import CalendarAdmin, CalendarError
from bot.services.clock import FixedClock
from bot.services.jobs import JobSettings
from bot.storage import tables
from tests.jobs import factories as f


def local(y: int, mo: int, d: int, h: int = 10) -> datetime:
    return datetime(y, mo, d, h, 0, tzinfo=CASABLANCA)


def admin_for(bab: Bab, calendar: WorkingCalendar | None = None) -> CalendarAdmin:
    return CalendarAdmin(bab.sessions, bab.directory, calendar or bab.calendar, JobSettings(), lifecycle=bab.lifecycle)


async def setup(bab: Bab, received: datetime, **kwargs: object) -> tuple[tables.Request, int, int]:
    """One citizen (fr), one clerk (ary) of the commune, one request; returns it with both identity ids."""
    async with bab.sessions() as session, session.begin():
        citizen = await f.citizen(session, "karim", received, locale="fr")
        clerk = await f.staff(session, "clerk", "clerk", [f.COMMUNE], received, locale="ary")
        request = await f.request(session, citizen, received, bab.calendar, locale="fr", **kwargs)  # type: ignore[arg-type]
        return request, citizen.id, clerk.identity_id or 0


async def test_moon_sighting_moves_eid_and_open_deadlines(bab: Bab, clock: FixedClock) -> None:
    clock.moment = local(2026, 4, 28).astimezone(clock.moment.tzinfo)
    # Received Tue 28 Apr 2026: Wed 29 (1), Thu 30 (2), Labour Day Fri 1 May, 4–8 (3–7), 11–15 (8–12),
    # 18–22 (13–17), Mon 25 (18), Tue 26 (19); Eid al-Adha estimated Wed 27 + Thu 28; Fri 29 May (20).
    request, citizen, clerk = await setup(bab, clock.now())
    assert request.due_on == date(2026, 5, 29)
    clock.moment = local(2026, 5, 26, 21).astimezone(clock.moment.tzinfo)  # the Habous announcement, evening
    # Eid falls one day later: Thu 28 + Fri 29. Wed 27 becomes the 20th working day.
    change = await admin_for(bab).move(date(2026, 5, 27), date(2026, 5, 28), "staff:1", clock.now())
    assert [(o.day, o.kind) for o in change.overrides] == [
        (date(2026, 5, 27), "working"), (date(2026, 5, 28), "holiday"), (date(2026, 5, 29), "holiday")]
    assert [(m.reference, m.old, m.new) for m in change.moved] == [
        (request.reference, date(2026, 5, 29), date(2026, 5, 27))]
    # The running app's calendar (shared with the conversations) sees it at once.
    assert bab.calendar is bab.conversations.calendar
    assert bab.calendar.is_working_day(date(2026, 5, 27)) and not bab.calendar.is_working_day(date(2026, 5, 29))
    assert not bab.calendar.holiday(date(2026, 5, 29)).estimated  # type: ignore[union-attr]
    async with bab.sessions() as session:
        row = await session.get(tables.Request, request.id)
        assert row is not None and row.due_on == date(2026, 5, 27)
        event = await session.scalar(select(tables.RequestEvent).where(tables.RequestEvent.kind == "due_moved"))
        assert event is not None and event.data["from"] == "2026-05-29" and event.data["to"] == "2026-05-27"
        (to_citizen,) = await f.outbox(session, citizen)
        (to_clerk,) = await f.outbox(session, clerk)
        stored = list(await session.scalars(select(tables.CalendarOverride.day)))
    assert "27 mai 2026" in to_citizen.payload["text"] and "29 mai 2026" in to_citizen.payload["text"]
    assert to_citizen.payload["locale"] == "fr"
    assert to_clerk.payload["locale"] == "ary" and request.reference in to_clerk.payload["text"]
    assert to_clerk.payload["options"] == [{"id": f"go:open:{request.reference}", "label": request.reference}]
    assert stored == [date(2026, 5, 27), date(2026, 5, 28), date(2026, 5, 29)]


async def test_confirm_stops_estimating_without_moving_anything(bab: Bab, clock: FixedClock) -> None:
    clock.moment = local(2026, 6, 1).astimezone(clock.moment.tzinfo)
    request, citizen, _ = await setup(bab, clock.now())
    before = due_date(RULES["access"], clock.now(), bab.calendar)
    assert any(s.reason == "Islamic New Year (estimated)" for s in before.skipped)
    change = await admin_for(bab).confirm(date(2026, 6, 16), "staff:1", clock.now())
    assert change.moved == () and [o.source for o in change.overrides] == ["confirmed"]
    after = due_date(RULES["access"], clock.now(), bab.calendar)
    assert after.due == before.due == request.due_on
    assert any(s.reason == "Islamic New Year" for s in after.skipped)
    async with bab.sessions() as session:
        assert await f.outbox(session, citizen) == []


async def test_confirm_takes_both_days_of_an_eid(bab: Bab, clock: FixedClock) -> None:
    change = await admin_for(bab).confirm(date(2027, 3, 10), "staff:1", clock.now())
    assert [o.day for o in change.overrides] == [date(2027, 3, 9), date(2027, 3, 10)]
    listing = await admin_for(bab).listing(2027)
    fitr = [line for line in listing if line.name == "Eid al-Fitr"]
    assert [(line.estimated, line.source) for line in fitr] == [(False, "confirmed"), (False, "confirmed")]
    assert any(line.estimated for line in listing)  # the other Hijri holidays are still estimates


async def test_shared_day_moves_only_the_estimated_holiday(bab: Bab, clock: FixedClock) -> None:
    # 14 Aug 2027: Oued Ed-Dahab Day (fixed) and the Prophet's Birthday (estimated) on the same day.
    admin = admin_for(bab)
    change = await admin.move(date(2027, 8, 14), date(2027, 8, 15), "staff:1", clock.now())
    # The estimated one moves (14–15 → 15–16); Oued Ed-Dahab Day stays on the 14th.
    assert [h.name for h in bab.calendar.holidays_on(date(2027, 8, 14))] == ["Oued Ed-Dahab Day"]
    assert [h.name for h in bab.calendar.holidays_on(date(2027, 8, 16))] == ["Prophet's Birthday"]
    assert [(o.day.day, o.kind) for o in change.overrides] == [(14, "working"), (15, "holiday"), (16, "holiday")]
    with pytest.raises(CalendarError):
        await admin.confirm(date(2027, 8, 12), "staff:1", clock.now())  # no holiday that day
    with pytest.raises(CalendarError):
        await admin.move(date(2027, 8, 14), date(2027, 8, 14), "staff:1", clock.now())


async def test_added_holiday_lifts_an_overdue_mark(bab: Bab, clock: FixedClock) -> None:
    # Received Thu 15 Oct, due Fri 13 Nov; overdue on Mon 16 Nov.
    request, _citizen, _clerk = await setup(bab, local(2026, 10, 15))
    async with bab.sessions() as session, session.begin():
        row = await session.get(tables.Request, request.id)
        assert row is not None
        row.overdue_at = clock.now()
    # A day off decreed on Tue 10 Nov pushes the 20th working day to Mon 16 Nov: not late any more.
    change = await admin_for(bab).add(date(2026, 11, 10), "Exceptional holiday", "staff:1", clock.now())
    assert [(m.old, m.new) for m in change.moved] == [(date(2026, 11, 13), date(2026, 11, 16))]
    async with bab.sessions() as session:
        row = await session.get(tables.Request, request.id)
        assert row is not None and row.overdue_at is None and row.due_on == date(2026, 11, 16)


async def test_another_process_reloads_and_catches_up(bab: Bab, clock: FixedClock) -> None:
    clock.moment = local(2026, 4, 28).astimezone(clock.moment.tzinfo)
    request, citizen, _ = await setup(bab, clock.now())
    # The server's calendar is its own object: the CLI process below changes only the database and its copy.
    server_calendar = WorkingCalendar.morocco(2025, 2029)
    cli = admin_for(bab)
    await cli.move(date(2026, 5, 27), date(2026, 5, 28), "cli:admin", clock.now())
    # Meanwhile the server filed a request with its stale calendar (Eid on 27–28): due Fri 29 May.
    async with bab.sessions() as session, session.begin():
        identity = await session.get(tables.Identity, citizen)
        assert identity is not None
        stale = await f.request(session, identity, clock.now(), server_calendar, locale="fr")
    assert stale.due_on == date(2026, 5, 29)
    server = admin_for(bab, server_calendar)
    assert await server.reload(clock.now()) is True
    assert server_calendar.is_working_day(date(2026, 5, 27))
    assert await server.reload(clock.now()) is False  # nothing new
    async with bab.sessions() as session:
        rows = {r.id: r.due_on for r in await session.scalars(select(tables.Request))}
        moves = list(await session.scalars(select(tables.RequestEvent.request_id)
                                           .where(tables.RequestEvent.kind == "due_moved")))
    assert rows == {request.id: date(2026, 5, 27), stale.id: date(2026, 5, 27)}
    assert sorted(moves) == sorted([request.id, stale.id])  # each moved once


def test_cli_calendar(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                      tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BAB_DATA_DIR", str(tmp_path))
    assert main(["calendar", "due", "--from", "2026-11-13T10:00", "--rule", "access"]) == 0
    out = capsys.readouterr().out
    assert "14 décembre 2026" in out and "18 novembre 2026" in out
    assert main(["calendar", "due", "--from", "2026-05-25", "--rule", "access", "--lang", "ar"]) == 0
    # Received Mon 25 May 2026 at noon: 20 working days over Eid al-Adha and the Islamic New Year = Thu 25 Jun.
    arabic = capsys.readouterr().out.splitlines()
    assert "25 يونيو 2026" in arabic[0]
    assert main(["calendar", "move", "2027-05-16", "--to", "2027-05-17", "--actor", "tester"]) == 0
    assert "2027-05-18" in capsys.readouterr().out
    assert main(["calendar", "add", "2027-07-01", "--name", "Referendum day"]) == 0
    capsys.readouterr()
    assert main(["calendar", "list", "--year", "2027"]) == 0
    listing = capsys.readouterr().out
    assert "2027-05-16" in listing and "working" in listing
    assert "2027-07-01  Thu  Referendum day  [added]" in listing
    assert "Eid al-Fitr  [estimated]" in listing
    assert main(["calendar", "confirm", "2027-07-02"]) == 1
    assert "Nothing changed" in capsys.readouterr().out
