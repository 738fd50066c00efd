"""Flood limits a fake API enforces, as Telegram does: 429 with retry_after when a bot sends too fast.

Telegram's FAQ: about 30 messages a second per bot, about one a second per chat (short bursts tolerated, then
429), 20 a minute per group. Each budget here is a generic cell rate algorithm (GCRA) checked when the request
reaches the server, with a small jitter tolerance: requests a client scheduled on time reach the server a few
milliseconds late and bunched up (the event loop, the connection pool), which real servers absorb too. A call
over a limit is refused (not counted in the budget) and counted in `errors`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Bot API methods that send a message to a chat (what the flood limits count).
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendLocation", "sendVideo",
                             "sendAudio", "sendVoice", "sendMediaGroup", "copyMessage", "forwardMessage"})


@dataclass
class Budget:
    """One GCRA budget: a cell every `interval` seconds after a burst of `burst`, `tolerance` seconds of slack."""

    interval: float
    burst: int
    tolerance: float = 0.0
    tat: float = float("-inf")

    def wait(self, now: float) -> float:
        """Seconds until a cell would conform (0 when it does now)."""
        return max(0.0, self.tat - (self.burst - 1) * self.interval - self.tolerance - now)

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


@dataclass
class FloodLimits:
    """Telegram's limits for one bot; `check` each call, read `errors` and `accepted` afterwards."""

    per_second: float = 30.0
    burst: int = 30
    chat_interval: float = 1.0
    chat_burst: int = 3
    group_interval: float = 3.0  # 20 a minute
    group_burst: int = 20
    tolerance: float = 0.05
    clock: Callable[[], float] = time.monotonic  # the event loop's clock, so a pacer and this one agree
    errors: int = 0
    accepted: list[tuple[float, int]] = field(default_factory=list)  # (time, chat id) of every message let through
    refused: list[tuple[float, int, str]] = field(default_factory=list)  # (time, chat id, "bot" or "chat")
    _bot: Budget | None = None
    _chats: dict[int, Budget] = field(default_factory=dict)

    def check(self, method: str, chat_id: object) -> int | None:
        """None when the call may go (and is counted), else the retry_after (whole seconds) to answer 429 with."""
        if method not in MESSAGE_METHODS or chat_id is None:
            return None
        now = self.clock()
        chat = int(str(chat_id))
        if self._bot is None:
            self._bot = Budget(1.0 / self.per_second, self.burst, self.tolerance)
        budget = self._chats.get(chat)
        if budget is None:
            budget = self._chats[chat] = (Budget(self.chat_interval, self.chat_burst, self.tolerance) if chat > 0
                                          else Budget(self.group_interval, self.group_burst, self.tolerance))
        bot_wait, chat_wait = self._bot.wait(now), budget.wait(now)
        wait = max(bot_wait, chat_wait)
        if wait > 0:
            self.errors += 1
            self.refused.append((now, chat, "bot" if bot_wait >= chat_wait else "chat"))
            return max(1, math.ceil(wait))
        self._bot.take(now)
        budget.take(now)
        self.accepted.append((now, chat))
        return None
