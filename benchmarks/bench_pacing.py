"""Measure outbox pacing on this machine, against fake APIs on 127.0.0.1 that enforce the channels' limits.

Run with `.venv/bin/python benchmarks/bench_pacing.py` (or `make bench`); a throwaway SQLite database per
scenario, the real dispatcher and the real senders (python-telegram-bot over HTTP to the fake Bot API; Bab's
Graph client to the fake Graph API):

(a) saturation: notices with a button (so they cannot be merged) to many chats at once, enough for ~20 s at
    the channel's allowed rate: achieved rate as a share of the allowed rate (target >= 95 %), limit errors
    (target 0), every message delivered once and in order per chat;
(b) below saturation: citizens writing every 1.2 s through the real core (`bab.conversations.handle`), alone and
    then with one citizen flooding 500 messages: latency from the inbound message to the reply reaching the fake,
    median and p99 for the others (targets: <= 15 ms median, <= 100 ms p99).

Each channel is a `Target`: Telegram, and WhatsApp (its real sender against tests/fakes/whatsapp_api.py, which
enforces Meta's throughput and pair rate) when that code is present.
BENCH_SECONDS scales the durations (default 1.0: about two minutes in all). Set BENCH_DATABASE_URL to a
PostgreSQL database to measure there instead: it is emptied before each scenario (its public schema dropped), so
never point it at one that matters; DATABASE_URL is not read, so that a production setting cannot be emptied.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakes
os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22 warns when retry_after is read as an int

from sqlalchemy import select  # noqa: E402

from bot.app import Bab, build, warm_up  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.directory import Directory, read_aliases, read_collectivities  # noqa: E402
from bot.flows.spec import Inbound, InboundKind, Outbound  # noqa: E402
from bot.storage import repos, tables  # noqa: E402
from bot.storage.db import reset_schema  # noqa: E402
from tests.fakes.limits import FloodLimits  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

SCALE = float(os.environ.get("BENCH_SECONDS", "1.0"))
# Which scenarios run (comma-separated): all three by default; e.g. BENCH_SCENARIOS=alone to time replies only.
SCENARIOS = set(os.environ.get("BENCH_SCENARIOS", "saturation,alone,flood").split(","))
CITIZENS = 20
CITIZEN_PAUSE = 1.2
FLOOD = 500


async def _nothing() -> None:
    return None


@dataclass
class Target:
    """One channel as the benchmark drives it: a fake API enforcing the channel's limits, and how to read it."""

    name: str
    channel: str  # the outbox channel
    per_second: float  # the channel-wide rate the fake allows
    burst: int
    configure: Callable[[Settings], Settings]  # turns the channel on, pointed at the fake
    recipient: Callable[[int], str]  # the external id of person number n
    accepted: Callable[[], list[tuple[float, str]]]  # (loop time, recipient) of every message the fake let through
    errors: Callable[[], int]  # limit errors the fake answered
    texts: Callable[[], dict[str, list[str]]]  # what reached each recipient, in order
    close: Callable[[], Awaitable[None]]
    say: Callable[[Bab, str, str], Awaitable[Any]]  # a text from a person through the core, as its adapter does
    # What the channel needs before these people can be written to (WhatsApp: an open window).
    prepare: Callable[[Bab, list[str]], Awaitable[None]] = field(default=lambda bab, recipients: _nothing())
    # The identity key the core knows a recipient by (WhatsApp: the keyed hash of the number, once prepared).
    key: Callable[[str], str] = field(default=lambda recipient: recipient)


async def telegram_target() -> Target:
    api = FakeTelegramAPI(limits=FloodLimits())
    await api.start()
    limits = api.limits
    assert limits is not None

    def texts() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for call in api.calls:
            if call.method == "sendMessage" and call.status == 200:
                found.setdefault(str(call.chat_id), []).append(str(call.params.get("text", "")))
        return found

    return Target(
        name="telegram", channel="telegram", per_second=limits.per_second, burst=limits.burst,
        configure=lambda settings: replace(settings, telegram_bot_token=api.token,
                                           telegram_api_base_url=api.base_url),
        recipient=lambda number: str(5_000_000 + number),
        accepted=lambda: [(at, str(chat)) for at, chat in limits.accepted],
        errors=lambda: limits.errors, texts=texts, close=api.close,
        say=lambda bab, chat, words: bab.conversations.handle("telegram", chat,
                                                              Inbound(kind=InboundKind.TEXT, text=words)))


