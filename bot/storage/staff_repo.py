"""Queries and writes for staff: invites, linking, scopes, the active members and the audit log.

Functions take a session inside a transaction and never commit. Staff are few (hundreds), so scope
filtering happens in Python over the active members rather than in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.staff import Role, StaffMember
from bot.storage import repos, tables


async def create_invite(session: AsyncSession, role: Role, name: str, scopes: list[str | None], invite_hash: str,
                        expires_at: datetime, now: datetime) -> tables.Staff:
    """A new, not yet linked staff member with a one-time invite (only the code's hash is stored)."""
    staff = tables.Staff(role=role.value, name=name, invite_hash=invite_hash, invite_expires_at=expires_at,
                         created_at=now)
    session.add(staff)
    await session.flush()
    for code in scopes:
        session.add(tables.StaffScope(staff_id=staff.id, collectivity_code=code))
    await session.flush()
    return staff


async def staff_by_invite(session: AsyncSession, invite_hash: str) -> tables.Staff | None:
    """The staff row waiting for this invite, locked for the transaction."""
    return await session.scalar(
        select(tables.Staff).where(tables.Staff.invite_hash == invite_hash).with_for_update()
    )


async def staff_row(session: AsyncSession, staff_id: int) -> tables.Staff | None:
    return await session.get(tables.Staff, staff_id)


async def all_staff(session: AsyncSession) -> list[tuple[tables.Staff, list[str | None]]]:
    """Every staff row (linked, pending or revoked) with its scopes, oldest first."""
    rows = list(await session.scalars(select(tables.Staff).order_by(tables.Staff.id)))
    scopes = await _scopes(session)
    return [(row, scopes.get(row.id, [])) for row in rows]


async def _scopes(session: AsyncSession) -> dict[int, list[str | None]]:
    found: dict[int, list[str | None]] = {}
    for row in await session.scalars(select(tables.StaffScope).order_by(tables.StaffScope.id)):
        found.setdefault(row.staff_id, []).append(row.collectivity_code)
    return found


async def active_members(session: AsyncSession) -> list[StaffMember]:
    """Linked, not revoked staff members with their chat account and language."""
    rows = await session.execute(
        select(tables.Staff, tables.Identity, tables.Citizen)
        .join(tables.Identity, tables.Identity.id == tables.Staff.identity_id)
        .join(tables.Citizen, tables.Citizen.id == tables.Identity.citizen_id)
        .where(tables.Staff.revoked_at.is_(None))
        .order_by(tables.Staff.id)
    )
    scopes = await _scopes(session)
    return [
        StaffMember(id=staff.id, role=Role(staff.role), name=staff.name, identity_id=identity.id,
                    channel=identity.channel, external_id=repos.address_of(identity), locale=citizen.locale,
                    scopes=tuple(scopes.get(staff.id, [])))
        for staff, identity, citizen in rows
    ]


async def member_for_identity(session: AsyncSession, identity_id: int) -> StaffMember | None:
    """The active staff member acting from this chat account, if any (one indexed query for citizens)."""
    staff = await session.scalar(
        select(tables.Staff).where(tables.Staff.identity_id == identity_id, tables.Staff.revoked_at.is_(None))
    )
    if staff is None:
        return None
    return next((m for m in await active_members(session) if m.id == staff.id), None)


async def revoked_for_identity(session: AsyncSession, identity_id: int) -> tables.Staff | None:
    """A revoked staff row that was linked to this chat account (to refuse, and audit, its commands)."""
    return await session.scalar(
        select(tables.Staff).where(tables.Staff.identity_id == identity_id, tables.Staff.revoked_at.is_not(None))
    )


async def collectivities_with_clerks(session: AsyncSession) -> set[str]:
    """Codes that have at least one active, linked clerk: they answer through Bab."""
    return {code for member in await active_members(session) if member.role is Role.CLERK
            for code in member.scopes if code is not None}


async def audit(session: AsyncSession, actor: str, action: str, target: str | None, outcome: str, now: datetime,
                data: dict[str, Any] | None = None) -> None:
    """Record a staff action refused (or otherwise worth keeping); ids only, never message bodies."""
    session.add(tables.AuditEvent(at=now, actor=actor, action=action, target=target, outcome=outcome,
                                  data=data or {}))
