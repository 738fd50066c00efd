"""Staff accounts: one-time invites, linking a chat account, listing and revoking. Channel-agnostic.

An invite code is shown once (`bab staff invite`) and only its SHA-256 is stored; the staff member sends it
from their chat account (Telegram deep link `/start <code>`, or typed in any channel) to link that account.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.directory import Directory
from bot.domain.staff import Role
from bot.services.clock import Clock
from bot.storage import staff_repo, tables

log = logging.getLogger(__name__)

INVITE_DAYS = 7
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: the code may be read out or typed by hand
INVITE_RE = re.compile(r"^\s*(?:/start\s+)?(staff-[a-z2-9]{16})\s*$", re.IGNORECASE)


def new_invite_code() -> str:
    """A fresh code like 'staff-k3m9…' (16 characters, about 80 bits); fits a Telegram deep link."""
    return "staff-" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def invite_code_in(text: str) -> str | None:
    """The invite code a message carries ('/start <code>' or the code alone), lower-cased, or None."""
    match = INVITE_RE.match(text or "")
    return match.group(1).lower() if match else None


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Invite:
    staff_id: int
    code: str
    expires_at: datetime


def check_scopes(role: Role, scopes: list[str | None], directory: Directory) -> None:
    """Refuse scopes that do not fit the role (ValueError with a message for the command line)."""
    unknown = [code for code in scopes if code is not None and directory.get(code) is None]
    if unknown:
        raise ValueError(f"unknown collectivity code(s): {', '.join(str(code) for code in unknown)}")
    if role is Role.CLERK and (not scopes or None in scopes):
        raise ValueError("a clerk needs one or more --collectivity codes")
    if role is Role.COORDINATOR and len(scopes) != 1:
        raise ValueError("a coordinator needs exactly one scope: --collectivity CODE or --national")


class StaffAdmin:
    """The `bab staff` commands."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], directory: Directory, clock: Clock) -> None:
        self.sessions = sessions
        self.directory = directory
        self.clock = clock

    async def invite(self, role: Role, scopes: list[str | None], name: str) -> Invite:
        """Create a staff member waiting to be linked, and return the one-time code (never stored in clear)."""
        check_scopes(role, scopes, self.directory)
        now = self.clock.now()
        code = new_invite_code()
        expires = now + timedelta(days=INVITE_DAYS)
        async with self.sessions() as session, session.begin():
            staff = await staff_repo.create_invite(session, role, name, [] if role is Role.ADMIN else scopes,
                                                   hash_code(code), expires, now)
        log.info("staff invited id=%s role=%s", staff.id, role.value)
        return Invite(staff.id, code, expires)

    async def list(self) -> list[tuple[tables.Staff, list[str | None], str | None]]:
        """Every staff member with scopes and the channel of their linked account."""
        async with self.sessions() as session:
            found = []
            for staff, scopes in await staff_repo.all_staff(session):
                identity = await session.get(tables.Identity, staff.identity_id) if staff.identity_id else None
                found.append((staff, scopes, identity.channel if identity else None))
            return found

    async def revoke(self, staff_id: int) -> bool:
        """Revoke a member: their account can no longer act; their open assignments go back to the pool."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            staff = await staff_repo.staff_row(session, staff_id)
            if staff is None or staff.revoked_at is not None:
                return False
            staff.revoked_at, staff.invite_hash = now, None
            for request in await session.scalars(
                select(tables.Request).where(tables.Request.assigned_staff_id == staff_id)
            ):
                request.assigned_staff_id = None
            await refresh_on_bab(session)
            await staff_repo.audit(session, "admin", "revoke", f"staff:{staff_id}", "done", now)
        log.info("staff revoked id=%s", staff_id)
        return True


async def link(session: AsyncSession, identity: tables.Identity, code: str, now: datetime) -> tables.Staff | None:
    """Link the chat account to the staff member invited with `code`; None when unknown, used or expired."""
    staff = await staff_repo.staff_by_invite(session, hash_code(code))
    if staff is None or staff.revoked_at is not None or (staff.invite_expires_at and staff.invite_expires_at < now):
        await staff_repo.audit(session, f"identity:{identity.id}", "link", None, "denied", now)
        return None
    previous = await session.scalar(select(tables.Staff).where(tables.Staff.identity_id == identity.id))
    if previous is not None and previous.id != staff.id:
        # One account acts as one staff member: the newer invite replaces the older link.
        previous.identity_id = None
        previous.revoked_at = previous.revoked_at or now
        await session.flush()
    staff.identity_id, staff.linked_at, staff.invite_hash, staff.invite_expires_at = identity.id, now, None, None
    await session.flush()
    await refresh_on_bab(session)
    await staff_repo.audit(session, f"staff:{staff.id}", "link", f"identity:{identity.id}", "done", now)
    log.info("staff linked id=%s identity=%s", staff.id, identity.id)
    return staff


async def refresh_on_bab(session: AsyncSession) -> None:
    """Mark the collectivities that have an active, linked clerk (they answer through Bab), and only those."""
    with_clerks = await staff_repo.collectivities_with_clerks(session)
    for row in await session.scalars(select(tables.Collectivity).where(tables.Collectivity.on_bab.is_(True))):
        if row.code not in with_clerks:
            row.on_bab = False
    for code in with_clerks:
        place = await session.get(tables.Collectivity, code)
        if place is not None:
            place.on_bab = True
