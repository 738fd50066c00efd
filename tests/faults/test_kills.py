"""`bab run` killed (SIGKILL) at random moments while citizens file requests: nothing confirmed is lost or doubled.

A real `bab run` process serves the web chat on 127.0.0.1 (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).
Scripted citizens, each with their own cookie, answer whatever Bab asks (the way a person would after a page
reload: they read the last question again and answer it), filing one access request after another. A killer
sends SIGKILL at random moments and starts the server again, `KILLS` times. Then every citizen files one more
request, and the checks run on the database itself:

- every request a citizen was told about (a receipt with its reference) exists, exactly once;
- no request was filed twice (each citizen numbers their requests in the text: no number appears twice), and
  every stored request reached its citizen as a receipt (what the outbox held at a kill went out after restart);
- no conversation is stuck (each citizen completed a request after the last kill) and the outbox is empty.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.domain.requests import find_reference
from bot.flows.engine import FLOWS
from bot.i18n import translator
from bot.storage import tables
from bot.storage.db import create_engine, create_sessionmaker

KILLS = int(os.environ.get("BAB_FAULT_KILLS", "30"))
CITIZENS = 3
THINK = 0.05  # seconds a citizen takes to answer (people take longer; this keeps the test's CPU low)
TETOUAN = "01.571.01.11"
FR = translator("fr")
ROOT = Path(__file__).resolve().parents[2]


def question(step: str) -> str:
    """The French text of an access-request step's question."""
    return FR(str(getattr(FLOWS["access"].steps[step], "question")))


ANSWERS = {  # what a citizen types at each question of the access request (the topic is numbered, below)
    question("place"): "Tétouan",
    question("name"): "Amina El Idrissi",
    question("id_number"): "AB123456",
    question("contact"): "0612345678",
}
CHOICES = ("access", TETOUAN, "no", "chat", "reuse", "send")  # what a citizen taps when it is offered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """`bab run` on a fixed port and database, killed and started again by the test; each start is a fresh
    process forked from a warm parent (tests/faults/zygote.py) that has Bab imported already."""

    env: dict[str, str]
    url: str
    zygote: asyncio.subprocess.Process | None = None
    pid: int | None = None
    starts: int = 0

    async def start(self) -> None:
        if self.zygote is None:
            self.zygote = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).with_name("zygote.py")), cwd=ROOT, env=self.env,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(b"start\n")
        await self.zygote.stdin.drain()
        self.pid = int(await asyncio.wait_for(self.zygote.stdout.readline(), 30))
        self.starts += 1
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.get(self.url + "/") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.alive(), "bab run exited"
                await asyncio.sleep(0.02)
        raise AssertionError("bab run did not start")

    def alive(self) -> bool:
        try:
            os.kill(self.pid or 0, 0)
        except ProcessLookupError:
            return False
        return True

    async def signal(self, number: int, timeout: float = 15.0) -> None:
        """Send `number` to the running `bab run` and wait until it is gone."""
        if self.pid is None:
            return
        os.kill(self.pid, number)
        for _ in range(int(timeout / 0.01)):
            if not self.alive():
                self.pid = None
                return
            await asyncio.sleep(0.01)
        if number != signal.SIGKILL:
            await self.signal(signal.SIGKILL)

    async def kill(self) -> None:
        await self.signal(signal.SIGKILL)

    async def stop(self) -> None:
        await self.signal(signal.SIGTERM)
        if self.zygote is not None and self.zygote.stdin is not None:
            self.zygote.stdin.close()
            await self.zygote.wait()


@dataclass
class Citizen:
    """A person on the web chat who answers the current question, whatever it is, until told to stop."""

    number: int
    url: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    last_id: int = 0
    receipts: set[str] = field(default_factory=set)
    filed: int = 0  # the number in the next request's text
    since_last_kill: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies of 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=10)) as session:
            await self.retry(lambda: self.get(session, "/"))
            await self.retry(lambda: self.read(session, wait=0))
            while True:
                turn = self.next_turn(stop)
                if turn is None:
                    return
                await asyncio.sleep(THINK)
                await self.retry(lambda: self.post(session, turn))
                # The replies, as soon as they are delivered; none within 2 s (the message was lost with the
                # server, or its replies wait in the outbox of a server being restarted): answer again.
                await self.retry(lambda: self.read(session, wait=2))

    async def retry(self, action: Any) -> None:
        """Do `action` until the server answers it: a refused or cut connection is a server being restarted."""
        while True:
            try:
                await action()
                return
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.1)

    async def get(self, session: aiohttp.ClientSession, path: str) -> None:
        async with session.get(self.url + path) as response:
            assert response.status == 200

    async def read(self, session: aiohttp.ClientSession, wait: float) -> None:
        async with session.get(f"{self.url}/api/messages?after={self.last_id}&wait={wait}") as response:
            assert response.status == 200
            body = await response.json()
        for message in body["messages"]:
            self.messages.append(message)
            reference = find_reference(message["text"]) if message["version"] is None else None
            if reference and reference not in self.receipts:
                self.receipts.add(reference)
                self.since_last_kill += 1
                self.filed += 1
        self.last_id = body["last_id"]

    async def post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        async with session.post(self.url + "/api/messages", json=body) as response:
            assert response.status == 202, await response.text()

    def next_turn(self, stop: asyncio.Event) -> dict[str, Any] | None:
        """What to send now: the answer to the latest question (None: stop, between two requests)."""
        prompt = next((message for message in reversed(self.messages) if message["version"] is not None), None)
        if prompt is None:
            return {"text": "Bonjour"}
        offered = [option["id"] for option in prompt["options"]]
        for choice in CHOICES:
            if choice in offered:
                if choice == "access" and stop.is_set() and self.since_last_kill > 0:
                    return None
                return {"choice": {"id": choice, "version": prompt["version"]}}
        if prompt["text"] == question("topic"):
            return {"text": f"Le budget 2025 de la commune, demande {self.number}-{self.filed}"}
        if prompt["text"] in ANSWERS:
            return {"text": ANSWERS[prompt["text"]]}
        return {"text": "menu"}  # anything else: back to the menu, and start again


@pytest.fixture
async def server(db_settings: Settings, tmp_path: Path) -> AsyncIterator[Server]:
    """`bab run` on each database in turn (tests/conftest.py's `db_settings`: a migrated copy with the directory)."""
    url = db_settings.database_url
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "BAB_DATA_DIR": str(tmp_path), "BAB_PORT": str(port),
           "BAB_HOST": "127.0.0.1", "BAB_SCHEDULER": "off", "BAB_LOG_LEVEL": "WARNING", "BAB_DEFAULT_LOCALE": "fr",
           "BAB_INBOUND_BURST": "0",  # scripted citizens write faster than people: no flood limit
           # The server encrypts with the keys this test reads with (the database came migrated with them).
           "BAB_DATA_KEYS": ",".join(db_settings.data_keys), "BAB_HASH_KEY": db_settings.hash_key}
    for variable in ("TELEGRAM_BOT_TOKEN", "WHATSAPP_TOKEN", "BAB_PUBLIC_URL"):
        env.pop(variable, None)
    found = Server(env, f"http://127.0.0.1:{port}")
    await found.start()
    yield found
    await found.stop()