async def whatsapp_target() -> Target | None:
    """WhatsApp: the real sender (bot/handlers/whatsapp.py) against the fake Graph API (tests/fakes/whatsapp_api.py)
    enforcing Meta's limits: 80 messages a second per number, one message per 6 s to a person after a burst.

    People are phone numbers whose 24-hour window is open (a contact row that wrote just now, and the fake told
    so): what the benchmark measures is pacing, not the window. None when the WhatsApp code is not there.
    """
    try:
        from bot.handlers import whatsapp as whatsapp_handlers
        from bot.storage import whatsapp_repo
        from tests.fakes.whatsapp_api import FakeGraphAPI, GraphLimits
    except ImportError:
        return None
    api = FakeGraphAPI(limits=GraphLimits())
    await api.start()
    limits = api.limits
    assert limits is not None

    def recipient(number: int) -> str:
        return f"2126{number:08d}"

    keys: dict[str, str] = {}  # number -> identity key (a number is never a key in the clear)

    async def open_windows(bab: Bab, recipients: list[str]) -> None:
        async with bab.sessions() as session, session.begin():
            for wa_id in recipients:
                keys[wa_id] = await whatsapp_repo.resolve_contact(session, None, wa_id, None, bab.clock.now(),
                                                                  bab.clock.now())
                api.user_wrote(wa_id)

    sent: list[Any] = []  # the accepted sends, read once each (the fake's properties are not cheap)
    read = 0

    def accepted() -> list[tuple[float, str]]:
        nonlocal read
        calls = api.calls
        sent.extend(call for call in calls[read:] if call.is_send and call.ok)
        read = len(calls)
        return [(call.at, str(call.address)) for call in sent]

    def texts() -> dict[str, list[str]]:
        accepted()
        found: dict[str, list[str]] = {}
        for call in sent:
            found.setdefault(str(call.address), []).append(call.text)
        return found

    return Target(
        name="whatsapp", channel=whatsapp_handlers.CHANNEL, per_second=limits.per_second,
        burst=limits.per_second_burst or int(limits.per_second),
        configure=lambda settings: replace(settings, whatsapp_token=api.token,
                                           whatsapp_phone_number_id=api.phone_number_id,
                                           whatsapp_api_base_url=api.base_url, whatsapp_app_secret="bench",
                                           whatsapp_verify_token="bench"),
        recipient=recipient,
        accepted=accepted, errors=lambda: api.limit_errors, texts=texts, close=api.close, prepare=open_windows,
        key=lambda wa_id: keys.get(wa_id, wa_id),
        say=lambda bab, wa_id, text: bab.conversations.handle(whatsapp_handlers.CHANNEL, keys.get(wa_id, wa_id),
                                                              Inbound(kind=InboundKind.TEXT, text=text)))


