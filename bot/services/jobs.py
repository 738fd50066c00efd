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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import CASABLANCA, Unit
from bot.domain.directory import Directory
from bot.domain.remedies import cdai_deadline, head_complaint_deadline
from bot.domain.requests import Kind
from bot.domain.staff import (
    Role,
    StaffMember,
    one_level_up,
    request_handlers,
    scope_codes,
)
from bot.flows import notices
from bot.flows.spec import Outbound
from bot.i18n import Translator, translator
from bot.services.lifecycle import Lifecycle
from bot.storage import repos, tables
from bot.storage.inbox_repo import OPEN
from bot.storage.staff_repo import active_members

log = logging.getLogger(__name__)

# Rows per statement when claiming, locking or marking many at once (well under SQLite's bound parameters).
CHUNK = 500
# Overdue requests marked per transaction: few statements for many rows, and SQLite's write lock held briefly.
MARK_CHUNK = 50
# From this many notices of one kind to one person in one sweep, they go as one list instead of one each.
BATCH_FROM = 4

# Notices to people wait for the morning: nobody should get a deadline alert at 03:00 (local hours).
AWAKE_FROM, AWAKE_UNTIL = 8, 21


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


async def claim_many(session: AsyncSession, claims: Sequence[tuple[str, int | None, int | None]], kind: str,
                     now: datetime) -> set[str]:
    """Insert the ledger rows of (key, request id, recipient identity); the keys this transaction owns."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    owned: set[str] = set()
    for start in range(0, len(claims), CHUNK):
        values = [{"dedupe_key": key, "kind": kind, "request_id": request_id, "identity_id": identity_id,
                   "created_at": now} for key, request_id, identity_id in claims[start:start + CHUNK]]
        statement = (insert(tables.Alert).values(values).on_conflict_do_nothing(index_elements=["dedupe_key"])
                     .returning(tables.Alert.dedupe_key))
        owned.update((await session.execute(statement)).scalars())
    return owned


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


def local_today(now: datetime) -> date:
    """The day it is in Morocco at `now`."""
    return now.astimezone(CASABLANCA).date()


def awake(now: datetime) -> bool:
    """True in the hours when people may be sent deadline notices (Moroccan time)."""
    return AWAKE_FROM <= now.astimezone(CASABLANCA).hour < AWAKE_UNTIL


@dataclass(frozen=True, slots=True)
class Due:
    """What a sweep plans a request's notices with, read without a lock (re-checked under lock before sending).

    Only these columns: a first sweep over a backlog reads many rows, and whole rows would cost a few KB each
    (their texts, names and numbers decrypted for nothing)."""

    id: int
    reference: str
    collectivity_code: str
    due_on: date
    assigned_staff_id: int | None


DUE_COLUMNS = (tables.Request.id, tables.Request.reference, tables.Request.collectivity_code,
               tables.Request.due_on, tables.Request.assigned_staff_id)

# A staff notice of one request, in the member's language, built once its row was re-checked under lock.
StaffNotice = Callable[[Due, Translator], Outbound]
# The same for several requests at once (in the order planned), as one message.
StaffBatch = Callable[[Sequence[Due], Translator], Outbound]


# --- the sweeps ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestFigures:
    """A coordinator's digest: counts in SQL, and the first references of each list."""

    overdue: int
    overdue_refs: list[str]
    due_soon: int
    due_soon_refs: list[str]
    answered: int


async def digest_figures(session: AsyncSession, codes: set[str] | None, today: date, week_end: date,
                         since: datetime) -> DigestFigures:
    """Open requests overdue and due within the week, and those answered since `since`, in a scope (None: all)."""
    request = tables.Request
    scope = [request.collectivity_code.in_(codes)] if codes is not None else []
    lists: list[tuple[int, list[str]]] = []
    for window in ((request.due_on < today), and_(request.due_on >= today, request.due_on <= week_end)):
        where = [request.status.in_(OPEN), window, *scope]
        count = await session.scalar(select(func.count()).select_from(request).where(*where)) or 0
        refs = list(await session.scalars(select(request.reference).where(*where)
                                          .order_by(request.due_on, request.id).limit(notices.DIGEST_LIST + 1)))
        lists.append((count, refs))
    answered = await session.scalar(select(func.count()).select_from(request)
                                    .where(request.answered_at >= since, *scope)) or 0
    return DigestFigures(lists[0][0], lists[0][1], lists[1][0], lists[1][1], answered)


