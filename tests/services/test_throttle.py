"""One sender's flood is not read past a burst, gets one polite notice, and slows nobody else."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import Bab, build
from bot.config import Settings
from bot.domain.directory import Directory
from bot.flows.spec import Inbound, InboundKind
from bot.i18n import translator
from bot.services.clock import FixedClock
from bot.services.throttle import Throttle, Verdict
from bot.storage import tables


def test_a_burst_then_the_rate_and_one_notice_per_run_of_refusals() -> None:
    throttle = Throttle(per_second=1.0, burst=3)
    amina = ("web", "amina")
    assert [throttle.check(amina, 0.0) for _ in range(5)] == [
        Verdict(True), Verdict(True), Verdict(True), Verdict(False, tell=True), Verdict(False, tell=False)]
    assert throttle.check(("web", "youssef"), 0.0) == Verdict(True)  # someone else has their own budget
    assert throttle.check(amina, 1.0) == Verdict(True)  # one more a second
    assert throttle.check(amina, 1.0) == Verdict(False, tell=True)  # a new run of refusals: told again
    assert throttle.check(amina, 10.0) == Verdict(True)


def test_the_budgets_stay_bounded() -> None:
    throttle = Throttle(per_second=1.0, burst=1, max_senders=100)
    for number in range(1000):
        throttle.check(("web", str(number)), 0.0)
    assert len(throttle._budgets) == 100


@pytest.fixture
async def limited(settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    app = await build(dataclasses.replace(settings, inbound_burst=5, default_locale="fr"), clock=clock,
                      directory=template_db[1])
    yield app
    await app.close()


async def test_a_flooder_is_read_up_to_the_burst_and_told_once(limited: Bab, clock: FixedClock) -> None:
    menu = Inbound(kind=InboundKind.TEXT, text="menu")
    handled = [await limited.conversations.handle("web", "flooder", menu, message_id=f"f{n}") for n in range(12)]
    assert [h.throttled for h in handled] == [False] * 5 + [True] * 7
    other = await limited.conversations.handle("web", "neighbour", menu)
    assert not other.throttled
    async with limited.sessions() as session:
        read = await session.scalar(select(func.count()).select_from(tables.InboundMessage))
        texts = list(await session.scalars(select(tables.OutboxMessage.payload)))
    assert read == 6  # the flooder's five, the neighbour's one: the rest never opened a transaction
    notice = translator("fr")("You are sending messages faster than I can read them, so I did not read the last "
                              "ones. Wait for my answer, then write again.")
    assert [payload["text"] for payload in texts].count(notice) == 1
    clock.advance(seconds=2)
    assert not (await limited.conversations.handle("web", "flooder", menu, message_id="later")).throttled
