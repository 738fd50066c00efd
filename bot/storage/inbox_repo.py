"""Queries behind the staff inbox and the coordinators' reports. Functions never commit.

`codes` arguments restrict to those collectivities; None means the whole country.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.requests import OPEN_STATUSES
from bot.storage import tables

R = tables.Request
OPEN = [status.value for status in OPEN_STATUSES]


def _in(codes: set[str] | None) -> ColumnElement[bool]:
    return true() if codes is None else R.collectivity_code.in_(sorted(codes))


def inbox_filter(name: str, *, scope: set[str] | None, mine: set[str] | None, staff_id: int,
                 today: date) -> ColumnElement[bool]:
    """The WHERE clause of an inbox filter: 'open' (what is mine to handle), overdue, mine, unassigned, all."""
    is_open = R.status.in_(OPEN)
    if name == "overdue":
        return and_(is_open, R.due_on < today, _in(scope))
    if name == "mine":
        return and_(is_open, R.assigned_staff_id == staff_id)
    if name == "unassigned":
        return and_(is_open, R.assigned_staff_id.is_(None), _in(mine))
    if name == "all":
        return and_(is_open, _in(scope))
    return and_(is_open, or_(_in(mine), R.assigned_staff_id == staff_id))


async def inbox_page(session: AsyncSession, where: ColumnElement[bool], offset: int,
                     limit: int) -> tuple[list[tables.Request], int]:
    """One page of requests, most urgent first (earliest due date, so overdue ones lead), and the total."""
    total = int(await session.scalar(select(func.count()).select_from(R).where(where)) or 0)
    rows = await session.scalars(select(R).where(where).order_by(R.due_on, R.id).offset(offset).limit(limit))
    return list(rows), total


async def history(session: AsyncSession, request_id: int, limit: int = 12) -> list[tables.RequestEvent]:
    """The request's latest events, oldest first."""
    rows = await session.scalars(
        select(tables.RequestEvent).where(tables.RequestEvent.request_id == request_id)
        .order_by(tables.RequestEvent.id.desc()).limit(limit)
    )
    return list(reversed(list(rows)))


async def attachments_of(session: AsyncSession, request_id: int) -> list[tables.Attachment]:
    """Files the citizen sent with the request."""
    rows = await session.scalars(
        select(tables.Attachment).where(tables.Attachment.request_id == request_id).order_by(tables.Attachment.id)
    )
    return list(rows)


async def attachments_by_id(session: AsyncSession, ids: list[int], identity_id: int) -> list[tables.Attachment]:
    """The identity's own attachments among `ids` (a forged id of someone else's file finds nothing)."""
    if not ids:
        return []
    rows = await session.scalars(
        select(tables.Attachment)
        .where(tables.Attachment.id.in_(ids), tables.Attachment.identity_id == identity_id)
        .order_by(tables.Attachment.id)
    )
    return list(rows)


async def overdue_counts(session: AsyncSession, codes: set[str] | None, today: date,
                         places: int) -> tuple[int, list[tuple[str, int]]]:
    """How many open requests are past their due date in scope, and the `places` collectivities with the most."""
    where = and_(R.status.in_(OPEN), R.due_on < today, _in(codes))
    total = int(await session.scalar(select(func.count()).select_from(R).where(where)) or 0)
    count = func.count().label("count")
    rows = await session.execute(select(R.collectivity_code, count).where(where).group_by(R.collectivity_code)
                                 .order_by(count.desc(), R.collectivity_code).limit(places))
    return total, [(str(code), int(n)) for code, n in rows]


async def overdue_rows(session: AsyncSession, codes: set[str] | None, today: date,
                       limit: int) -> list[tables.Request]:
    """The open requests longest past their due date in scope, at most `limit`."""
    rows = await session.scalars(select(R).where(R.status.in_(OPEN), R.due_on < today, _in(codes))
                                 .order_by(R.due_on, R.id).limit(limit))
    return list(rows)


async def has_child_complaint(session: AsyncSession, request_id: int) -> bool:
    """True when a complaint to the head was already filed about this request."""
    found = await session.scalar(select(R.id).where(R.parent_id == request_id, R.kind == "head_complaint"))
    return found is not None
