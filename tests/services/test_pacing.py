"""Pacing: the pacer's arithmetic, and the dispatcher keeping each chat to its pace without holding up the others,
through the real Telegram sender against a fake Bot API that enforces Telegram's flood limits."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st
from sqlalchemy import select

from bot.app import Bab, build
from bot.config import Settings
from bot.domain.directory import Directory
from bot.flows.spec import FileRef, Inbound, InboundKind, Outbound
from bot.handlers.telegram import TELEGRAM_PACE, TelegramSender
from bot.services.clock import FixedClock
from bot.services.outbox import DeliveryError, WaitForWindow
from bot.services.pacing import Pace, Pacer
from bot.storage import repos, tables
from tests.fakes.limits import Budget, FloodLimits
from tests.fakes.telegram_api import FakeTelegramAPI

# --- the pacer's arithmetic ---------------------------------------------------------------------------------

WIDE = 1000.0  # a channel budget too wide to matter


def exact(pace: Pace, max_recipients: int = 10_000) -> Pacer:
    """A pacer without the jitter margin, for the arithmetic of the budgets themselves."""
    return Pacer(pace, max_recipients=max_recipients, jitter=0.0)


def test_a_recipient_gets_its_burst_then_one_per_interval_and_others_are_not_held_back() -> None:
    pacer = exact(Pace(per_second=WIDE, burst=1000, recipient_interval=1.0, recipient_burst=3))
    assert [pacer.reserve("a", 1, 0.0) for _ in range(3)] == pytest.approx([0, 0, 0])
    assert pacer.earliest("a", 1, 0.0) == pytest.approx(1.0)  # earliest reserves nothing
    assert pacer.recipient_earliest("a", 1, 0.0) == pytest.approx(1.0)
    assert pacer.reserve("b", 1, 0.0) == pytest.approx(0.0)  # another chat is not held back
    slots = []
    now = 0.0
    for _ in range(3):  # as the dispatcher does: wait for the recipient's slot, then reserve
        now = pacer.recipient_earliest("a", 1, now)
        slots.append(pacer.reserve("a", 1, now))
    assert slots == pytest.approx([1, 2, 3])
    # Sent at its pace, the burst never came back; time refills it, one message per interval: 2.5 s after
    # its last slot "a" has two and a half messages of budget.
    assert [pacer.reserve("a", 1, 5.5) for _ in range(3)] == pytest.approx([5.5, 5.5, 6.0])


def test_the_channel_budget_spaces_everyone_after_its_burst() -> None:
    pacer = exact(Pace(per_second=20, burst=20, recipient_interval=0.0, recipient_burst=1))
    at = [pacer.reserve(f"chat-{number}", 1, 0.0) for number in range(25)]
    assert at[:20] == pytest.approx([0.0] * 20)
    assert at[20:] == pytest.approx([0.05, 0.10, 0.15, 0.20, 0.25])
    assert pacer.backlog(0.0) == pytest.approx(0.30)  # a new send would wait that long
    assert pacer.backlog(1.0) == 0.0


def test_a_payload_of_several_calls_starts_when_its_last_call_is_allowed() -> None:
    pacer = exact(Pace(per_second=WIDE, burst=1000, recipient_interval=1.0, recipient_burst=3))
    assert pacer.reserve("a", 3, 0.0) == pytest.approx(0.0)  # three calls fit in the burst
    assert pacer.recipient_earliest("a", 1, 0.0) == pytest.approx(1.0)  # and spend it
    assert pacer.reserve("b", 2, 0.0) == pytest.approx(0.0)
    assert pacer.earliest("b", 2, 0.0) == pytest.approx(1.0)  # its 4th call is allowed at 1 s: both go then
    assert pacer.reserve("b", 2, 1.0) == pytest.approx(1.0)
    assert pacer.earliest("b", 1, 1.0) == pytest.approx(2.0)
    channel = exact(Pace(per_second=10, burst=2, recipient_interval=0.0, recipient_burst=1))
    assert channel.reserve("x", 3, 0.0) == pytest.approx(0.1)  # three calls, two of burst: the third at 0.1 s


def test_pauses_hold_the_channel_or_one_recipient_then_resume_without_a_burst() -> None:
    pacer = exact(Pace(per_second=10, burst=10, recipient_interval=1.0, recipient_burst=3))
    generation = pacer.generation
    pacer.pause_channel(2.0, now=0.0)
    assert pacer.generation != generation
    assert pacer.earliest("a", 1, 0.0) == pytest.approx(2.0)
    assert [pacer.reserve(chat, 1, 0.0) for chat in "abc"] == pytest.approx([2.0, 2.1, 2.2])
    pacer.pause_recipient("z", 5.0, now=0.0)
    assert pacer.earliest("z", 1, 0.0) == pytest.approx(5.0)
    assert pacer.earliest("y", 1, 3.0) == pytest.approx(3.0)  # the others are not held
    assert [pacer.reserve("z", 1, 5.0) for _ in range(2)] == pytest.approx([5.0, 6.0])


def test_recipients_whose_budget_is_whole_are_forgotten() -> None:
    pacer = exact(Pace(per_second=WIDE, burst=1000, recipient_interval=1.0, recipient_burst=3), 50)
    for number in range(1000):  # one new person every 0.1 s, each forgotten a second after writing
        pacer.reserve(f"chat-{number}", 1, number * 0.1)
    assert len(pacer) <= 100
    pacer.forget(1000.0)
    assert len(pacer) == 0
    assert pacer.reserve("chat-1", 1, 1000.0) == pytest.approx(1000.0)


def test_a_jitter_margin_costs_part_of_the_burst_not_the_rate() -> None:
    pacer = Pacer(Pace(per_second=10, burst=5, recipient_interval=0.0, recipient_burst=1), jitter=0.1)
    assert [pacer.reserve(f"chat-{number}", 1, 0.0) for number in range(8)] == pytest.approx(
        [0, 0, 0, 0, 0.1, 0.2, 0.3, 0.4])  # a cell of the burst kept in hand, then 10 a second
    alone = Pacer(Pace(per_second=10, burst=1, recipient_interval=1.0, recipient_burst=3), jitter=0.1)
    # Never more than the burst's worth: without a burst there is nothing to keep, and the rate stays whole.
    assert [alone.reserve(f"chat-{number}", 1, 0.0) for number in range(3)] == pytest.approx([0, 0.1, 0.2])
    assert [alone.reserve("x", 1, 10.0), alone.reserve("x", 1, 10.0)] == pytest.approx([10.0, 10.1])


def test_a_send_woken_late_waits_behind_the_ones_that_went_on_time() -> None:
    pacer = exact(Pace(per_second=10, burst=2, recipient_interval=0.0, recipient_burst=1))
    slots = [pacer.reserve(f"chat-{number}", 1, 0.0) for number in range(4)]
    assert slots == pytest.approx([0, 0, 0.1, 0.2])
    # The first two slept through their slot (a busy loop) and start at 0.2 with the fourth, on time: bunched,
    # three cells at once would break the burst of two, so one of them waits.
    assert [pacer.start(f"chat-{number}", 1, 0.2) for number in (2, 3, 0)] == pytest.approx([0, 0, 0.1])


# The pacer's promise, checked against the same limits the fake Bot API enforces, strictly (no tolerance on the
# server's side): every call of every reserved payload, sent at its start and reaching the server up to the
# pacer's jitter late, conforms to both budgets.
reservations = st.lists(st.tuples(st.integers(0, 4), st.integers(1, 3), st.floats(0, 0.5), st.floats(0, 1)),
                        min_size=1, max_size=60)


@hypothesis_settings(max_examples=200, deadline=None)
@given(reservations)
def test_reserved_slots_never_break_the_limits(plan: list[tuple[int, int, float, float]]) -> None:
    pace = Pace(per_second=5, burst=4, recipient_interval=1.0, recipient_burst=3)
    pacer = Pacer(pace, jitter=0.1)
    now = 0.0
    calls: list[tuple[float, int]] = []
    for recipient, cost, step, lateness in plan:
        now += step
        start = pacer.reserve(str(recipient), cost, now)
        assert start >= now
        calls.extend((start + lateness * pacer.jitter, recipient) for _ in range(cost))
    channel = Budget(1 / pace.per_second, pace.burst)
    chats = {recipient: Budget(pace.recipient_interval, pace.recipient_burst) for _, recipient in calls}
    for at, recipient in sorted(calls):
        assert channel.wait(at) <= 1e-9 and chats[recipient].wait(at) <= 1e-9, (at, recipient, calls)
        channel.take(at)
        chats[recipient].take(at)


# --- the dispatcher, the Telegram sender and a rate-limited Bot API -----------------------------------------

@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as in tests/telegram/conftest.py


@pytest.fixture
async def limited_api() -> AsyncIterator[FakeTelegramAPI]:
    api = FakeTelegramAPI(limits=FloodLimits())
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def paced_bab(settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory],
                    limited_api: FakeTelegramAPI) -> AsyncIterator[Bab]:
    """A Bab whose Telegram sender keeps Telegram's real pace, against a fake that enforces Telegram's limits."""
    bab = await build(dataclasses.replace(settings, telegram_bot_token=limited_api.token,
                                          telegram_api_base_url=limited_api.base_url),
                      clock=clock, directory=template_db[1])
    assert bab.telegram is not None and bab.telegram.sender.pace == TELEGRAM_PACE
    yield bab
    await bab.close()


async def queue(bab: Bab, channel: str, external_id: str, texts: Sequence[str],
                options: tuple[tuple[str, str], ...] = ()) -> None:
    """Notices queued for one person in one transaction, as a scheduled job would."""
    async with bab.sessions() as session, session.begin():
        identity = await repos.identity_for(session, channel, external_id, bab.clock.now())
        for text in texts:
            await repos.enqueue(session, identity.id, channel, Outbound(text=text, locale="fr", options=options),
                                bab.clock.now())


async def rows(bab: Bab) -> list[tables.OutboxMessage]:
    async with bab.sessions() as session:
        return list((await session.scalars(select(tables.OutboxMessage).order_by(tables.OutboxMessage.id))).all())


async def until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)


def texts_to(api: FakeTelegramAPI, chat_id: int) -> list[str]:
    return [str(call.params.get("text", "")) for call in api.sent_to(chat_id)]


async def test_a_flooded_chat_does_not_delay_another_chat(paced_bab: Bab, limited_api: FakeTelegramAPI) -> None:
    flooded, other = 7001, 7002
    limits = limited_api.limits
    assert limits is not None
    await queue(paced_bab, "telegram", str(flooded), [f"Avis {number}" for number in range(30)])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    runner = asyncio.create_task(paced_bab.dispatcher.run(stop, idle=0.5))
    try:
        await until(lambda: len(limited_api.sent_to(flooded)) >= 3)  # its burst went; the rest waits its pace
        started = loop.time()
        await paced_bab.conversations.handle("telegram", str(other), Inbound(kind=InboundKind.TEXT, text="Bonjour"))
        await until(lambda: any(chat == other for _, chat in limits.accepted))
        latency = next(at for at, chat in limits.accepted if chat == other) - started
        assert latency < 0.5, latency  # milliseconds in practice; the flooded chat has seconds to go
        async with asyncio.timeout(10):  # the flooded chat: about three seconds at one message a second
            while not all(row.status == "sent" for row in await rows(paced_bab)):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        paced_bab.dispatcher.wake()
        await runner
    assert all(row.status == "sent" for row in await rows(paced_bab))
    # In order, each once, merged into fewer messages once the chat had to wait; never over Telegram's limits.
    numbers = [int(found) for text in texts_to(limited_api, flooded) for found in re.findall(r"Avis (\d+)", text)]
    assert numbers == list(range(30))
    assert len(limited_api.sent_to(flooded)) < 30
    assert limits.errors == 0
    assert len(limited_api.sent_to(other)) >= 2  # the greeting and the menu


async def test_queued_messages_are_merged_only_when_the_chat_would_wait(paced_bab: Bab,
                                                                        limited_api: FakeTelegramAPI) -> None:
    chat = 7010
    await queue(paced_bab, "telegram", str(chat), [f"Avis {number}" for number in range(6)])
    await paced_bab.dispatcher.dispatch_once()
    sent = texts_to(limited_api, chat)
    # Two of Telegram's burst of three went one by one, at once; the third would have waited (the pacer keeps
    # a fifth of a second of the burst in hand), so it and the ones behind it went as one message.
    assert sent == ["Avis 0", "Avis 1", "Avis 2\n\nAvis 3\n\nAvis 4\n\nAvis 5"]
    assert [row.status for row in await rows(paced_bab)] == ["sent"] * 6
    assert limited_api.limits is not None and limited_api.limits.errors == 0


async def test_messages_with_buttons_are_not_merged_and_keep_their_order(paced_bab: Bab,
                                                                         limited_api: FakeTelegramAPI) -> None:
    assert paced_bab.telegram is not None
    # A quicker pace than Telegram's (and a fake that enforces it), so that a dozen unmergeable messages take
    # a second, not twelve.
    pace = Pace(per_second=30, burst=30, recipient_interval=0.1, recipient_burst=3)
    paced_bab.telegram.sender.pace = pace
    limited_api.limits = FloodLimits(chat_interval=0.1, chat_burst=3)
    chat = 7020
    await queue(paced_bab, "telegram", str(chat), [f"Question {number}" for number in range(12)],
                options=(("yes", "Oui"), ("no", "Non")))
    await paced_bab.dispatcher.dispatch_once()
    assert texts_to(limited_api, chat) == [f"Question {number}" for number in range(12)]
    assert limited_api.limits.errors == 0
    times = [at for at, to in limited_api.limits.accepted if to == chat]
    assert times[-1] - times[0] >= 0.8  # 12 messages, 3 at once then one every 0.1 s


def test_telegram_cost_and_merge() -> None:
    sender = TelegramSender(bot=None, uploads_dir=Path("."))  # type: ignore[arg-type]  # no call is made
    pdf = (FileRef(1, "document", "file:a.pdf"), FileRef(2, "document", "file:b.pdf"))
    assert sender.cost(Outbound("salam", "fr")) == 1
    assert sender.cost(Outbound("", "fr", options=(("ok", "OK"),))) == 1  # "…" carries the buttons
    assert sender.cost(Outbound("x" * 5000, "fr", files=pdf)) == 4
    assert sender.cost(Outbound("", "fr", files=pdf[:1])) == 1
    plain = Outbound("Avis", "fr")
    asking = Outbound("Question ?", "fr", options=(("ok", "OK"),), version=4)
    assert sender.merge([plain, plain, asking]) == dataclasses.replace(asking, text="Avis\n\nAvis\n\nQuestion ?")
    assert sender.merge([asking, plain]) is None  # the buttons would no longer be on the last message
    assert sender.merge([dataclasses.replace(plain, files=pdf[:1]), plain]) is None  # nor the file in its place
    assert sender.merge([Outbound("x" * 3000, "fr"), Outbound("y" * 3000, "fr")]) is None  # two messages anyway


# --- channel outcomes: waiting for the person, a throttled channel ------------------------------------------

class ScriptedSender:
    """A paced channel at the HTTP boundary's place: answers each send from a script, records when sends went."""

    def __init__(self, pace: Pace | None, errors: dict[str, Exception] | None = None,
                 ids: bool = False) -> None:
        self.pace = pace
        self.errors = dict(errors or {})
        self.ids = ids
        self.sent: list[tuple[float, str, str]] = []
        self.tried: list[tuple[float, str]] = []

    async def send(self, external_id: str, message: Outbound) -> list[str] | None:
        now = asyncio.get_running_loop().time()
        self.tried.append((now, external_id))
        error = self.errors.pop(external_id, None)
        if error is not None:
            raise error
        self.sent.append((now, external_id, message.text))
        return [f"wamid.{external_id}.{len(self.sent)}", f"wamid.{external_id}.{len(self.sent)}b"] if self.ids else None


