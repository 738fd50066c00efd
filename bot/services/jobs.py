"""Scheduled deadline jobs: idempotent sweeps of the database that remind, mark overdue, escalate and digest.

Every sweep takes `now` from its caller (the injected clock) and may run any number of times, in any number of
processes: each notice is claimed in the `alerts` ledger by a `dedupe_key` unique per (kind, request, recipient,
due date or digest day), and its outbox row is written in the same transaction as the claim.

Exactly-once on PostgreSQL: the claim is `INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`. When two
processes insert the same key, PostgreSQL makes the second wait for the first transaction and then do nothing
(or insert, if the first rolled back), so only the transaction whose insert returned a row writes the outbox row.
The request row is also locked (`FOR UPDATE`) before its state changes (overdue_at, the "overdue" event), so the
state change happens once too. We chose the ledger insert over `FOR UPDATE SKIP LOCKED` claiming (which needs a
claim column and can still double-send if a claimer crashes between claim and send) and over an advisory lock
(which would serialise whole sweeps and work only on PostgreSQL): the unique key is the same proof of "sent" on
both backends. On SQLite every write transaction is `BEGIN IMMEDIATE`, so sweeps are serialised anyway; run the
scheduler in one process there.

Logs carry ids and references, never message bodies or contact details.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import CASABLANCA, RULES, Unit, window_end
from bot.domain.directory import Directory
from bot.domain.requests import FEEDBACK_KINDS, OPEN_STATUSES
from bot.domain.staff import (
    Role,
    StaffMember,
    covers,
    one_level_up,
    responsible_coordinators,
)
from bot.flows.places import place_label
from bot.flows.spec import Outbound
from bot.i18n import N_, Translator, translator
from bot.storage import repos, tables
from bot.storage.staff_repo import active_members

log = logging.getLogger(__name__)

# Notices to people wait for the morning: nobody should get a deadline alert at 03:00 (local hours).
AWAKE_FROM, AWAKE_UNTIL = 8, 21
# Access-to-information rules: when they pass, the citizen may complain to the head of the collectivity.
ACCESS_RULES = frozenset({"access", "access_extension", "urgent", "urgent_extension"})
_OPEN = tuple(status.value for status in OPEN_STATUSES)
_FEEDBACK = tuple(kind.value for kind in FEEDBACK_KINDS)
_DIGEST_LIST = 10  # references listed per digest line; the count says the rest


@dataclass(frozen=True, slots=True)
class JobSettings:
    """What the sweeps need from the settings."""

    reminder_days: tuple[int, ...] = (5, 1)
    escalation_days: int = 20
    digest_hour: int = 8
    urgent_unit: Unit = Unit.CALENDAR
    default_locale: str = "fr"

    @classmethod
    def from_settings(cls, settings: Settings) -> JobSettings:
        """The job settings of a `Settings`."""
        return cls(reminder_days=tuple(settings.reminder_days), escalation_days=settings.escalation_days,
                   digest_hour=settings.digest_hour, urgent_unit=Unit(settings.urgent_unit),
                   default_locale=settings.default_locale)


# --- the ledger ----------------------------------------------------------------------------------------------


async def claim(session: AsyncSession, key: str, kind: str, request_id: int | None, identity_id: int | None,
                now: datetime) -> bool:
    """Insert the ledger row for `key`; True when this transaction owns it (nobody claimed it before)."""
    values: dict[str, Any] = {"dedupe_key": key, "kind": kind, "request_id": request_id,
                              "identity_id": identity_id, "created_at": now}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(tables.Alert).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(tables.Alert.id))
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def send_alert(session: AsyncSession, key: str, kind: str, request_id: int | None, identity_id: int,
                     channel: str, message: Outbound, now: datetime) -> bool:
    """Claim `key` and, only if this transaction got it, queue `message`; True when queued."""
    if not await claim(session, key, kind, request_id, identity_id, now):
        return False
    await repos.enqueue(session, identity_id, channel, message, now)
    log.info("alert queued kind=%s request=%s identity=%s", kind, request_id, identity_id)
    return True


async def sent_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of `keys` the ledger already holds (a cheap pre-check before opening write transactions)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = list(keys[start:start + 500])
        found.update(await session.scalars(select(tables.Alert.dedupe_key).where(tables.Alert.dedupe_key.in_(chunk))))
    return found


# --- who hears about a request -----------------------------------------------------------------------------


def clerks_of(members: Sequence[StaffMember], code: str) -> list[StaffMember]:
    """The active clerks of collectivity `code`."""
    return [m for m in members if m.role is Role.CLERK and code in m.scopes]


def handlers_for(members: Sequence[StaffMember], directory: Directory, request: tables.Request) -> list[StaffMember]:
    """Who handles `request`: its assigned clerk if active, else the collectivity's clerks, else the coordinators."""
    assigned = [m for m in members if m.id == request.assigned_staff_id]
    if assigned:
        return assigned
    return clerks_of(members, request.collectivity_code) or responsible_coordinators(
        list(members), directory, request.collectivity_code)