async def test_sigkill_at_random_moments_loses_and_doubles_nothing(server: Server) -> None:
    rng = random.Random(KILLS)
    stop = asyncio.Event()
    citizens = [Citizen(number, server.url) for number in range(CITIZENS)]
    running = [asyncio.create_task(citizen.run(stop)) for citizen in citizens]
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(0.1, 0.8))  # requests in flight, turns half done, the outbox busy
        await server.kill()
        for citizen in citizens:
            citizen.since_last_kill = 0
        await server.start()
    stop.set()
    await asyncio.wait_for(asyncio.gather(*running), 120)
    await asyncio.sleep(1.0)  # the last receipts' outbox rows are marked sent
    await server.stop()

    told = {reference for citizen in citizens for reference in citizen.receipts}
    engine = create_engine(server.env["DATABASE_URL"])
    try:
        async with create_sessionmaker(engine)() as session:
            stored = list(await session.execute(select(tables.Request.reference, tables.Request.subject)))
            pending = await session.scalar(select(func.count()).select_from(tables.OutboxMessage)
                                           .where(tables.OutboxMessage.status == "pending"))
    finally:
        await engine.dispose()
    references = [reference for reference, _ in stored]
    subjects = [subject for _, subject in stored]
    assert server.starts == KILLS + 1
    assert len(told) >= CITIZENS * 2, "the citizens filed too little to prove anything"
    assert told <= set(references), f"confirmed but lost: {sorted(told - set(references))}"
    assert len(set(subjects)) == len(subjects), "a request was filed twice"
    assert set(references) <= told, f"filed but the citizen never got the receipt: {sorted(set(references) - told)}"
    assert all(citizen.since_last_kill >= 1 for citizen in citizens), "a conversation is stuck"
    assert pending == 0