async def test_a_message_the_channel_may_not_send_now_waits_for_the_person(bab: Bab, clock: FixedClock) -> None:
    sender = ScriptedSender(None, {"p1": WaitForWindow("outside the 24-hour window")})
    bab.dispatcher.senders["scripted"] = sender
    await queue(bab, "scripted", "p1", ["Votre demande a reçu une réponse", "Notez la réponse"])
    attempted = await bab.dispatcher.dispatch_once()
    first, second = await rows(bab)
    assert (first.status, first.waited_at, first.attempts) == ("waiting", clock.now(), 0)  # not a failure
    # What followed it was given back unsent, then tried on its own (it does not wait behind a waiting one).
    assert second.status == "sent" and second.attempts == 1 and second.waited_at is None
    assert attempted == 2 and [text for _, _, text in sender.sent] == ["Notez la réponse"]


async def test_ids_the_channel_gives_are_recorded_with_the_sent_row(bab: Bab) -> None:
    bab.dispatcher.senders["scripted"] = ScriptedSender(None, ids=True)
    await queue(bab, "scripted", "p2", ["Réponse"])
    await bab.dispatcher.dispatch_once()
    async with bab.sessions() as session:
        recorded = (await session.scalars(select(tables.ChannelMessage).order_by(tables.ChannelMessage.id))).all()
    (row,) = await rows(bab)
    assert row.status == "sent"
    assert [(one.outbox_id, one.channel, one.external_id, one.status) for one in recorded] == [
        (row.id, "scripted", "wamid.p2.1", "accepted"), (row.id, "scripted", "wamid.p2.1b", "accepted")]


