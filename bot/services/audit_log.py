"""The audit log for an inspection: staff views of personal details and refused actions, as CSV.

Rows hold ids, references and outcomes only (never a name, card number or text): the CSV can be handed to an
inspector as it is. Cells a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import tables

COLUMNS = ("at", "actor", "action", "target", "outcome", "data")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 100_000


def cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def events(session: AsyncSession, since: datetime, until: datetime | None = None,
                 codes: set[str] | None = None) -> list[tables.AuditEvent]:
    """Audit events from `since` (to `until`), oldest first; with `codes`, only those on requests there."""
    audit = tables.AuditEvent
    query = select(audit).where(audit.at >= since, *([audit.at < until] if until is not None else []))
    if codes is not None:
        query = query.join(tables.Request, tables.Request.reference == audit.target).where(
            tables.Request.collectivity_code.in_(codes))
    return list(await session.scalars(query.order_by(audit.id).limit(MAX_ROWS)))


def to_csv(rows: list[tables.AuditEvent]) -> str:
    """The events as CSV text, with a header line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.at.isoformat(), cell(row.actor), cell(row.action), cell(row.target), cell(row.outcome),
                         cell(json.dumps(row.data, sort_keys=True, ensure_ascii=False))])
    return out.getvalue()