def staff_translator(member: StaffMember, default_locale: str) -> Translator:
    """A staff member's language (their chat language, else the deployment default)."""
    return translator(member.locale or default_locale)


def local_today(now: datetime) -> date:
    """The day it is in Morocco at `now`."""
    return now.astimezone(CASABLANCA).date()


def awake(now: datetime) -> bool:
    """True in the hours when people may be sent deadline notices (Moroccan time)."""
    return AWAKE_FROM <= now.astimezone(CASABLANCA).hour < AWAKE_UNTIL


class BabLike(Protocol):
    """What `run_all` needs of a running Bab (the real one, or a test's)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    directory: Directory
    calendar: WorkingCalendar


# --- the sweeps ----------------------------------------------------------------------------------------------


@dataclass
class Jobs:
    """The deadline sweeps over one database; each returns how many notices it queued."""

    sessions: async_sessionmaker[AsyncSession]
    directory: Directory
    calendar: WorkingCalendar
    settings: JobSettings = field(default_factory=JobSettings)
    notify: Callable[[], None] = lambda: None
    # Run before every full sweep: reloads the calendar overrides another process may have written.
    before: Callable[[datetime], Awaitable[Any]] | None = None

    def _place(self, code: str, t: Translator) -> str:
        place = self.directory.get(code)
        return place_label(place, self.directory, t) if place is not None else code

    async def _members(self) -> list[StaffMember]:
        async with self.sessions() as session:
            return await active_members(session)

    async def _candidates(self, *conditions: Any) -> list[tables.Request]:
        """Open, unanswered requests matching `conditions` (read only; rows are re-checked under lock)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(tables.Request).where(tables.Request.status.in_(_OPEN), tables.Request.answered_at.is_(None),
                                             *conditions).order_by(tables.Request.id))
            return list(rows)

    async def _locked(self, session: AsyncSession, request_id: int) -> tables.Request | None:
        """The request, locked for this transaction, if it is still open and unanswered."""
        row = await session.scalar(select(tables.Request).where(tables.Request.id == request_id).with_for_update())
        if row is None or row.status not in _OPEN or row.answered_at is not None:
            return None
        return row

    async def remind(self, now: datetime) -> int:
        """Clerk reminders `reminder_days` working days before the due date (the nearest missed one only)."""
        days = sorted(set(self.settings.reminder_days))
        if not days or not awake(now):
            return 0
        today = local_today(now)
        horizon = self.calendar.add_working_days(today, max(days))
        candidates = await self._candidates(tables.Request.overdue_at.is_(None), tables.Request.due_on >= today,
                                            tables.Request.due_on <= horizon)
        members = await self._members()
        planned: list[tuple[tables.Request, int, list[StaffMember]]] = []
        for request in candidates:
            left = self.calendar.working_days_between(today, request.due_on)
            # After downtime only the nearest reminder is worth sending: a "5 days left" on the last day is noise.
            step = next((n for n in days if n >= left), None)
            if step is not None:
                planned.append((request, step, handlers_for(members, self.directory, request)))
        keys = [self._key("reminder", r, m, f"{r.due_on}:{step}") for r, step, ms in planned for m in ms]
        async with self.sessions() as session:
            done = await sent_keys(session, keys)
        sent = 0
        for request, step, recipients in planned:
            todo = [m for m in recipients if self._key("reminder", request, m, f"{request.due_on}:{step}") not in done]
            if not todo:
                continue
            async with self.sessions() as session, session.begin():
                row = await self._locked(session, request.id)
                if row is None or row.due_on != request.due_on:
                    continue
                left = self.calendar.working_days_between(today, row.due_on)
                for member in todo:
                    t = staff_translator(member, self.settings.default_locale)
                    if left <= 0:
                        text = t(N_("Reminder: request {reference} to {place} is due today, {date}."),
                                 reference=row.reference, place=self._place(row.collectivity_code, t),
                                 date=t.date(row.due_on))
                    else:
                        text = t(N_("Reminder: request {reference} to {place} is due on {date}. Working days left: "
                                    "{days}."), reference=row.reference, place=self._place(row.collectivity_code, t),
                                 date=t.date(row.due_on), days=left)
                    sent += await send_alert(session, self._key("reminder", row, member, f"{row.due_on}:{step}"),
                                             "reminder", row.id, member.identity_id, member.channel,
                                             Outbound(text=text, locale=t.locale), now)
        return sent

    async def mark_overdue(self, now: datetime) -> int:
        """Requests past their due day: mark them, alert their handlers, tell the citizen what they can do."""
        if not awake(now):
            return 0
        today = local_today(now)
        candidates = await self._candidates(tables.Request.overdue_at.is_(None), tables.Request.due_on < today)
        if not candidates:
            return 0
        members = await self._members()
        sent = 0
        for request in candidates:
            async with self.sessions() as session, session.begin():
                row = await self._locked(session, request.id)
                # Another process may have marked it between our read and the lock.
                if row is None or row.overdue_at is not None or row.due_on >= today:
                    continue
                row.overdue_at, row.updated_at = now, now
                await repos.append_event(session, row.id, "overdue", "system:jobs", now,
                                         {"due_on": row.due_on.isoformat()})
                for member in handlers_for(members, self.directory, row):
                    t = staff_translator(member, self.settings.default_locale)
                    text = t(N_("Overdue: request {reference} to {place} was due on {date} and has no answer yet. "
                                "Please answer it or tell the citizen when they will have it."),
                             reference=row.reference, place=self._place(row.collectivity_code, t),
                             date=t.date(row.due_on))
                    sent += await send_alert(session, self._key("overdue", row, member, str(row.due_on)), "overdue",
                                             row.id, member.identity_id, member.channel,
                                             Outbound(text=text, locale=t.locale), now)
                sent += await self._tell_citizen_overdue(session, row, now)
                log.info("request overdue reference=%s due=%s", row.reference, row.due_on)
        return sent

    async def _tell_citizen_overdue(self, session: AsyncSession, row: tables.Request, now: datetime) -> int:
        """The citizen's notice: a one-tap complaint for access requests, the CDAI after the head, else news."""
        identity = await session.get(tables.Identity, row.identity_id)
        if identity is None:
            return 0
        t = translator(row.locale)
        options: tuple[tuple[str, str], ...] = ()
        version: int | None = None
        if row.kind not in _FEEDBACK and row.deadline_rule in ACCESS_RULES:
            until = window_end(row.due_on, RULES["complaint_to_head_filing"], self.calendar)
            text = t(N_("Your request {reference} was due on {date} and has no answer yet. The law allows you to "
                        "complain to the head of the collectivity within 20 working days, by {until}. I can prepare "
                        "the complaint with you now."), reference=row.reference, date=t.date(row.due_on),
                     until=t.date(until))
            # The core turns this id into the complaint flow from any state, so the version does not matter.
            options, version = ((f"go:complain:{row.reference}", t(N_("Complain to the head"))),), 0
        elif row.deadline_rule == "head_answer":
            until = window_end(row.due_on, RULES["cdai_filing"], self.calendar)
            text = t(N_("The head of the collectivity has not answered your complaint {reference}, due on {date}. "
                        "You may now complain to the CDAI, the access-to-information commission (cdai.ma), within "
                        "30 days, by {until}."), reference=row.reference, date=t.date(row.due_on),
                     until=t.date(until))
        else:
            text = t(N_("Your {reference} was due for an answer on {date} and the administration is late. We have "
                        "reminded the collectivity, and I will tell you here when it answers."),
                     reference=row.reference, date=t.date(row.due_on))
        key = f"overdue_citizen:{row.id}:{identity.id}:{row.due_on}"
        return int(await send_alert(session, key, "overdue_citizen", row.id, identity.id, identity.channel,
                                    Outbound(text=text, locale=t.locale, options=options, version=version), now))

    async def escalate(self, now: datetime) -> int:
        """Requests `escalation_days` working days past due: alert the coordinators one level up."""
        if not awake(now) or self.settings.escalation_days <= 0:
            return 0
        today = local_today(now)
        # Working days past due are never more than calendar days past due: a cheap SQL pre-filter.
        latest = today - timedelta(days=self.settings.escalation_days)
        candidates = [r for r in await self._candidates(tables.Request.due_on <= latest)
                      if self.calendar.working_days_between(r.due_on, today) >= self.settings.escalation_days]
        if not candidates:
            return 0
        members = await self._members()
        planned = [(r, one_level_up(members, self.directory, r.collectivity_code)) for r in candidates]
        async with self.sessions() as session:
            done = await sent_keys(session, [self._key("escalation", r, m, str(r.due_on))
                                             for r, ms in planned for m in ms])
        sent = 0
        for request, recipients in planned:
            todo = [m for m in recipients if self._key("escalation", request, m, str(request.due_on)) not in done]
            if not todo:
                continue
            async with self.sessions() as session, session.begin():
                row = await self._locked(session, request.id)
                if row is None or row.due_on != request.due_on:
                    continue
                late = self.calendar.working_days_between(row.due_on, today)
                for member in todo:
                    t = staff_translator(member, self.settings.default_locale)
                    text = t(N_("Escalation: request {reference} to {place} is {days} working days past its due date "
                                "({date}) with no answer. It needs your attention."), reference=row.reference,
                             place=self._place(row.collectivity_code, t), days=late, date=t.date(row.due_on))
                    sent += await send_alert(session, self._key("escalation", row, member, str(row.due_on)),
                                             "escalation", row.id, member.identity_id, member.channel,
                                             Outbound(text=text, locale=t.locale), now)
        return sent

    async def digest(self, now: datetime) -> int:
        """Each coordinator's daily summary from `digest_hour` (Moroccan time), once a day, when there is news."""
        local = now.astimezone(CASABLANCA)
        if local.hour < self.settings.digest_hour:
            return 0
        today = local.date()
        week_end = today + timedelta(days=6)
        since = now - timedelta(days=7)
        members = [m for m in await self._members() if m.role is Role.COORDINATOR]
        if not members:
            return 0
        async with self.sessions() as session:
            open_rows = list(await session.scalars(
                select(tables.Request).where(tables.Request.status.in_(_OPEN), tables.Request.answered_at.is_(None),
                                             tables.Request.due_on <= week_end).order_by(tables.Request.due_on)))
            answered = list(await session.scalars(
                select(tables.Request).where(tables.Request.answered_at >= since)))
            done = await sent_keys(session, [f"digest:{m.identity_id}:{today}" for m in members])
        sent = 0
        for member in members:
            key = f"digest:{member.identity_id}:{today}"
            if key in done:
                continue
            mine = [r for r in open_rows if covers(member, self.directory, r.collectivity_code)]
            overdue = [r for r in mine if r.due_on < today]
            due_soon = [r for r in mine if r.due_on >= today]
            done_week = [r for r in answered if covers(member, self.directory, r.collectivity_code)]
            if not (overdue or due_soon or done_week):
                continue  # nothing to say: no message
            t = staff_translator(member, self.settings.default_locale)
            lines = [t(N_("Bab daily summary, {date}:"), date=t.date(today)),
                     t(N_("Overdue: {count}"), count=len(overdue)) + _refs(overdue),
                     t(N_("Due in the next 7 days: {count}"), count=len(due_soon)) + _refs(due_soon),
                     t(N_("Answered in the last 7 days: {count}"), count=len(done_week))]
            async with self.sessions() as session, session.begin():
                sent += await send_alert(session, key, "digest", None, member.identity_id, member.channel,
                                         Outbound(text="\n".join(lines), locale=t.locale), now)
        return sent

    @staticmethod
    def _key(kind: str, request: tables.Request, member: StaffMember, suffix: str) -> str:
        return f"{kind}:{request.id}:{member.identity_id}:{suffix}"

    async def run_all(self, now: datetime) -> dict[str, int]:
        """Every sweep once, in order (overdue before escalation); returns notices queued per sweep."""
        if self.before is not None:
            await self.before(now)
        counts = {
            "reminders": await self.remind(now),
            "overdue": await self.mark_overdue(now),
            "escalations": await self.escalate(now),
            "digests": await self.digest(now),
        }
        if any(counts.values()):
            log.info("sweep at %s queued %s", now.isoformat(), counts)
            self.notify()
        return counts