class Jobs:
    """The deadline sweeps over one database; each returns how many notices it queued.

    Built by the composition root (`bot.app.build`) with the app's one lifecycle, calendar and dispatcher wake-up.
    Each sweep takes the active staff members when its caller already has them (`run_all` reads them once).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, calendar: WorkingCalendar,
                 settings: JobSettings | None = None, notify: Callable[[], None] = lambda: None,
                 before: Callable[[datetime], Awaitable[Any]] | None = None, *, lifecycle: Lifecycle) -> None:
        self.sessions = sessions
        self.directory = directory
        self.calendar = calendar
        self.settings = settings or JobSettings()
        self.notify = notify
        # Run before every full sweep: reloads the calendar overrides another process may have written.
        self.before = before
        # Names places and speaks each person's language the same way as every other notice.
        self.lifecycle = lifecycle

    def _staff_t(self, member: StaffMember) -> Translator:
        return translator(member.locale or self.lifecycle.default_locale)

    async def _members(self, members: list[StaffMember] | None) -> list[StaffMember]:
        if members is not None:
            return members
        async with self.sessions() as session:
            return await active_members(session)

    async def _candidates(self, *conditions: Any) -> list[Due]:
        """Open requests matching `conditions` (read only; rows are re-checked under lock)."""
        async with self.sessions() as session:
            rows = await session.execute(select(*DUE_COLUMNS).where(tables.Request.status.in_(OPEN), *conditions))
            # Sorted here, not in SQL: an ORDER BY id makes SQLite walk the whole table in id order instead of
            # searching the sweep's index for the few rows that are due.
            return sorted((Due(*row) for row in rows), key=lambda due: due.id)

    async def _tell_planned(self, kind: str, planned: Sequence[tuple[Due, str, list[StaffMember]]],
                            now: datetime, build: StaffNotice, build_many: StaffBatch,
                            mark: Callable[[Due], dict[str, Any]] | None = None) -> int:
        """Send `kind` notices of the planned (request, key suffix, recipients) not in the ledger yet: to each
        recipient, one transaction that locks their requests, keeps those still open with the due date planned,
        claims them and queues one notice each, or one list (`build_many`) when they are more than
        `BATCH_FROM - 1` (a first sweep over a backlog must not send a coordinator thousands of messages).
        Then `mark` gives the columns that record on each planned row that it is done, set in bulk while the row
        is still open with the due date planned, so that the next sweep does not read it again; after a crash
        before marking, the next sweep finds the ledger full and only marks."""
        async with self.sessions() as session:
            done = await sent_keys(session, [self._key(kind, r.id, m, suffix)
                                             for r, suffix, ms in planned for m in ms])
        todo: dict[tuple[int, int | None], tuple[StaffMember, list[tuple[Due, str]]]] = {}
        for request, suffix, recipients in planned:
            for member in recipients:
                if self._key(kind, request.id, member, suffix) not in done:
                    todo.setdefault((member.id, member.identity_id), (member, []))[1].append((request, suffix))
        sent = 0
        for member, items in todo.values():
            async with self.sessions() as session, session.begin():
                live = await self._still_planned(session, items)
                claims = [(self._key(kind, r.id, member, suffix), r.id, member.identity_id) for r, suffix in live]
                claimed = await claim_many(session, claims, kind, now)
                told = [r for r, suffix in live if self._key(kind, r.id, member, suffix) in claimed]
                t = self._staff_t(member)
                messages = [build(r, t) for r in told] if len(told) < BATCH_FROM else [build_many(told, t)]
                for message in messages:
                    await repos.enqueue(session, member.identity_id, member.channel, message, now)
                sent += len(messages)
            if told:
                log.info("alerts queued kind=%s identity=%s requests=%s messages=%s", kind, member.identity_id,
                         len(told), len(messages))
        if mark is not None:
            settled: dict[tuple[date, tuple[tuple[str, Any], ...]], list[int]] = {}
            for request, _suffix, _recipients in planned:
                settled.setdefault((request.due_on, tuple(sorted(mark(request).items()))), []).append(request.id)
            for (due_on, values), ids in settled.items():
                for start in range(0, len(ids), CHUNK):
                    async with self.sessions() as session, session.begin():
                        await session.execute(update(tables.Request).where(
                            tables.Request.id.in_(ids[start:start + CHUNK]), tables.Request.due_on == due_on,
                            tables.Request.status.in_(OPEN)).values(dict(values)))
        return sent

    @staticmethod
    async def _still_planned(session: AsyncSession, items: Sequence[tuple[Due, str]]) -> list[tuple[Due, str]]:
        """The planned items whose request is still open with the same due date and collectivity (who is told
        depends on both), each row locked, in id order so that two processes never wait on each other in a
        circle."""
        request = tables.Request
        now_at: dict[int, tuple[date, str]] = {}
        ids = sorted({r.id for r, _ in items})
        for start in range(0, len(ids), CHUNK):
            rows = await session.execute(select(request.id, request.due_on, request.collectivity_code).where(
                request.id.in_(ids[start:start + CHUNK]), request.status.in_(OPEN))
                .order_by(request.id).with_for_update())
            now_at.update((row_id, (due_on, code)) for row_id, due_on, code in rows.all())
        return [(r, suffix) for r, suffix in items if now_at.get(r.id) == (r.due_on, r.collectivity_code)]

    async def remind(self, now: datetime, members: list[StaffMember] | None = None) -> int:
        """Clerk reminders `reminder_days` working days before the due date (the nearest missed one only)."""
        days = sorted(set(self.settings.reminder_days))
        if not days or not awake(now):
            return 0
        today = local_today(now)
        # The reminder each due date of the window is at today: the nearest one not yet past (after downtime a
        # "5 days left" on the last day is noise). The step only grows with the due date, so each step is one
        # range of due dates.
        steps: dict[int, list[date]] = {}
        day, horizon = today, self.calendar.add_working_days(today, max(days))
        while day <= horizon:
            step = next((n for n in days if n >= self.calendar.working_days_between(today, day)), None)
            if step is not None:
                steps.setdefault(step, []).append(day)
            day += timedelta(days=1)
        request = tables.Request
        # Not reminded since the due date was set; or reminded at an earlier step than the one due now (a
        # due date moving sets `reminded_step` back to None). Two searches, each on its own index.
        first = [request.reminded_step.is_(None), request.due_on >= today, request.due_on <= horizon]
        found = {row.id: row for row in await self._candidates(request.overdue_at.is_(None), *first)}
        for step, dates in steps.items():
            if step < max(steps):
                later = [request.reminded_step > step, request.due_on >= dates[0], request.due_on <= dates[-1]]
                found.update((row.id, row) for row in await self._candidates(request.overdue_at.is_(None), *later))
        candidates = [found[key] for key in sorted(found)]
        if not candidates:
            return 0
        step_of = {day: step for step, dates in steps.items() for day in dates}
        members = await self._members(members)
        planned = [(row, f"{row.due_on}:{step_of[row.due_on]}", self._handlers(members, row))
                   for row in candidates if row.due_on in step_of]

        def build(row: Due, t: Translator) -> Outbound:
            return notices.staff_reminder(t, row.reference, self.lifecycle.place(row.collectivity_code, t),
                                          row.due_on, self.calendar.working_days_between(today, row.due_on))

        def build_many(rows: Sequence[Due], t: Translator) -> Outbound:
            return notices.staff_reminders(t, [row.reference for row in rows],
                                           max(step_of[row.due_on] for row in rows))

        def mark(row: Due) -> dict[str, Any]:
            return {"reminded_step": step_of.get(row.due_on)}

        return await self._tell_planned("reminder", planned, now, build, build_many, mark)

    async def mark_overdue(self, now: datetime, members: list[StaffMember] | None = None) -> int:
        """Requests past their due day: mark them, alert their handlers, tell the citizen what they can do."""
        if not awake(now):
            return 0
        today = local_today(now)
        candidates = await self._candidates(tables.Request.overdue_at.is_(None), tables.Request.due_on < today)
        if not candidates:
            return 0
        members = await self._members(members)
        planned = [(r, str(r.due_on), self._handlers(members, r)) for r in candidates]

        def build(row: Due, t: Translator) -> Outbound:
            return notices.staff_overdue(t, row.reference, self.lifecycle.place(row.collectivity_code, t), row.due_on)

        def build_many(rows: Sequence[Due], t: Translator) -> Outbound:
            return notices.staff_overdues(t, [row.reference for row in rows])

        # The handlers first, then each request is marked: a crash in between leaves the request to the next
        # sweep, whose ledger knows who was already told.
        sent = await self._tell_planned("overdue", planned, now, build, build_many)
        ids = [request.id for request in candidates]
        for start in range(0, len(ids), MARK_CHUNK):
            async with self.sessions() as session, session.begin():
                rows = await session.scalars(select(tables.Request).where(
                    tables.Request.id.in_(ids[start:start + MARK_CHUNK]), tables.Request.status.in_(OPEN))
                    .order_by(tables.Request.id).with_for_update())
                # Another process may have marked them between our read and the lock.
                due = [row for row in rows if row.overdue_at is None and row.due_on < today]
                for row in due:
                    row.overdue_at = now
                    await self.lifecycle.record(session, row, "overdue", "system:jobs", now,
                                                {"due_on": row.due_on.isoformat()})
                sent += await self._tell_citizens_overdue(session, due, today, now)
            if due:
                log.info("requests overdue references=%s", [row.reference for row in due])
        return sent

    def _citizen_overdue(self, t: Translator, row: tables.Request, today: date) -> Outbound:
        """The citizen's notice: the complaint to the head for access requests, the CDAI after the head, else news."""
        if row.kind == Kind.ACCESS and (until := head_complaint_deadline(
                row.kind, row.status, None, row.due_on, today, self.calendar)) is not None:
            return notices.overdue_access(t, row.reference, row.due_on, until)
        if row.kind == Kind.HEAD_COMPLAINT and (until := cdai_deadline(
                row.kind, row.status, None, row.due_on, today)) is not None:
            return notices.overdue_head_complaint(t, row.reference, row.due_on, until)
        return notices.overdue_feedback(t, row.reference, row.due_on)

    async def _tell_citizens_overdue(self, session: AsyncSession, rows: Sequence[tables.Request], today: date,
                                     now: datetime) -> int:
        """Queue each locked overdue request's notice to its citizen, once (claimed together); how many."""
        identities = {identity.id: identity for identity in await session.scalars(select(tables.Identity).where(
            tables.Identity.id.in_({row.identity_id for row in rows})))} if rows else {}
        told = [row for row in rows if row.identity_id in identities]
        owned = await claim_many(session, [(self._citizen_key(row), row.id, row.identity_id) for row in told],
                                 "overdue_citizen", now)
        for row in told:
            if self._citizen_key(row) in owned:
                identity = identities[row.identity_id]
                await repos.enqueue(session, identity.id, identity.channel,
                                    self._citizen_overdue(translator(row.locale), row, today), now)
        return len(owned)

    @staticmethod
    def _citizen_key(row: tables.Request) -> str:
        return f"overdue_citizen:{row.id}:{row.identity_id}:{row.due_on}"

    async def escalate(self, now: datetime, members: list[StaffMember] | None = None) -> int:
        """Requests `escalation_days` working days past due: alert the coordinators one level up, once."""
        if not awake(now) or self.settings.escalation_days <= 0:
            return 0
        today = local_today(now)
        # The latest due date `escalation_days` working days before today, found with the calendar itself
        # (weekends, holidays, days made working; never later than as many calendar days): every due date up to
        # it qualifies, so the search is exact.
        # Requests already escalated are left out in SQL, so the backlog is not reread each sweep.
        latest = today - timedelta(days=self.settings.escalation_days)
        while self.calendar.working_days_between(latest, today) < self.settings.escalation_days:
            latest -= timedelta(days=1)
        candidates = await self._candidates(tables.Request.escalated_at.is_(None), tables.Request.due_on <= latest)
        if not candidates:
            return 0
        members = await self._members(members)
        planned = [(r, str(r.due_on), one_level_up(members, self.directory, r.collectivity_code))
                   for r in candidates]

        def build(row: Due, t: Translator) -> Outbound:
            return notices.staff_escalation(t, row.reference, self.lifecycle.place(row.collectivity_code, t),
                                            self.calendar.working_days_between(row.due_on, today), row.due_on)

        def build_many(rows: Sequence[Due], t: Translator) -> Outbound:
            return notices.staff_escalations(t, [row.reference for row in rows], self.settings.escalation_days)

        def mark(row: Due) -> dict[str, Any]:
            return {"escalated_at": now}

        return await self._tell_planned("escalation", planned, now, build, build_many, mark)

    async def catch_up_escalations(self, now: datetime, members: list[StaffMember] | None = None) -> int:
        """Tell each coordinator (or admin) once, in one message, of the escalated requests still open that
        `escalate` would send them now but never did: they were linked after the escalation, or became the level
        one up since. Each request told is recorded as escalated to them, under `escalate`'s own key."""
        if not awake(now) or self.settings.escalation_days <= 0:
            return 0
        members = await self._members(members)
        watchers = [m for m in members if m.role in (Role.COORDINATOR, Role.ADMIN)]
        if not watchers:
            return 0
        # One ledger row per member and account marks the catch-up done, so each sweep reads only who is new.
        async with self.sessions() as session:
            done = await sent_keys(session, [self._caught_up_key(m) for m in watchers])
        sent = 0
        for member in (m for m in watchers if self._caught_up_key(m) not in done):
            async with self.sessions() as session, session.begin():
                if not await claim(session, self._caught_up_key(member), "escalation_caught_up", None,
                                   member.identity_id, now):
                    continue  # another process caught this member up
                missed = await self._missed_escalations(session, member, members, now)
                if missed:
                    message = notices.staff_escalations_missed(self._staff_t(member), missed)
                    await repos.enqueue(session, member.identity_id, member.channel, message, now)
                    sent += 1
                log.info("escalations caught up staff=%s identity=%s requests=%s", member.id, member.identity_id,
                         len(missed))
        return sent

    async def _missed_escalations(self, session: AsyncSession, member: StaffMember, members: list[StaffMember],
                                  now: datetime) -> list[str]:
        """References of the escalated open requests in `member`'s scope that escalate would send them, oldest
        due first, each claimed in the ledger for them in this transaction (so neither path sends it again)."""
        request = tables.Request
        codes = scope_codes(member, self.directory)
        scope = [request.collectivity_code.in_(codes)] if codes is not None else []
        rows = (await session.execute(
            select(request.id, request.reference, request.collectivity_code, request.due_on)
            .where(request.status.in_(OPEN), request.escalated_at.is_not(None), *scope)
            .order_by(request.due_on, request.id))).all()
        above: dict[str, bool] = {}
        missed: list[str] = []
        for request_id, reference, code, due_on in rows:
            if code not in above:
                above[code] = any(m.id == member.id for m in one_level_up(members, self.directory, code))
            key = self._key("escalation", request_id, member, str(due_on))  # the key `escalate` uses
            if above[code] and await claim(session, key, "escalation", request_id, member.identity_id, now):
                missed.append(reference)
        return missed

    @staticmethod
    def _caught_up_key(member: StaffMember) -> str:
        return f"escalation_caught_up:{member.id}:{member.identity_id}"

    async def digest(self, now: datetime, members: list[StaffMember] | None = None) -> int:
        """Each coordinator's daily summary from `digest_hour` (Moroccan time), once a day, when there is news."""
        local = now.astimezone(CASABLANCA)
        if local.hour < self.settings.digest_hour or not awake(now):
            return 0
        today = local.date()
        week_end = today + timedelta(days=6)
        since = now - timedelta(days=7)
        coordinators = [m for m in await self._members(members) if m.role is Role.COORDINATOR]
        if not coordinators:
            return 0
        async with self.sessions() as session:
            done = await sent_keys(session, [f"digest:{m.identity_id}:{today}" for m in coordinators])
        sent = 0
        for member in coordinators:
            if f"digest:{member.identity_id}:{today}" in done:
                continue
            async with self.sessions() as session:
                figures = await digest_figures(session, scope_codes(member, self.directory), today, week_end, since)
            if not (figures.overdue or figures.due_soon or figures.answered):
                continue  # nothing to say: no message
            message = notices.staff_digest(self._staff_t(member), today, figures.overdue, figures.overdue_refs,
                                           figures.due_soon, figures.due_soon_refs, figures.answered)
            async with self.sessions() as session, session.begin():
                sent += await send_alert(session, f"digest:{member.identity_id}:{today}", "digest", None,
                                         member.identity_id, member.channel, message, now)
        return sent

    def _handlers(self, members: list[StaffMember], request: Due) -> list[StaffMember]:
        return request_handlers(members, self.directory, request.collectivity_code, request.assigned_staff_id)

    @staticmethod
    def _key(kind: str, request_id: int, member: StaffMember, suffix: str) -> str:
        """The ledger key of one notice: its kind, request, recipient and due date (or day)."""
        return f"{kind}:{request_id}:{member.identity_id}:{suffix}"

    async def run_all(self, now: datetime) -> dict[str, int]:
        """Every sweep once, in order (overdue before escalation); returns notices queued per sweep."""
        if self.before is not None:
            await self.before(now)
        members = await self._members(None)
        counts = {
            "reminders": await self.remind(now, members),
            "overdue": await self.mark_overdue(now, members),
            "escalations": await self.escalate(now, members) + await self.catch_up_escalations(now, members),
            "digests": await self.digest(now, members),
        }
        if any(counts.values()):
            log.info("sweep at %s queued %s", now.isoformat(), counts)
            self.notify()
        return counts

