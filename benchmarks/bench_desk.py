"""Measure the staff desk on this machine: /inbox, a page turn, opening a request, /overdue and /stats, for a
clerk and for a national coordinator, over many requests.

Run with `.venv/bin/python benchmarks/bench_desk.py` (a throwaway SQLite database); set DATABASE_URL to an empty
PostgreSQL database to measure there. BENCH_REQUESTS sets how many requests are seeded (default 5000), spread
over every commune, a tenth of them in the clerk's commune, a third of them overdue.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app import Bab, build
from bot.config import Settings
from bot.domain.requests import numbered_reference
from bot.domain.staff import Role
from bot.flows.spec import Inbound, InboundKind
from bot.services.staff import StaffAdmin
from bot.storage import repos, tables

TETOUAN = "01.571.01.11"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))


class NullSender:
    async def send(self, external_id: str, payload: dict[str, Any]) -> None:
        return None


async def seed(bab: Bab, count: int) -> str:
    """Insert `count` requests in bulk (a third answered, the rest open); returns a reference in the clerk's
    commune."""
    rng = random.Random(7)
    communes = [code for code in bab.directory.codes() if code.count(".") == 3]
    now = bab.clock.now()
    async with bab.sessions() as session, session.begin():
        identity = await repos.identity_for(session, "bench", "citizen", now)
        citizen_id, identity_id = identity.citizen_id, identity.id
    rows: list[dict[str, object]] = []
    reference = ""
    for number in range(count):
        code = TETOUAN if number % 10 == 0 else rng.choice(communes)
        received = now - timedelta(days=rng.randint(0, 60))  # due 28 days later: about a third are overdue
        answered = received + timedelta(days=rng.randint(1, 40)) if number % 3 == 0 else None
        row_reference = numbered_reference(number)
        rows.append({
            "reference": row_reference, "kind": "access", "status": "answered" if answered else "submitted",
            "citizen_id": citizen_id, "identity_id": identity_id, "collectivity_code": code, "locale": "fr",
            "urgent": False, "subject": "Budget", "deadline_rule": "access", "received_at": received,
            "due_on": (received + timedelta(days=28)).date(), "created_at": received, "updated_at": received,
            "answered_at": answered if answered and answered < now else None})
        if code == TETOUAN and not answered:
            reference = row_reference
        if len(rows) == 20_000 or number == count - 1:
            async with bab.sessions() as session, session.begin():
                await session.execute(insert(tables.Request), rows)
            rows.clear()
    return reference


async def staff(bab: Bab, role: Role, scopes: list[str | None], name: str) -> str:
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(role, scopes, name)
    await bab.conversations.handle("bench", name, Inbound(kind=InboundKind.TEXT, text=f"/start {invite.code}"))
    return name


async def timed(bab: Bab, user: str, text: str) -> float:
    started = time.perf_counter()
    await bab.conversations.handle("bench", user, Inbound(kind=InboundKind.TEXT, text=text))
    return time.perf_counter() - started


async def main() -> None:
    count = int(os.environ.get("BENCH_REQUESTS", "5000"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        bab = await build(Settings(data_dir=Path(folder), database_url=url, default_locale="fr"),
                          senders={"bench": NullSender()})
        reference = await seed(bab, count)
        clerk = await staff(bab, Role.CLERK, [TETOUAN], "clerk")
        national = await staff(bab, Role.COORDINATOR, [None], "national")
        print(f"database: {bab.engine.dialect.name}, {count} requests")
        for user in (clerk, national):
            for label, text in (("/inbox", "/inbox"), ("open a request", reference), ("/overdue", "/overdue"),
                                ("/stats", "/stats")):
                times = [await timed(bab, user, text) for _ in range(ROUNDS)]
                print(f"{user:9} {label:15} median {statistics.median(times) * 1000:7.1f} ms, "
                      f"max {max(times) * 1000:7.1f} ms over {ROUNDS}")
        await bab.close()


if __name__ == "__main__":
    asyncio.run(main())