def _refs(rows: Sequence[tables.Request]) -> str:
    """' — BAB-…, BAB-…' for the first references of a digest line (nothing when empty)."""
    if not rows:
        return ""
    shown = ", ".join(r.reference for r in rows[:_DIGEST_LIST])
    return f" — {shown}" + (" …" if len(rows) > _DIGEST_LIST else "")


def jobs_for(bab: BabLike, notify: Callable[[], None] | None = None) -> Jobs:
    """The sweeps of a running Bab, reloading its calendar overrides before each full sweep."""
    from bot.services.calendar_admin import (
        CalendarAdmin,  # here: calendar_admin imports this module's helpers
    )

    dispatcher = getattr(bab, "dispatcher", None)
    wake = notify or (dispatcher.wake if dispatcher is not None else (lambda: None))
    settings = JobSettings.from_settings(bab.settings)
    admin = CalendarAdmin(bab.sessions, bab.directory, bab.calendar, settings, notify=wake)
    return Jobs(bab.sessions, bab.directory, bab.calendar, settings, notify=wake, before=admin.reload)


async def run_all(bab: BabLike, now: datetime) -> dict[str, int]:
    """Run every sweep once at `now` for `bab` (what the scheduler does on each tick, and tests call directly)."""
    return await jobs_for(bab).run_all(now)