async def new_bab(folder: str, target: Target, directory: Directory, name: str) -> Bab:
    """A Bab on a fresh database: a SQLite file, or BENCH_DATABASE_URL (PostgreSQL) emptied first."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        await reset_schema(url)
    # The flood limit `bab run` has by default (BAB_INBOUND_BURST=20, one a second after that).
    base = Settings(data_dir=Path(folder) / name,
                    database_url=url or f"sqlite+aiosqlite:///{Path(folder) / name}.sqlite3", default_locale="fr",
                    inbound_burst=20)
    bab = await build(target.configure(base), directory=directory)
    warm_up(bab.directory)  # as `bab run` does once started
    return bab


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def saturation(folder: str, target: Target, directory: Directory) -> None:
    """(a) ~20 s of notices to many chats at once: rate achieved, limit errors, once and in order."""
    per_chat = 3
    total = int(target.per_second * 20 * SCALE) + target.burst
    chats = [target.recipient(number) for number in range(total // per_chat)]
    bab = await new_bab(folder, target, directory, f"saturation-{target.name}")
    loop = asyncio.get_running_loop()
    before = len(target.accepted())
    errors_before = target.errors()
    await target.prepare(bab, chats)
    async with bab.sessions() as session, session.begin():
        for chat in chats:
            identity = await repos.identity_for(session, target.channel, target.key(chat), bab.clock.now())
            for number in range(per_chat):
                # A button each (like a request for a rating): not mergeable, so every notice is one API message.
                await repos.enqueue(session, identity.id, target.channel,
                                    Outbound(text=f"Avis {chat} {number}", locale="fr", options=(("ok", "OK"),)),
                                    bab.clock.now())
    queued = len(chats) * per_chat
    started = loop.time()
    runner = asyncio.create_task(bab.dispatcher.run(bab.stop))
    try:
        async with asyncio.timeout(30 + 2 * queued / target.per_second):
            while len(target.accepted()) - before < queued:
                await asyncio.sleep(0.1)
    finally:
        bab.stop.set()
        bab.dispatcher.wake()
        await runner
    times = [at for at, _ in target.accepted()[before:]]
    span = times[-1] - times[0]
    # The burst goes at once: the sustained rate is the one after the first second.
    steady = [at for at in times if at > times[0] + 1.0]
    sustained = len(steady) / (times[-1] - times[0] - 1.0) if steady else float("nan")
    texts = target.texts()
    ordered = all([text.strip() for text in texts.get(chat, [])] == [f"Avis {chat} {n}" for n in range(per_chat)]
                  for chat in chats)
    async with bab.sessions() as session:
        statuses = list((await session.scalars(select(tables.OutboxMessage.status))).all())
    print(f"{target.name} saturation: {queued} messages to {len(chats)} chats in {span:.2f} s "
          f"(first after {times[0] - started:.3f} s); sustained {sustained:.2f} msg/s = "
          f"{100 * sustained / target.per_second:.1f} % of the {target.per_second:g}/s allowed "
          f"(overall {len(times) / (times[-1] - started):.2f} msg/s, burst included); "
          f"limit errors {target.errors() - errors_before}; delivered once each and in order per chat: "
          f"{ordered and len(times) == queued and statuses.count('sent') == queued}")
    await bab.close()


async def below_saturation(folder: str, target: Target, directory: Directory, flood: bool) -> None:
    """(b) citizens writing every 1.2 s through the core, with or without a flooder: reply latency."""
    seconds = (14 if flood else 8) * SCALE
    bab = await new_bab(folder, target, directory, f"latency-{target.name}-{flood}")
    loop = asyncio.get_running_loop()
    flooder = target.recipient(CITIZENS)
    await target.prepare(bab, [target.recipient(number) for number in range(CITIZENS)] + [flooder])
    runner = asyncio.create_task(bab.dispatcher.run(bab.stop))
    samples: list[tuple[str, float, float, int]] = []  # (recipient, sent at, turn done at, index of its reply)
    replies: dict[str, int] = {}
    base = len(target.accepted())

    async def citizen(number: int) -> None:
        recipient = target.recipient(number)
        await asyncio.sleep(CITIZEN_PAUSE * number / CITIZENS)  # spread over the pause, as people are
        deadline = loop.time() + seconds
        text = "Bonjour"
        while loop.time() < deadline:
            started = loop.time()
            index = replies.get(recipient, 0)
            await target.say(bab, recipient, text)
            samples.append((recipient, started, loop.time(), index))
            replies[recipient] = replies.get(recipient, 0) + (2 if text == "Bonjour" else 1)  # greeting + menu
            text = "menu"
            await asyncio.sleep(CITIZEN_PAUSE)

    flood_started = flood_done = 0.0

    async def flooding() -> None:
        nonlocal flood_started, flood_done
        await asyncio.sleep(1.0)
        flood_started = loop.time()
        for _ in range(FLOOD):  # one after the other, as fast as the core takes them (a chat is handled in order)
            await target.say(bab, flooder, "menu")
        flood_done = loop.time()

    try:
        await asyncio.gather(*(citizen(number) for number in range(CITIZENS)), *((flooding(),) if flood else ()))
        await asyncio.sleep(1.5)  # the last replies
    finally:
        bab.stop.set()
        bab.dispatcher.wake()
        await runner
    arrived: dict[str, list[float]] = {}
    for at, recipient in target.accepted()[base:]:
        arrived.setdefault(recipient, []).append(at)
    latencies, turns, outbound = [], [], []
    missing = 0
    for recipient, started, handled, index in samples:
        got = arrived.get(recipient, [])
        if index < len(got):
            latencies.append(got[index] - started)
            turns.append(handled - started)
            outbound.append(got[index] - handled)
        else:
            missing += 1
    merged = sum(1 for number in range(CITIZENS)
                 if len(arrived.get(target.recipient(number), [])) != replies.get(target.recipient(number), 0))
    label = f"with one flooder ({FLOOD} messages)" if flood else "alone"
    print(f"{target.name} below saturation, {CITIZENS} citizens every {CITIZEN_PAUSE} s {label}: "
          f"{len(latencies)} replies, latency median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
          f"unanswered {missing}, chats whose replies were merged {merged}; limit errors {target.errors()}")
    print(f"  of which the core's turn (commit included): median {statistics.median(turns) * 1000:.1f} ms, "
          f"p99 {percentile(turns, 0.99) * 1000:.1f} ms; from the commit to the fake: median "
          f"{statistics.median(outbound) * 1000:.1f} ms, p99 {percentile(outbound, 0.99) * 1000:.1f} ms")
    if flood:
        print(f"  the flooder's {FLOOD} messages were taken in {flood_done - flood_started:.1f} s; "
              f"{len(arrived.get(flooder, []))} replies reached it, at its pace of about one a second")
    await bab.close()


async def bench(directory: Directory) -> None:
    targets = [await telegram_target()]
    whatsapp = await whatsapp_target()
    if whatsapp is None:
        print("whatsapp: skipped (bot/handlers/whatsapp.py or tests/fakes/whatsapp_api.py missing)")
    else:
        targets.append(whatsapp)
    with tempfile.TemporaryDirectory() as folder:
        for target in targets:
            try:
                if "saturation" in SCENARIOS:
                    await saturation(folder, target, directory)
                if "alone" in SCENARIOS:
                    await below_saturation(folder, target, directory, flood=False)
                if "flood" in SCENARIOS:
                    await below_saturation(folder, target, directory, flood=True)
            finally:
                await target.close()


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    directory = Directory(read_collectivities(), read_aliases())
    asyncio.run(bench(directory))
    print(f"bench_pacing: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
