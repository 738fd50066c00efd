"""What the staff desk knows at each turn: the views the service loads from the database, as plain values.

The service loads a `DeskData` before the engine decides (the request the member is working on, the requests the
message names, who can be assigned, the holidays a coordinator may correct) and again after the turn's commands
ran, with the page the new step shows (an inbox page, a request card, a report). Decisions (`bot.flows.desk`)
and renderings (`bot.flows.desk_render`) read these values and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.domain.values import FileRef


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One request on an inbox page."""

    reference: str
    urgent: bool
    kind: str
    place: str  # the collectivity's code
    due_on: date
    status: str


@dataclass(frozen=True, slots=True)
class InboxView:
    """One page of the inbox under one filter, as the service loaded it for the member."""

    filter: str
    page: int
    total: int
    rows: tuple[InboxRow, ...]
    filters: tuple[str, ...]  # the filters the member's role offers
    today: date


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One event of a request's history."""

    at: datetime
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class RequestCard:
    """Everything a clerk needs to answer one request, and the actions open to them now."""

    reference: str
    kind: str
    urgent: bool
    place: str  # the collectivity's code
    status: str
    received_on: date
    due_on: date
    today: date
    assignee: str | None
    subject: str
    delivery: str | None = None
    requester_name: str | None = None
    id_number: str | None = None
    contact: str | None = None
    lat: float | None = None
    lon: float | None = None
    parent_reference: str | None = None
    history: tuple[HistoryLine, ...] = ()
    files: tuple[FileRef, ...] = ()
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Clerk:
    """Someone a request can be assigned to."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class OverdueGroup:
    """One collectivity's overdue requests: how many, and the longest overdue of them."""

    place: str  # the collectivity's code
    count: int
    rows: tuple[InboxRow, ...]


@dataclass(frozen=True, slots=True)
class OverdueView:
    """The overdue requests in the member's scope: how many, the collectivities with the most (busiest first),
    and the longest overdue of all, which get a button."""

    total: int
    groups: tuple[OverdueGroup, ...]
    first: tuple[InboxRow, ...]
    today: date


@dataclass(frozen=True, slots=True)
class StatsRow:
    """The figures of one collectivity (`code` empty: all of the member's scope together)."""

    code: str
    received: int
    answered: int
    refused: int
    overdue: int
    median_days: float | None  # working days from receipt to decision, over the decided requests
    on_time_percent: int | None  # share of the decided requests answered by their due date


@dataclass(frozen=True, slots=True)
class StatsView:
    """Figures for the member's scope and its busiest collectivities; `more` counts the ones left out; `as_of`
    is when they were counted (they are the transparency page's figures, cached)."""

    rows: tuple[StatsRow, ...]
    more: int = 0
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class CalendarView:
    """The estimated holidays ahead a national coordinator may confirm or move (first day, name)."""

    national: bool
    upcoming: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditExport:
    """The audit log exported for a coordinator: how many events, and the CSV file (None when not allowed)."""

    allowed: bool
    count: int = 0
    file: FileRef | None = None


Page = InboxView | RequestCard | OverdueView | StatsView | CalendarView | AuditExport


@dataclass(frozen=True, slots=True)
class DeskData:
    """What the service loaded for one staff turn; `cards` maps each reference it looked up to its card, or to None
    when the request does not exist or is outside the member's scope (the two look the same, on purpose)."""

    member_id: int
    member_name: str
    role: str
    national: bool
    today: date
    filters: tuple[str, ...]
    cards: Mapping[str, RequestCard | None] = field(default_factory=dict)
    clerks: tuple[Clerk, ...] = ()
    calendar: CalendarView | None = None
    page: Page | None = None  # what the step shows, loaded after the turn's commands ran

    def card(self, reference: object) -> RequestCard | None:
        """The card of a reference the service looked up (None when unknown, out of scope or not loaded)."""
        return self.cards.get(str(reference or ""))
