"""A polite limit on how fast one person's messages are read, so that one flooding sender slows nobody else.

Each sender (channel, id) has a budget of `burst` messages that refills at `per_second` (the same GCRA as
`bot.services.pacing`). A message beyond it is not read: it never opens a transaction, so it takes no database
lock from the others. The first message of a run of refusals gets one notice; the rest of the run is silent.

The budgets are per process and bounded (the oldest forgotten first): a limit on abuse, not an accounting. A
person who writes like people do (a burst of a few messages, then a reply every few seconds) never meets it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to read the message, and (when not) whether to say so (only the first refusal of a run)."""

    read: bool
    tell: bool = False


class Throttle:
    """Per-sender message budgets: `burst` at once, then `per_second`; times are seconds of one monotonic clock."""

    def __init__(self, per_second: float, burst: int, max_senders: int = 50_000) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a throttle needs a positive rate and a burst of at least one")
        self.interval = 1.0 / per_second
        self.tolerance = (burst - 1) * self.interval
        self.max_senders = max_senders
        # sender -> (theoretical arrival time, refused since the last read message)
        self._budgets: OrderedDict[tuple[str, str], tuple[float, bool]] = OrderedDict()

    def check(self, sender: tuple[str, str], now: float) -> Verdict:
        """Charge one message to `sender` at `now` if its budget allows it."""
        tat, refusing = self._budgets.pop(sender, (now, False))
        tat = max(tat, now)
        if tat - now <= self.tolerance:
            self._remember(sender, (tat + self.interval, False))
            return Verdict(read=True)
        self._remember(sender, (tat, True))
        return Verdict(read=False, tell=not refusing)

    def _remember(self, sender: tuple[str, str], budget: tuple[float, bool]) -> None:
        self._budgets[sender] = budget
        while len(self._budgets) > self.max_senders:
            self._budgets.popitem(last=False)
