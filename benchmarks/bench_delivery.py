"""Delivery at the channel's limit: a burst of 10,000 notices to 2,000 Telegram chats, one worker and two.

Run with `.venv/bin/python benchmarks/bench_delivery.py` (or `make bench`). The real dispatcher and the real
Telegram sender (python-telegram-bot over HTTP) against the fake Bot API on 127.0.0.1, which answers 429 when
Telegram's documented limits are broken (30 messages a second per bot after a burst, about one a second per chat):

- one worker on SQLite (a throwaway file);
- two workers on one PostgreSQL (BENCH_DATABASE_URL, emptied first: never point it at a database that matters),
  two Babs with their own engines and dispatchers, as two `bab run` would be: the bot's limit is per bot, so one
  of them holds the channel's send lock at a time; halfway through, the sending one stops (as if it died: its
  connection, and so its lock, goes) and the other takes over.

Printed for each: the sustained rate as a share of the allowed one (target >= 95 %), the limit errors (target 0),
and whether every notice reached its chat once and in order. BENCH_NOTICES and BENCH_CHATS change the size (the
default, 10,000 to 2,000 chats, takes about 5.5 minutes per run at 30 a second).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakes
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import func, select  # noqa: E402

from bot.app import Bab, build, warm_up  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.directory import Directory, read_aliases, read_collectivities  # noqa: E402
from bot.flows.spec import Outbound  # noqa: E402
from bot.storage import repos, tables  # noqa: E402
from bot.storage.db import reset_schema  # noqa: E402
from tests.fakes.limits import FloodLimits  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

NOTICES = int(os.environ.get("BENCH_NOTICES", "10000"))
CHATS = int(os.environ.get("BENCH_CHATS", "2000"))


def chat_id(number: int) -> str:
    return str(7_000_000 + number)


async def new_bab(settings: Settings, directory: Directory) -> Bab:
    bab = await build(settings, directory=directory)
    warm_up(bab.directory)
    return bab


async def queue_notices(bab: Bab) -> None:
    """NOTICES notices with a button each (not mergeable: one API message each), spread over CHATS chats."""
    now = bab.clock.now()
    per_chat = NOTICES // CHATS
    async with bab.sessions() as session, session.begin():
        for number in range(CHATS):
            identity = await repos.identity_for(session, "telegram", chat_id(number), now)
            for index in range(per_chat):
                await repos.enqueue(session, identity.id, "telegram",
                                    Outbound(text=f"Avis {number} {index}", locale="fr", options=(("ok", "OK"),)),
                                    now)


def report(label: str, api: FakeTelegramAPI, started: float, expected: int, pending: int) -> None:
    limits = api.limits
    assert limits is not None
    times = [at for at, _ in limits.accepted]
    steady = [at for at in times if at > times[0] + 1.0]  # the burst goes at once: the rate after the first second
    sustained = len(steady) / (times[-1] - times[0] - 1.0) if len(steady) > 1 else float("nan")
    per_chat: dict[str, list[str]] = {}
    for call in api.calls:
        if call.method == "sendMessage" and call.status == 200:
            per_chat.setdefault(str(call.chat_id), []).append(str(call.params.get("text", "")))
    ordered = all(per_chat.get(chat_id(number), []) == [f"Avis {number} {index}"
                                                        for index in range(NOTICES // CHATS)]
                  for number in range(CHATS))
    print(f"{label}: {len(times)} of {expected} notices to {CHATS} chats in {times[-1] - started:.1f} s; "
          f"sustained {sustained:.2f} msg/s = {100 * sustained / limits.per_second:.1f} % of the "
          f"{limits.per_second:g}/s allowed; limit errors {limits.errors}; once each and in order per chat: "
          f"{ordered and len(times) == expected}; left pending {pending}")


async def pending_count(bab: Bab) -> int:
    async with bab.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(tables.OutboxMessage)
                                        .where(tables.OutboxMessage.status == "pending")) or 0)


async def wait_for(api: FakeTelegramAPI, count: int, timeout: float) -> None:
    limits = api.limits
    assert limits is not None
    async with asyncio.timeout(timeout):
        while len(limits.accepted) < count:
            await asyncio.sleep(0.2)


async def one_worker(folder: str, directory: Directory) -> None:
    api = FakeTelegramAPI(limits=FloodLimits())
    await api.start()
    settings = Settings(data_dir=Path(folder) / "one", database_url=f"sqlite+aiosqlite:///{folder}/one.sqlite3",
                        default_locale="fr", telegram_bot_token=api.token, telegram_api_base_url=api.base_url)
    bab = await new_bab(settings, directory)
    try:
        await queue_notices(bab)
        expected = (NOTICES // CHATS) * CHATS
        started = asyncio.get_running_loop().time()
        runner = asyncio.create_task(bab.dispatcher.run(bab.stop))
        try:
            await wait_for(api, expected, 60 + 2 * expected / 30)
        finally:
            bab.stop.set()
            bab.dispatcher.wake()
            await runner
        report("one worker, SQLite", api, started, expected, await pending_count(bab))
    finally:
        await bab.close()
        await api.close()


async def two_workers(folder: str, directory: Directory, url: str) -> None:
    await reset_schema(url)
    api = FakeTelegramAPI(limits=FloodLimits())
    await api.start()
    base = Settings(data_dir=Path(folder) / "two", database_url=url, default_locale="fr",
                    telegram_bot_token=api.token, telegram_api_base_url=api.base_url)
    first = await new_bab(base, directory)
    second = await new_bab(base, directory)  # the same data folder: the same keys, as two workers have
    try:
        await queue_notices(first)
        expected = (NOTICES // CHATS) * CHATS
        loop = asyncio.get_running_loop()
        started = loop.time()
        runners = {id(bab): asyncio.create_task(bab.dispatcher.run(bab.stop)) for bab in (first, second)}
        await wait_for(api, expected // 2, 60 + expected / 30)
        # The one sending now stops, as if it died; the other takes the bot's lock at its next try (5 s at most).
        sending = first if first.dispatcher.attempted >= second.dispatcher.attempted else second
        other = second if sending is first else first
        stopped_at = loop.time()
        sending.stop.set()
        sending.dispatcher.wake()
        await runners[id(sending)]
        await sending.close()
        try:
            await wait_for(api, expected, 60 + expected / 30)
        finally:
            other.stop.set()
            other.dispatcher.wake()
            await runners[id(other)]
        limits = api.limits
        assert limits is not None
        after = [at for at, _ in limits.accepted if at > stopped_at]
        gap = after[0] - stopped_at if after else float("nan")
        report("two workers, PostgreSQL (one stops halfway)", api, started, expected, await pending_count(other))
        print(f"  sent by the first {first.dispatcher.attempted}, by the second {second.dispatcher.attempted}; "
              f"the takeover left the bot silent for {gap:.1f} s (the lock is tried every 5 s)")
    finally:
        await first.close()
        await second.close()
        await api.close()


async def bench(directory: Directory) -> None:
    with tempfile.TemporaryDirectory() as folder:
        await one_worker(folder, directory)
        url = os.environ.get("BENCH_DATABASE_URL")
        if url:
            await two_workers(folder, directory, url)
        else:
            print("two workers: skipped (set BENCH_DATABASE_URL to a throwaway PostgreSQL database)")


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    asyncio.run(bench(Directory(read_collectivities(), read_aliases())))
    print(f"bench_delivery: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
