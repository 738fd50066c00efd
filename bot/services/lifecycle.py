"""Request state changes with their event log and notices, shared by the staff desk and the citizen side.

Every change goes through the transition table (`bot.domain.lifecycle`) and is logged with its actor in the
caller's transaction; notices go to the outbox in the same transaction, so nothing is told that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import RULES, Rule
from bot.domain.directory import Directory
from bot.domain.lifecycle import Action, next_status
from bot.domain.staff import StaffMember
from bot.flows.places import local_name
from bot.flows.spec import Outbound
from bot.i18n import Translator, translator
from bot.storage import repos, tables

log = logging.getLogger(__name__)


class Lifecycle:
    """Applies lifecycle actions to request rows and tells the people concerned."""

    def __init__(self, directory: Directory, calendar: WorkingCalendar, default_locale: str,
                 rules: Mapping[str, Rule] = RULES) -> None:
        self.directory = directory
        self.calendar = calendar
        self.default_locale = default_locale
        self.rules = rules

    async def apply(self, session: AsyncSession, request: tables.Request, action: Action, actor: str,
                    now: datetime, data: dict[str, Any] | None = None) -> None:
        """Move the request through the table (InvalidTransition if not allowed) and log the event."""
        before = request.status
        request.status = next_status(request.kind, request.status, action).value
        request.updated_at = now
        await repos.append_event(session, request.id, action.value, actor, now,
                                 {"from": before, "to": request.status, **(data or {})})
        log.info("request %s reference=%s %s -> %s by %s", action.value, request.reference, before,
                 request.status, actor)

    async def record(self, session: AsyncSession, request: tables.Request, kind: str, actor: str, now: datetime,
                     data: dict[str, Any] | None = None) -> None:
        """Log an event that does not change the status (a note, an assignment)."""
        request.updated_at = now
        await repos.append_event(session, request.id, kind, actor, now, data)

    def place(self, code: str, t: Translator) -> str:
        """The collectivity's name in the reader's language."""
        found = self.directory.get(code)
        return local_name(found, t) if found else code

    async def tell_citizen(self, session: AsyncSession, request: tables.Request, now: datetime,
                           build: Callable[[Translator], Outbound]) -> None:
        """Queue a notice to the citizen who filed the request, on that channel, in the request's language."""
        identity = await session.get(tables.Identity, request.identity_id)
        if identity is not None:
            await repos.enqueue(session, identity.id, identity.channel, build(translator(request.locale)), now)

    async def tell_staff(self, session: AsyncSession, members: list[StaffMember], now: datetime,
                         build: Callable[[Translator], Outbound], skip: int | None = None) -> None:
        """Queue a notice to each staff member (but `skip`, the one who acted), in their language."""
        for member in members:
            if member.id != skip:
                t = translator(member.locale or self.default_locale)
                await repos.enqueue(session, member.identity_id, member.channel, build(t), now)
