"""Which paced channels this process may send on, when several `bab run` share one PostgreSQL.

A channel's limits are the bot's or the number's, not a process's: two workers each pacing Telegram to 30 a second
would send 60. So on PostgreSQL one process at a time sends on each paced channel: the one holding that
channel's session advisory lock, on a connection kept for it. When that process dies, its connection closes and
the lock goes to the next worker that asks (every `every` seconds). Unpaced channels (the web chat) need no lock.
On SQLite (one process per database file) every channel is this process's.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def lock_key(channel: str) -> int:
    """The advisory lock's 64-bit key for a channel (stable across processes and releases)."""
    return int.from_bytes(hashlib.sha256(b"bab-outbox:" + channel.encode()).digest()[:8], "big", signed=True)


class ChannelLocks:
    """Holds, or tries every `every` seconds to take, the send lock of each paced channel."""

    def __init__(self, engine: AsyncEngine, every: float = 5.0) -> None:
        self.engine = engine
        self.every = every
        self.shared = engine.dialect.name == "postgresql"
        self._connection: AsyncConnection | None = None
        self._held: set[str] = set()
        self._tried_at = -float("inf")

    async def held(self, channels: Iterable[str]) -> set[str]:
        """The channels among `channels` this process may send on now."""
        wanted = set(channels)
        if not self.shared:
            return wanted
        if time.monotonic() - self._tried_at >= self.every:
            self._tried_at = time.monotonic()
            try:
                if self._connection is None:
                    self._connection = await self.engine.connect()
                await self._connection.scalar(select(1))  # the connection (and so the locks) still stands
                for channel in sorted(wanted - self._held):
                    if await self._connection.scalar(select(func.pg_try_advisory_lock(lock_key(channel)))):
                        self._held.add(channel)
                        log.info("outbox sends on channel=%s in this process", channel)
                await self._connection.commit()  # the locks are the session's: they outlive the transaction
            except Exception:  # the connection broke: whatever it held is released; try again later
                log.warning("outbox channel locks lost", exc_info=True)
                await self.close()
        return wanted & self._held

    async def close(self) -> None:
        """Give the locks back (closing their connection)."""
        self._held.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:
                log.warning("outbox channel lock connection did not close cleanly", exc_info=True)
