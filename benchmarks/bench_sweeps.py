"""Measure the deadline sweeps as the database grows: they must cost what is due, not what is stored.

Run with `.venv/bin/python benchmarks/bench_sweeps.py` (a throwaway SQLite database per size); set
BENCH_DATABASE_URL to a PostgreSQL database to measure there (its public schema is dropped before each size, so
never point it at one that matters). BENCH_SWEEP_SIZES sets the sizes (default "10000,100000,1000000").

At each size the open requests are spread like a real backlog: most are due in the weeks ahead, a tenth are
already overdue (marked), and 1,000 fell due yesterday (the sweep's work); another tenth of the size is closed
history. Each sweep runs twice: the first marks the 1,000 and queues their notices, the second finds nothing new
(the sweeps are idempotent). The figures are each sweep's wall time, and the query plan of the sweeps' searches.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.app import Bab, build  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.directory import Directory, read_aliases, read_collectivities  # noqa: E402
from bot.domain.requests import numbered_reference  # noqa: E402
from bot.services.clock import FixedClock  # noqa: E402
from bot.storage import repos, tables  # noqa: E402
from bot.storage.db import reset_schema  # noqa: E402

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Morocco
TODAY = date(2026, 11, 17)
DUE = 1000
CHUNK = 20_000

# The searches the sweeps make, for EXPLAIN (the statuses of OPEN, the dates of NOW).
SEARCHES = {
    "overdue (mark)": "SELECT id FROM requests WHERE status IN ('submitted', 'acknowledged', 'in_progress', "
                      "'clarification', 'extended', 'transferred') AND overdue_at IS NULL AND due_on < '2026-11-17'",
    "reminders": "SELECT id FROM requests WHERE status IN ('submitted', 'acknowledged', 'in_progress', "
                 "'clarification', 'extended', 'transferred') AND overdue_at IS NULL AND reminded_step IS NULL "
                 "AND due_on >= '2026-11-17' AND due_on <= '2026-11-24'",
    "reminders (next step)": "SELECT id FROM requests WHERE status IN ('submitted', 'acknowledged', "
                             "'in_progress', 'clarification', 'extended', 'transferred') AND overdue_at IS NULL "
                             "AND reminded_step > 1 AND due_on >= '2026-11-17' AND due_on <= '2026-11-18'",
    "escalation": "SELECT id FROM requests WHERE status IN ('submitted', 'acknowledged', 'in_progress', "
                  "'clarification', 'extended', 'transferred') AND escalated_at IS NULL AND due_on <= '2026-10-22'",
    "digest (answered)": "SELECT id FROM requests WHERE answered_at >= '2026-11-10 09:00:00'",
}


async def seed(bab: Bab, size: int) -> None:
    """`size` open requests (1,000 due yesterday, a tenth overdue already, the rest ahead) and size/10 closed."""
    rng = random.Random(size)
    communes = [code for code in bab.directory.codes() if code.count(".") == 3]
    async with bab.sessions() as session, session.begin():
        identity = await repos.identity_for(session, "bench", "citizen", NOW)
        citizen_id, identity_id = identity.citizen_id, identity.id
    rows: list[dict[str, object]] = []
    total = size + size // 10

    async def flush() -> None:
        async with bab.sessions() as session, session.begin():
            await session.execute(insert(tables.Request), rows)
        rows.clear()

    for number in range(total):
        if number < DUE:
            due, status, overdue_at, answered_at = TODAY - timedelta(days=1), "acknowledged", None, None
        elif number < size // 10:
            due, status = TODAY - timedelta(days=rng.randint(2, 400)), "in_progress"
            overdue_at, answered_at = NOW - timedelta(days=1), None
        elif number < size:
            due, status, overdue_at, answered_at = TODAY + timedelta(days=rng.randint(0, 40)), "submitted", None, None
        else:
            due, status = TODAY - timedelta(days=rng.randint(1, 1000)), "answered"
            overdue_at, answered_at = None, NOW - timedelta(days=rng.randint(1, 1000))
        received = datetime.combine(due - timedelta(days=28), datetime.min.time(), UTC)
        rows.append({
            "reference": numbered_reference(number), "kind": "access", "status": status, "citizen_id": citizen_id,
            "identity_id": identity_id, "collectivity_code": rng.choice(communes), "locale": "fr", "urgent": False,
            "subject": "Budget", "deadline_rule": "access", "received_at": received, "due_on": due,
            "created_at": received, "updated_at": received, "overdue_at": overdue_at, "answered_at": answered_at,
        })
        if len(rows) >= CHUNK:
            await flush()
    if rows:
        await flush()
    async with bab.sessions() as session, session.begin():
        await session.execute(text("ANALYZE"))


async def plans(engine: AsyncEngine) -> dict[str, str]:
    """Each search's query plan, on one line."""
    found: dict[str, str] = {}
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    async with engine.connect() as connection:
        for name, query in SEARCHES.items():
            result = await connection.execute(text(explain + query))
            lines = [str(row[-1]) for row in result]
            found[name] = " | ".join(line.strip() for line in lines)
    return found


async def measure(folder: Path, directory: Directory, size: int) -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        await reset_schema(url)
    else:
        url = f"sqlite+aiosqlite:///{folder / f'sweeps-{size}.sqlite3'}"
    bab = await build(Settings(data_dir=folder, database_url=url, default_locale="fr", scheduler=False),
                      clock=FixedClock(NOW), directory=directory)
    try:
        started = time.perf_counter()
        await seed(bab, size)
        seeded = time.perf_counter() - started
        figures = []
        for run in ("first", "again"):
            started = time.perf_counter()
            counts = await bab.jobs.run_all(NOW)
            figures.append(f"{run} {time.perf_counter() - started:.3f} s ({sum(counts.values())} notices)")
        # The searches alone, as the sweeps make them on a quiet day (nothing new to mark), sweep by sweep.
        jobs = bab.jobs
        sweeps = {"reminders": jobs.remind, "overdue": jobs.mark_overdue, "escalations": jobs.escalate,
                  "digests": jobs.digest}
        quiet: dict[str, list[float]] = {name: [] for name in sweeps}
        for _ in range(10):
            for name, sweep in sweeps.items():
                started = time.perf_counter()
                await sweep(NOW, [])
                quiet[name].append(time.perf_counter() - started)
        medians = {name: statistics.median(times) * 1000 for name, times in quiet.items()}
        print(f"{size:>9,} open requests (+{size // 10:,} closed; seeded in {seeded:.0f} s): run_all "
              f"{', '.join(figures)}; a quiet sweep {sum(medians.values()):.1f} ms ("
              + ", ".join(f"{name} {value:.1f}" for name, value in medians.items()) + ")")
        for name, plan in (await plans(bab.engine)).items():
            print(f"    {name}: {plan}")
    finally:
        await bab.close()


async def main() -> None:
    sizes = [int(size) for size in os.environ.get("BENCH_SWEEP_SIZES", "10000,100000,1000000").split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{'PostgreSQL' if os.environ.get('BENCH_DATABASE_URL') else 'SQLite'}; {DUE} requests due each time")
    directory = Directory(read_collectivities(), read_aliases())
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            await measure(Path(folder), directory, size)


if __name__ == "__main__":
    asyncio.run(main())
