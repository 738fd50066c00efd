"""Reading HTTP bodies with a ceiling that holds whatever Content-Length claims (chunked bodies have none)."""

from __future__ import annotations

import aiohttp


async def read_limited(stream: aiohttp.StreamReader, max_bytes: int) -> bytes | None:
    """The whole stream, or None as soon as it passes `max_bytes` (whatever Content-Length claimed)."""
    data = bytearray()
    async for chunk in stream.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > max_bytes:
            return None
    return bytes(data)
