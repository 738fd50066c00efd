"""Resident memory of one worker as the data grows: it must depend on the work, not on what is stored.

Run with `.venv/bin/python benchmarks/bench_memory.py` (throwaway SQLite databases). Two databases are built by
the migrations: an empty one, and one seeded (in a child process, so that seeding's own memory is not counted)
with BENCH_MEMORY_REQUESTS requests (default 1,000,000, spread like bench_sweeps' backlog) and
BENCH_MEMORY_CONVERSATIONS citizens with a stored conversation (default 100,000). On each, a fresh worker is built
as `bab run` builds it (`build`, then `warm_up`), then does the same work: 2,000 turns of citizens picked at
random among the stored ones (new ones on the empty database), every deadline sweep, a national coordinator's
/inbox and /overdue, and the transparency figures counted once. The worker's resident memory (VmRSS) is printed
after the start, after the turns and sweeps, and after the transparency count, with the peak (VmHWM).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, select  # noqa: E402

import bench_sweeps  # noqa: E402
from bot.app import Bab, build, warm_up  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.directory import Directory, read_aliases, read_collectivities  # noqa: E402
from bot.domain.staff import Role  # noqa: E402
from bot.flows.spec import Inbound, InboundKind, State  # noqa: E402
from bot.services.clock import FixedClock  # noqa: E402
from bot.services.staff import StaffAdmin  # noqa: E402
from bot.storage import tables  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_MEMORY_REQUESTS", "1000000"))
CONVERSATIONS = int(os.environ.get("BENCH_MEMORY_CONVERSATIONS", "100000"))
TURNS = 2000
CHUNK = 20_000
WORDS = ("Bonjour", "menu", "1", "Tétouan", "salam", "bghit nchki", "merci", "?")


def memory() -> tuple[float, float]:
    """This process's resident memory and its peak so far, in MiB (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def settings(folder: Path, name: str) -> Settings:
    return Settings(data_dir=folder / "data", database_url=f"sqlite+aiosqlite:///{folder / name}.sqlite3",
                    default_locale="fr")


async def seed_conversations(bab: Bab, count: int) -> None:
    """`count` web citizens, each with an identity and a stored conversation (a state a few answers in)."""
    now = bab.clock.now()
    state = State(locale="fr", locale_confirmed=True, version=3).to_json()  # someone who chose French
    for start in range(0, count, CHUNK):
        numbers = range(start, min(count, start + CHUNK))
        async with bab.sessions() as session, session.begin():
            citizens = list(await session.scalars(insert(tables.Citizen).returning(tables.Citizen.id),
                                                  [{"locale": "fr", "created_at": now} for _ in numbers]))
            identities = list(await session.scalars(
                insert(tables.Identity).returning(tables.Identity.id),
                [{"citizen_id": citizen, "channel": "web", "external_id": f"visitor-{number}", "unreachable": False,
                  "created_at": now, "last_seen_at": now} for citizen, number in zip(citizens, numbers, strict=True)]))
            await session.execute(insert(tables.Conversation), [
                {"identity_id": identity, "state": state, "version": 3, "updated_at": now} for identity in identities])


def seed(folder: Path, name: str, requests: int, conversations: int) -> None:
    """In a child process: database `name` with that many requests and conversations."""
    async def run() -> None:
        directory = Directory(read_collectivities(), read_aliases())
        bab = await build(settings(folder, name), clock=FixedClock(bench_sweeps.NOW), directory=directory)
        try:
            await bench_sweeps.seed(bab, requests * 10 // 11)  # bench_sweeps adds a tenth of closed history
            await seed_conversations(bab, conversations)
        finally:
            await bab.close()
    asyncio.run(run())


async def work(folder: Path, name: str, directory: Directory) -> list[str]:
    """A fresh worker on database `name` doing the same work; the figures as printable lines."""
    lines: list[str] = []
    bab = await build(settings(folder, name), clock=FixedClock(bench_sweeps.NOW), directory=directory)
    try:
        warm_up(bab.directory)
        async with bab.sessions() as session:
            stored = int(await session.scalar(select(tables.Conversation.identity_id)
                                              .order_by(tables.Conversation.identity_id.desc()).limit(1)) or 0)
        rss, _ = memory()
        lines.append(f"started {rss:.0f} MiB")
        rng = random.Random(3)
        invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(Role.COORDINATOR, [None], "nat")
        await bab.conversations.handle("web", "national", Inbound(kind=InboundKind.TEXT, text=f"/start {invite.code}"))
        started = time.perf_counter()
        for _ in range(TURNS):
            visitor = f"visitor-{rng.randrange(stored)}" if stored else f"new-{rng.randrange(500)}"
            await bab.conversations.handle("web", visitor, Inbound(kind=InboundKind.TEXT, text=rng.choice(WORDS)))
        lines.append(f"after {TURNS} turns {memory()[0]:.0f} MiB ({time.perf_counter() - started:.0f} s)")
        started = time.perf_counter()
        for text in ("/inbox", "/overdue"):
            await bab.conversations.handle("web", "national", Inbound(kind=InboundKind.TEXT, text=text))
        lines.append(f"after a national /inbox and /overdue {memory()[0]:.0f} MiB "
                     f"({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        await bab.jobs.run_all(bab.clock.now())
        lines.append(f"after every sweep {memory()[0]:.0f} MiB ({time.perf_counter() - started:.0f} s)")
        await bab.transparency.refresh()
        rss, peak = memory()
        lines.append(f"after counting the transparency figures {rss:.0f} MiB; peak {peak:.0f} MiB")
    finally:
        await bab.close()
    return lines


def measure(folder: Path, name: str) -> list[str]:
    """In a child process, so that each worker's memory starts from nothing."""
    return asyncio.run(work(folder, name, Directory(read_collectivities(), read_aliases())))


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as name, context.Pool(1, maxtasksperchild=1) as pool:
        folder = Path(name)
        pool.apply(seed, (folder, "empty", 0, 0))
        pool.apply(seed, (folder, "seeded", REQUESTS, CONVERSATIONS))
        print(f"seeded {REQUESTS} requests and {CONVERSATIONS} conversations in {time.perf_counter() - started:.0f} s")
        for database, label in (("empty", "empty database"),
                                ("seeded", f"{REQUESTS} requests, {CONVERSATIONS} conversations")):
            print(f"{label}: " + "; ".join(pool.apply(measure, (folder, database))))
    print(f"bench_memory: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
