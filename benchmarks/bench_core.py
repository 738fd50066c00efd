"""Measure the core on this machine: directory index, place matching, conversation turns and outbox delivery.

Run with `.venv/bin/python benchmarks/bench_core.py` (a throwaway SQLite database in a temporary folder);
set DATABASE_URL to an empty PostgreSQL database to measure there instead (the migrations create its tables;
rows left by an earlier run would be delivered again and skew the outbox figure). BENCH_CITIZENS sets how many
citizens talk at once (default 50).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.app import build
from bot.config import Settings
from bot.domain.directory import Directory, read_aliases, read_collectivities
from bot.flows.spec import Inbound, InboundKind
from bot.storage import tables

QUERIES = ["tetouan", "Casa", "الدار البيضاء", "9nitra", "bni mlal", "Sidi Bennour", "marrakesh", "العيون",
           "ouarzazate", "l9sar lkbir", "Agadir", "fes"]


class NullSender:
    async def send(self, external_id: str, payload: dict[str, Any]) -> None:
        return None


def bench_directory() -> Directory:
    started = time.perf_counter()
    directory = Directory(read_collectivities(), read_aliases())
    print(f"directory index: {len(directory)} collectivities built in {time.perf_counter() - started:.3f} s")
    timings = []
    for _ in range(5):
        for query in QUERIES:
            started = time.perf_counter()
            directory.match(query)
            timings.append(time.perf_counter() - started)
    print(f"place match: median {statistics.median(timings) * 1000:.2f} ms, "
          f"max {max(timings) * 1000:.2f} ms over {len(timings)} queries")
    return directory


async def bench_conversations(directory: Directory, citizens: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        bab = await build(Settings(data_dir=Path(folder), database_url=url, default_locale="fr"),
                          senders={"bench": NullSender()}, directory=directory)
        # Choices are typed as their option ids (the engine accepts that), so no version bookkeeping is needed.
        script = ["Bonjour", "access", "Le budget 2025 de la commune et ses annexes", "Tétouan", "01.571.01.11", "no",
                  "chat", "Amina El Idrissi", "AB123456", "0612345678", "send"]
        turn_times: list[float] = []

        async def citizen(number: int) -> None:
            for text in script:
                started = time.perf_counter()
                await bab.conversations.handle("bench", f"citizen-{number}", Inbound(kind=InboundKind.TEXT, text=text))
                turn_times.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(citizen(number) for number in range(citizens)))
        elapsed = time.perf_counter() - started
        print(f"conversation turns ({bab.engine.dialect.name}): {len(turn_times)} turns by {citizens} concurrent "
              f"citizens in {elapsed:.2f} s = {len(turn_times) / elapsed:.0f} turns/s; per turn median "
              f"{statistics.median(turn_times) * 1000:.1f} ms, p95 "
              f"{sorted(turn_times)[int(len(turn_times) * 0.95)] * 1000:.1f} ms")
        started = time.perf_counter()
        sent = await bab.dispatcher.dispatch_once()
        elapsed = time.perf_counter() - started
        async with bab.sessions() as session:
            filed = await session.scalar(select(func.count()).select_from(tables.Request))
        print(f"requests filed: {filed} of {citizens}")
        print(f"outbox delivery: {sent} messages in {elapsed:.2f} s = {sent / elapsed:.0f} messages/s")
        await bab.close()


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    directory = bench_directory()
    asyncio.run(bench_conversations(directory, citizens=int(os.environ.get("BENCH_CITIZENS", "50"))))


if __name__ == "__main__":
    main()
