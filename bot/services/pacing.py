"""Pacing: when a channel's next message may go, within its limits per sender and per recipient.

A `Pace` states a channel's limits: `per_second` messages on the whole channel (a Telegram bot, a WhatsApp
number) after a burst of `burst`, and one message every `recipient_interval` seconds to one recipient after a
burst of `recipient_burst`. A `Pacer` keeps those two budgets with the generic cell rate algorithm (GCRA, the
virtual-scheduling form): each budget is one "theoretical arrival time" (TAT); a cell may go at `t` when
`TAT - t <= (burst - 1) * interval`, and moves the TAT one interval on.

A payload may need several API calls (a long text cut in pieces, files): it costs `cost` cells. Reserving `n`
cells and starting when the n-th of them is allowed keeps all n calls within both budgets, as long as `n` is
no more than the burst (more than a burst of calls at once can never conform: they go when the n-th cell is
allowed and the budget is charged for all of them, so what follows waits accordingly).

Requests reach the channel's servers a little later than their slot, and not all equally late (new
connections, a busy event loop): sends scheduled to the limit would then arrive bunched and over it. So each
budget keeps `jitter` seconds in hand (at most its burst's worth): a burst leaves that much of the budget
unused, which absorbs arrival spreads up to `jitter` without lowering the sustained rate.

The channel's budget is a queue in time order: reserve when the recipient's own budget allows the send
(`recipient_earliest(...) <= now`), as the dispatcher does. A slot reserved further ahead is still correct, but
it holds the channel's budget for every other recipient until then.

Times are floats of one monotonic clock (the event loop's `loop.time()`); the pacer never sleeps nor reads a
clock itself, so it is plain arithmetic and tested as such. It is per process: run one dispatcher per bot or
number, or give each process its share of the rate. Memory stays bounded: a recipient whose budget is whole
again (its TAT is in the past) is forgotten, which changes nothing about when its next message may go.
"""

from __future__ import annotations

from dataclasses import dataclass

JITTER = 0.2  # seconds of arrival spread each budget absorbs (see the module docstring)


@dataclass(frozen=True)
class Pace:
    """A channel's limits: `per_second` after `burst` overall; one per `recipient_interval` after `recipient_burst`."""

    per_second: float
    burst: int
    recipient_interval: float
    recipient_burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1 or self.recipient_interval < 0 or self.recipient_burst < 1:
            raise ValueError(f"not a pace: {self!r}")


def _start(tat: float, at: float, interval: float, burst: int, cost: int, jitter: float) -> float:
    """When `cost` cells may start at or after `at`, given the budget's TAT: when the last of them is allowed,
    with `jitter` seconds of the burst kept in hand."""
    spare = min(jitter, (burst - 1) * interval)
    return max(at, tat + (cost - burst) * interval + spare, at + (cost - burst) * interval)


class Pacer:
    """The two budgets of one channel (channel-wide and per recipient); see the module docstring."""

    def __init__(self, pace: Pace, max_recipients: int = 10_000, jitter: float = JITTER) -> None:
        self.pace = pace
        self.jitter = jitter
        self.interval = 1.0 / pace.per_second
        self.max_recipients = max_recipients
        self._tat = float("-inf")  # the channel's theoretical arrival time, over the reserved slots
        self._sent_tat = float("-inf")  # the same over the times the sends actually started (see `start`)
        self._recipients: dict[str, float] = {}  # recipient -> TAT, only while it is in the future
        self._prune_at = max_recipients
        # Moves on every pause: a send that reserved its slot before a pause must ask again before it goes.
        self.generation = 0

    def earliest(self, recipient: str, cost: int, now: float) -> float:
        """When a payload of `cost` calls to `recipient` could start, reserving nothing."""
        return _start(self._tat, self.recipient_earliest(recipient, cost, now), self.interval, self.pace.burst,
                      max(cost, 1), self.jitter)

    def recipient_earliest(self, recipient: str, cost: int, now: float) -> float:
        """When `recipient`'s own budget would let a payload of `cost` calls start, whatever the channel's."""
        pace = self.pace
        return _start(self._recipients.get(recipient, float("-inf")), now, pace.recipient_interval,
                      pace.recipient_burst, max(cost, 1), self.jitter)

    def reserve(self, recipient: str, cost: int, now: float) -> float:
        """Reserve `cost` cells for `recipient`; returns when (at or after `now`) the send may start.

        Call it once `recipient_earliest` has come (see the module docstring); the wait it returns is then
        the channel's queue only.
        """
        cost = max(cost, 1)
        start = self.earliest(recipient, cost, now)
        # Charged from the actual start, so that a send held back by one budget still counts in full in the other.
        self._tat = max(self._tat, start) + cost * self.interval
        self._recipients[recipient] = (max(self._recipients.get(recipient, now), start)
                                       + cost * self.pace.recipient_interval)
        if len(self._recipients) > self._prune_at:
            self.forget(now)
        return start

    def start(self, recipient: str, cost: int, now: float) -> float:
        """A reserved send is about to start: returns how long it must still wait (0 nearly always).

        Slots are kept by sleeping until them, and a sleeper may wake late (a busy event loop) while the sends
        after it wake on time: bunched, they could break a limit their slots kept. So the channel's budget is
        also kept over the actual start times, in the order they come, and the recipient's is moved on from
        the actual start.
        """
        cost = max(cost, 1)
        at = _start(self._sent_tat, now, self.interval, self.pace.burst, cost, self.jitter)
        self._sent_tat = max(self._sent_tat, at) + cost * self.interval
        self._tat = max(self._tat, self._sent_tat)  # late sends push the slots still to come
        if self.pace.recipient_interval > 0:
            self._recipients[recipient] = max(self._recipients.get(recipient, at),
                                              at + cost * self.pace.recipient_interval)
        return at - now

    def pause_channel(self, seconds: float, now: float) -> None:
        """Nothing goes on the channel for `seconds` (it was throttled); then one interval at a time, no burst."""
        until = now + max(seconds, 0.0)
        self._tat = max(self._tat, until + (self.pace.burst - 1) * self.interval)
        self._sent_tat = max(self._sent_tat, self._tat)
        self.generation += 1

    def pause_recipient(self, recipient: str, seconds: float, now: float) -> None:
        """Nothing goes to `recipient` for `seconds`; then one message per interval, no burst."""
        until = now + max(seconds, 0.0)
        pace = self.pace
        self._recipients[recipient] = max(self._recipients.get(recipient, now),
                                          until + (pace.recipient_burst - 1) * pace.recipient_interval)
        self.generation += 1

    def backlog(self, now: float) -> float:
        """Seconds of channel budget already reserved beyond the burst: how long a new send would wait."""
        return max(0.0, self._tat - (self.pace.burst - 1) * self.interval - now)

    def forget(self, now: float) -> None:
        """Drop the recipients whose budget is whole again (their next message may go at once)."""
        self._recipients = {recipient: tat for recipient, tat in self._recipients.items() if tat > now}
        self._prune_at = max(self.max_recipients, 2 * len(self._recipients))

    def __len__(self) -> int:
        """How many recipients the pacer remembers."""
        return len(self._recipients)
