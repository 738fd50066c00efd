"""The coordinators' side of the desk: overdue requests, figures per collectivity, and holiday corrections."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date

from bot.domain.deadlines import CASABLANCA
from bot.domain.requests import OPEN_STATUSES
from bot.domain.staff import scope_codes
from bot.flows.engine import move
from bot.flows.explain import holiday_name
from bot.i18n import N_
from bot.services.desk_turn import DeskTurn, days_left
from bot.services.lifecycle import Lifecycle
from bot.storage import inbox_repo, staff_repo, tables


class Reports:
    """/overdue, /stats and /calendar for the members whose scope they cover."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.directory = lifecycle.directory
        self.calendar = lifecycle.calendar

    def upcoming_estimated(self, dt: DeskTurn, limit: int = 3) -> list[tuple[date, str]]:
        """The next estimated (Hijri) holidays, first day of each: what a moon sighting may confirm or move."""
        found: list[tuple[date, str]] = []
        day = dt.today
        for offset in range(400):
            current = day.fromordinal(day.toordinal() + offset)
            holiday = self.calendar.holiday(current)
            if holiday is not None and holiday.estimated and not any(name == holiday.name for _, name in found):
                found.append((current, holiday.name))
                if len(found) == limit:
                    break
        return found

    async def show_calendar(self, dt: DeskTurn) -> None:
        t = dt.t
        back = ("list", t(N_("Back to the inbox")))
        if not dt.member.national:
            await dt.send(t(N_("Only national coordinators and admins can correct the holiday calendar.")), (back,))
            return
        upcoming = self.upcoming_estimated(dt)
        lines = [t(N_("Estimated religious holidays ahead. When the moon sighting is announced, confirm or move "
                      "them: every open due date is recomputed and the people concerned are told."))]
        options: list[tuple[str, str]] = []
        for day, name in upcoming:
            shown = holiday_name(t, name)
            lines.append(f"• {t.date(day)}: {shown}")
            later = day.fromordinal(day.toordinal() + 1)
            options += [(f"cal:confirm:{day.isoformat()}", t(N_("Confirm {date}"), date=t.date(day))),
                        (f"cal:later:{day.isoformat()}", t(N_("Move to {date}"), date=t.date(later)))]
        options.append(back)
        await dt.send("\n".join(lines), tuple(options))

    async def handle_calendar(self, dt: DeskTurn, choice: str) -> bool:
        """Queue the chosen correction for the end of the turn; False (and an audit event) for a forged choice."""
        parts = choice.split(":")
        days = {day.isoformat(): day for day, _ in self.upcoming_estimated(dt)}
        if not dt.member.national or len(parts) != 3 or parts[1] not in ("confirm", "later") or parts[2] not in days:
            await staff_repo.audit(dt.session, dt.member.actor, "calendar", choice[:64], "denied", dt.now)
            return False
        day = days[parts[2]]
        target = day if parts[1] == "confirm" else day.fromordinal(day.toordinal() + 1)
        dt.calendar_changes.append((day, target))
        move(dt.state, "list", history=[])
        return True

    async def show_overdue(self, dt: DeskTurn) -> None:
        t = dt.t
        rows = await inbox_repo.overdue(dt.session, scope_codes(dt.member, self.directory), dt.today)
        if not rows:
            await dt.send(t(N_("No overdue request in your scope.")), (("list", t(N_("Back to the inbox"))),))
            return
        by_place: dict[str, list[tables.Request]] = defaultdict(list)
        for row in rows:
            by_place[row.collectivity_code].append(row)
        lines = [t(N_("Overdue requests: {count}"), count=len(rows))]
        for code, group in sorted(by_place.items(), key=lambda item: -len(item[1]))[:20]:
            lines.append(f"\n{self.lifecycle.place(code, t)} ({len(group)})")
            lines += [f"• {row.reference} · {days_left(dt, row.due_on)}" for row in group[:10]]
        options = [(f"open:{row.reference}", row.reference) for row in rows[:8]]
        options.append(("list", t(N_("Back to the inbox"))))
        await dt.send("\n".join(lines), tuple(options))

    async def show_stats(self, dt: DeskTurn) -> None:
        t = dt.t
        rows = await inbox_repo.for_stats(dt.session, scope_codes(dt.member, self.directory))
        if not rows:
            await dt.send(t(N_("No request in your scope yet.")), (("list", t(N_("Back to the inbox"))),))
            return
        by_place: dict[str, list[tables.Request]] = defaultdict(list)
        for row in rows:
            by_place[row.collectivity_code].append(row)
        lines = [t(N_("Figures since the start, per collectivity:"))]
        ranked = sorted(by_place.items(), key=lambda item: -len(item[1]))
        for code, group in [("", rows)] + ranked[:15]:
            lines.append(self.stats_line(dt, code, group))
        if len(ranked) > 15:
            more = len(ranked) - 15
            lines.append(t.ngettext("… and {count} more collectivity.", "… and {count} more collectivities.", more,
                                    count=more))
        await dt.send("\n".join(lines), (("list", t(N_("Back to the inbox"))),))

    def stats_line(self, dt: DeskTurn, code: str, rows: list[tables.Request]) -> str:
        t = dt.t
        decided = [row for row in rows if row.answered_at is not None and row.status not in ("withdrawn",)]
        answered = sum(1 for row in rows if row.status in ("answered", "partially_answered")
                       or (row.status == "closed" and row.answered_at is not None))
        refused = sum(1 for row in rows if row.status == "refused")
        late = sum(1 for row in rows if row.status in OPEN_STATUSES and row.due_on < dt.today)
        days = [(row.answered_at.astimezone(CASABLANCA).date() - row.received_at.astimezone(CASABLANCA).date()).days
                for row in decided if row.answered_at]
        on_time = sum(1 for row in decided if row.answered_at and
                      row.answered_at.astimezone(CASABLANCA).date() <= row.due_on)
        name = self.lifecycle.place(code, t) if code else t(N_("All"))
        return t(N_("{place}: {received} received, {answered} answered, {refused} refused, {overdue} overdue, "
                    "median {median} days to answer, {on_time}% answered on time"),
                 place=name, received=len(rows), answered=answered, refused=refused, overdue=late,
                 median=f"{statistics.median(days):g}" if days else "-",
                 on_time=round(100 * on_time / len(decided)) if decided else "-")
