"""Rows for the job tests, inserted with the ORM: citizens, staff with scopes, requests with computed due dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import RULES, request_due
from bot.storage import repos, tables

COMMUNE = "03.231.01.0"  # Fès (commune) …
PROVINCE = "03.231"  # … in the prefecture of Fès …
REGION = "03"  # … in the region Fès-Meknès
OTHER_COMMUNE = "03.231.01.03"  # Méchouar-Fès-El Jadid, same prefecture


async def citizen(session: AsyncSession, name: str, now: datetime, locale: str = "ary") -> tables.Identity:
    """A citizen's chat identity on the test channel."""
    identity = await repos.identity_for(session, "test", name, now, locale=locale)
    await session.flush()
    return identity


async def staff(session: AsyncSession, name: str, role: str, scopes: list[str | None], now: datetime,
                locale: str = "fr") -> tables.Staff:
    """An active, linked staff member with its chat identity and scopes."""
    identity = await repos.identity_for(session, "test", f"staff-{name}", now, locale=locale)
    row = tables.Staff(role=role, name=name, identity_id=identity.id, created_at=now, linked_at=now)
    session.add(row)
    await session.flush()
    for code in scopes:
        session.add(tables.StaffScope(staff_id=row.id, collectivity_code=code))
    await session.flush()
    return row


_counter = 0


async def request(session: AsyncSession, identity: tables.Identity, received_at: datetime, calendar: WorkingCalendar,
                  *, kind: str = "access", rule: str = "access", code: str = COMMUNE, locale: str = "ary",
                  status: str = "submitted", extended_at: datetime | None = None, **extra: Any) -> tables.Request:
    """A request as the core files it, due date computed from `rule` (and the extension when extended)."""
    global _counter
    _counter += 1
    due = request_due(rule, received_at, calendar, RULES, extended=extended_at is not None)
    row = tables.Request(
        reference=f"BAB-T{_counter:05d}"[:10], kind=kind, status=status, citizen_id=identity.citizen_id,
        identity_id=identity.id, collectivity_code=code, locale=locale, urgent=rule.startswith("urgent"),
        subject="test subject", deadline_rule=rule, received_at=received_at, due_on=due.due,
        created_at=received_at, updated_at=received_at, extended_at=extended_at, **extra)
    session.add(row)
    await session.flush()
    return row


async def outbox(session: AsyncSession, identity_id: int | None = None) -> list[tables.OutboxMessage]:
    """Queued messages (to one identity, or all), oldest first."""
    query = select(tables.OutboxMessage).order_by(tables.OutboxMessage.id)
    if identity_id is not None:
        query = query.where(tables.OutboxMessage.identity_id == identity_id)
    return list(await session.scalars(query))


async def count(session: AsyncSession, table: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)
