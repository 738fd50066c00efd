"""Who may act on which request: staff roles and scopes over the collectivity hierarchy. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.directory import Directory


class Role(StrEnum):
    CLERK = "clerk"  # answers the requests of the collectivities in its scope, exactly those
    COORDINATOR = "coordinator"  # oversees a collectivity, province, region or the country, and what lies below
    ADMIN = "admin"  # everything, everywhere


@dataclass(frozen=True, slots=True)
class StaffMember:
    """An active staff member and the chat account they act from; a scope of None means the whole country."""

    id: int
    role: Role
    name: str
    identity_id: int
    channel: str
    external_id: str
    locale: str | None
    scopes: tuple[str | None, ...]

    @property
    def actor(self) -> str:
        """How the member appears in event logs."""
        return f"staff:{self.id}"

    @property
    def national(self) -> bool:
        return self.role is Role.ADMIN or None in self.scopes


def chain(directory: Directory, code: str) -> list[str]:
    """The collectivity and its ancestors, nearest first (commune, province, region)."""
    codes: list[str] = []
    place = directory.get(code)
    while place is not None and place.code not in codes:
        codes.append(place.code)
        place = directory.parent(place)
    return codes or [code]


def covers(member: StaffMember, directory: Directory, code: str) -> bool:
    """True when the member may see and act on requests to collectivity `code`."""
    if member.national:
        return True
    if member.role is Role.CLERK:
        return code in member.scopes
    return any(scope in member.scopes for scope in chain(directory, code))


def responsible_coordinators(members: list[StaffMember], directory: Directory, code: str) -> list[StaffMember]:
    """The coordinators who take a request with no clerk: the nearest level that has any (else national)."""
    coordinators = [m for m in members if m.role is Role.COORDINATOR]
    for level_code in chain(directory, code):
        found = [m for m in coordinators if level_code in m.scopes]
        if found:
            return found
    national = [m for m in coordinators if None in m.scopes]
    return national or [m for m in members if m.role is Role.ADMIN]


def one_level_up(members: list[StaffMember], directory: Directory, code: str) -> list[StaffMember]:
    """Coordinators above the nearest responsible level, for escalating very overdue requests."""
    nearest = {m.id for m in responsible_coordinators(members, directory, code)}
    levels = chain(directory, code)
    coordinators = [m for m in members if m.role is Role.COORDINATOR and m.id not in nearest]
    start = next((i for i, level in enumerate(levels) if any(level in m.scopes for m in members
                                                             if m.id in nearest)), -1)
    for level_code in levels[start + 1:] if start >= 0 else []:
        found = [m for m in coordinators if level_code in m.scopes]
        if found:
            return found
    national = [m for m in coordinators if None in m.scopes]
    return national or [m for m in members if m.role is Role.ADMIN and m.id not in nearest]


def handlers_of(members: list[StaffMember], directory: Directory, code: str) -> list[StaffMember]:
    """Who is told of a new or transferred request: the collectivity's clerks, else its coordinators."""
    clerks = [m for m in members if m.role is Role.CLERK and code in m.scopes]
    return clerks or responsible_coordinators(members, directory, code)


def request_handlers(members: list[StaffMember], directory: Directory, code: str,
                     assigned_staff_id: int | None) -> list[StaffMember]:
    """Who handles one request: the member it is assigned to while still active, else `handlers_of` its place."""
    assigned = [m for m in members if assigned_staff_id is not None and m.id == assigned_staff_id]
    return assigned or handlers_of(members, directory, code)


def scope_codes(member: StaffMember, directory: Directory) -> set[str] | None:
    """Every collectivity code the member covers; None when it is the whole country."""
    if member.national:
        return None
    if member.role is Role.CLERK:
        return {code for code in member.scopes if code is not None}
    return {code for code in directory.codes() if covers(member, directory, code)}