async def test_a_throttled_channel_pauses_every_recipient_on_it(bab: Bab, clock: FixedClock) -> None:
    pause = 0.4
    # One message every 0.1 s on the channel, no burst: the others are waiting for their slots when it fails.
    sender = ScriptedSender(Pace(per_second=10, burst=1, recipient_interval=0.0, recipient_burst=1),
                            {"p0": DeliveryError("throughput", retry_after=pause, scope="channel")})
    bab.dispatcher.senders["scripted"] = sender
    for number in range(5):
        await queue(bab, "scripted", f"p{number}", [f"Avis {number}"])
    await bab.dispatcher.dispatch_once()
    failed_at = sender.tried[0][0]
    assert sender.tried[0][1] == "p0"
    assert sorted(external_id for _, external_id, _ in sender.sent) == ["p1", "p2", "p3", "p4"]
    assert all(at >= failed_at + pause - 0.01 for at, _, _ in sender.sent), (failed_at, sender.sent)
    throttled = (await rows(bab))[0]
    # Retried after the pause, and not counted as an attempt of the message.
    assert throttled.status == "pending" and throttled.attempts == 0 and throttled.last_error == "throughput"
    clock.advance(seconds=1)
    await bab.dispatcher.dispatch_once()
    assert [row.status for row in await rows(bab)] == ["sent"] * 5


async def test_a_recipient_paced_beyond_the_horizon_goes_back_to_the_outbox(bab: Bab, clock: FixedClock) -> None:
    sender = ScriptedSender(Pace(per_second=100, burst=100, recipient_interval=10.0, recipient_burst=1))
    bab.dispatcher.senders["scripted"] = sender
    await queue(bab, "scripted", "p1", ["Un", "Deux"])
    await bab.dispatcher.dispatch_once()  # "Un" goes; "Deux" would wait 10 s, beyond the 5 s horizon
    first, second = await rows(bab)
    assert first.status == "sent" and second.status == "pending" and second.attempts == 0
    assert 9 <= (second.next_attempt_at - clock.now()).total_seconds() <= 10
