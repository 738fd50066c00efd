"""Measure the public transparency page over many requests: the figures computed once from the requests and
their event log (cold), then the page, a region's page and the CSV served from the cache, over real HTTP; then a
worker started anew on the same database, whose first page comes from the figures stored there.

Run with `.venv/bin/python benchmarks/bench_transparency.py` (a throwaway SQLite database). BENCH_REQUESTS sets
how many requests are inserted (default 1,000,000), with bulk SQL: spread over every commune and a year, six in
ten decided (one of them refused), each with its "submitted" event and its decision in the event log.
BENCH_EXPORT=1 also times the anonymous export of every request.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from aiohttp import ClientSession, web
from sqlalchemy import text

from bot.app import build, web_app
from bot.config import Settings
from bot.services.clock import FixedClock

ROUNDS = 30
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


async def seed(settings: Settings, count: int) -> float:
    """Insert `count` requests and their events with INSERT … SELECT; returns the seconds it took."""
    bab = await build(settings, clock=FixedClock(NOW))
    started = time.perf_counter()
    communes = [code for code in bab.directory.codes() if bab.directory.get(code).level == "commune"]  # type: ignore[union-attr]
    async with bab.engine.begin() as connection:
        await connection.execute(text("INSERT INTO citizens (id, locale, created_at) VALUES "
                                      "(1, 'fr', '2025-01-01 00:00:00.000000')"))
        await connection.execute(text(
            "INSERT INTO identities (id, citizen_id, channel, external_id, unreachable, created_at, last_seen_at) "
            "VALUES (1, 1, 'bench', 'bench', 0, '2025-01-01 00:00:00.000000', '2025-01-01 00:00:00.000000')"))
        await connection.execute(text("CREATE TEMP TABLE codes (idx INTEGER PRIMARY KEY, code TEXT)"))
        await connection.execute(text("INSERT INTO codes (idx, code) VALUES (:idx, :code)"),
                                 [{"idx": i, "code": code} for i, code in enumerate(communes)])
        await connection.execute(text(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
            INSERT INTO requests (id, reference, kind, status, citizen_id, identity_id, collectivity_code, locale,
                                  urgent, subject, deadline_rule, received_at, due_on, created_at, updated_at)
            SELECT i, printf('BAB-%08d', i), CASE WHEN i % 4 = 0 THEN 'complaint' ELSE 'access' END,
                   CASE WHEN i % 10 < 5 THEN 'answered' WHEN i % 10 = 5 THEN 'refused' ELSE 'submitted' END,
                   1, 1, (SELECT code FROM codes WHERE idx = (i * 7919) % :communes), 'fr', 0, '', 'access',
                   strftime('%Y-%m-%d %H:%M:%S.000000', '2025-12-01 09:00:00', '+' || (i % 365) || ' days'),
                   date('2025-12-01', '+' || (i % 365 + 28) || ' days'),
                   strftime('%Y-%m-%d %H:%M:%S.000000', '2025-12-01 09:00:00', '+' || (i % 365) || ' days'),
                   strftime('%Y-%m-%d %H:%M:%S.000000', '2025-12-01 09:00:00', '+' || (i % 365) || ' days')
            FROM n
            """), {"count": count, "communes": len(communes)})
        await connection.execute(text(
            "INSERT INTO request_events (request_id, at, kind, actor, data) "
            "SELECT id, received_at, 'submitted', 'citizen:1', '{}' FROM requests"))
        await connection.execute(text(
            """
            INSERT INTO request_events (request_id, at, kind, actor, data, ground)
            SELECT id, strftime('%Y-%m-%d %H:%M:%S.000000', received_at, '+' || (id % 45) || ' days'),
                   CASE WHEN id % 10 = 5 THEN 'refuse' WHEN id % 10 = 4 THEN 'answer_partially' ELSE 'answer' END,
                   'staff:1', '{}',  -- not a token: the figures read only the ground, kept in the clear
                   CASE WHEN id % 10 = 5 THEN 'unclear' END
            FROM requests WHERE id % 10 <= 5
            """))
    seconds = time.perf_counter() - started
    await bab.close()
    return seconds


async def measure(settings: Settings, export: bool) -> dict[str, float]:
    bab = await build(settings, clock=FixedClock(NOW))
    runner = web.AppRunner(web_app(bab, dispatch=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found: dict[str, float] = {}
    async with ClientSession(f"http://127.0.0.1:{port}") as client:

        async def timed(path: str) -> float:
            started = time.perf_counter()
            async with client.get(path) as response:
                assert response.status == 200, path
                await response.read()
            return (time.perf_counter() - started) * 1000

        found["first page (computes the figures)"] = await timed("/transparency?lang=fr")
        for name, path in (("country page", "/transparency?lang=fr"), ("region page", "/transparency/06?lang=ar"),
                           ("commune page", "/transparency/06.141.01.0?lang=fr"), ("transparency.csv", "/transparency.csv"),
                           ("transparency.json", "/transparency.json")):
            times = sorted([await timed(path) for _ in range(ROUNDS)])
            found[f"{name}: median"] = statistics.median(times)
            found[f"{name}: p95"] = times[int(len(times) * 0.95) - 1]
        # A recomputation in the background, as after the cache's time is up: the page is still served meanwhile.
        started = time.perf_counter()
        task = asyncio.create_task(bab.transparency.refresh())
        during: list[float] = []
        while not task.done():
            during.append(await timed("/transparency?lang=fr"))
            await asyncio.sleep(0.5)
        await task
        found["figures recomputed (refresh)"] = (time.perf_counter() - started) * 1000
        if during:
            found["country page during the refresh: median"] = statistics.median(during)
            found["country page during the refresh: max"] = max(during)
        if export:
            found["requests.csv (every request)"] = await timed("/transparency/requests.csv")
    await runner.cleanup()
    await bab.close()
    return found


async def restarted(settings: Settings) -> dict[str, float]:
    """A worker started anew on the same database: its first page comes from the stored figures."""
    started = time.perf_counter()
    bab = await build(settings, clock=FixedClock(NOW))
    found = {"restart: build (migrations checked, directory loaded)": (time.perf_counter() - started) * 1000}
    runner = web.AppRunner(web_app(bab, dispatch=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with ClientSession(f"http://127.0.0.1:{port}") as client:
        for name in ("restart: first page (stored figures)", "restart: second page"):
            started = time.perf_counter()
            async with client.get("/transparency?lang=fr") as response:
                assert response.status == 200
                await response.read()
            found[name] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    await bab.transparency.stored()
    found["restart: stored figures read and decoded"] = (time.perf_counter() - started) * 1000
    await runner.cleanup()
    await bab.close()
    return found


async def main() -> None:
    count = int(os.environ.get("BENCH_REQUESTS", "1000000"))
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), database_url=f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
                            default_locale="fr", scheduler=False, transparency_cache_seconds=600.0)
        print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{count:,} requests on SQLite")
        print(f"seeded in {await seed(settings, count):.1f} s")
        for name, value in (await measure(settings, os.environ.get("BENCH_EXPORT") == "1")).items():
            print(f"{name:40} {value:10.1f} ms")
        for name, value in (await restarted(settings)).items():
            print(f"{name:40} {value:10.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
