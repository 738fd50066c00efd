"""One staff message being handled on the desk: who acts, from where, in which transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.deadlines import CASABLANCA
from bot.domain.staff import StaffMember
from bot.flows import desk
from bot.flows.spec import FileRef, Outbound, State
from bot.i18n import Translator
from bot.storage import repos, tables


@dataclass(slots=True)
class DeskTurn:
    """One staff message being handled: who, where, and the transaction to work in."""

    session: AsyncSession
    member: StaffMember
    identity: tables.Identity
    state: State
    now: datetime
    t: Translator
    # Holiday corrections to apply in this turn's transaction once its effects are done: (day, the day it falls
    # on, the same day to confirm it).
    calendar_changes: list[tuple[date, date]] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.astimezone(CASABLANCA).date()

    @property
    def scratch(self) -> dict[str, Any]:
        return self.state.scratch

    async def send(self, text: str, options: tuple[tuple[str, str], ...] = (),
                   files: tuple[FileRef, ...] = ()) -> None:
        """Queue a message to the staff member; buttons are bound to the current state version."""
        message = Outbound(text=text, locale=self.t.locale, options=options,
                           version=self.state.version if options else None, files=files)
        await repos.enqueue(self.session, self.identity.id, self.identity.channel, message, self.now)


def days_left(dt: DeskTurn, due_on: date) -> str:
    """'3 d left', 'due today' or 'late by 2 d', in the member's language."""
    return desk.days_left(dt.t, dt.today, due_on)
