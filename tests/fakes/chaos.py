"""A seeded random fault mode for the fake channel APIs: a share of the calls that send a message fails.

Faults, drawn with equal weight unless `kinds` says otherwise:
- "timeout": the fake holds the call longer than the client waits (`delay`), and does not deliver it;
- "throttle": 429 with retry_after (Telegram) or 130429 (WhatsApp), not delivered;
- "5xx": a bare 502/503, not delivered;
- "reset": the connection is dropped (RST) before anything is done;
- "lost_reset", "lost_5xx", "lost_late": lost acknowledgements: the message IS delivered, then the connection
  is dropped, or a 5xx is answered, or the answer comes later than the client waits.
"""

from __future__ import annotations

import random
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

KINDS = ("timeout", "throttle", "5xx", "reset", "lost_reset", "lost_5xx", "lost_late")
LOST_ACKS = frozenset({"lost_reset", "lost_5xx", "lost_late"})


@dataclass
class Chaos:
    """Fail about `rate` of the calls, with a fault drawn from `kinds`; the same seed draws the same sequence."""

    rate: float = 0.2
    seed: int = 13
    kinds: tuple[str, ...] = KINDS
    delay: float = 1.0  # how long a "timeout" or "lost_late" holds its answer: more than the client's timeout
    plan: list[str | None] = field(default_factory=list)  # faults for the next calls, in order, before any draw
    drawn: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self) -> str | None:
        """The fault for the next call, or None for a normal answer."""
        self.calls += 1
        if self.plan:
            kind = self.plan.pop(0)
            if kind is not None:
                self.drawn[kind] += 1
            return kind
        if self._random.random() >= self.rate:
            return None
        kind = self._random.choice(self.kinds)
        self.drawn[kind] += 1
        return kind

    @property
    def faults(self) -> int:
        return sum(self.drawn.values())

    @property
    def lost_acks(self) -> int:
        return sum(count for kind, count in self.drawn.items() if kind in LOST_ACKS)


def reset(request: web.Request) -> None:
    """Drop the connection with a RST, as a dropped peer would; the answer never reaches the client."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
