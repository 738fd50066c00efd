"""A golden transcript as a test's setup: one person's lines played on any channel, the same words everywhere.

Tests that need a filed request (the desk, deliveries, files) play `access_request_fr` or `access_request_ary`
instead of typing their own copy of the conversation, so the conversation is written down once.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.golden.players import Player
from tests.golden.transcript import TRANSCRIPTS, CITIZEN, Reply, Transcript, load


def transcript(name: str) -> Transcript:
    """The golden transcript `name` (a file stem of tests/golden/transcripts/)."""
    return load(TRANSCRIPTS / f"{name}.txt")


async def play(name: str, person: Player, *, start: int = 0, fill: Mapping[str, str] | None = None,
               actor: str = CITIZEN) -> list[Reply]:
    """Play `actor`'s lines of transcript `name` from line `start` (0: the greeting), each word or option id swapped
    by `fill` where it says so; the replies to the last line."""
    await person.fetch(actor)  # what reached the person before is not part of this play
    replies: list[Reply] = []
    for turn in transcript(name).turns[start:]:
        if turn.actor != actor:
            continue
        value = (fill or {}).get(turn.value, turn.value)
        await (person.tap(value) if turn.kind == "tap" else person.say(value))
        replies = await person.fetch(actor)
    return replies


def texts(replies: list[Reply]) -> str:
    """The replies' texts, one after the other."""
    return "\n".join(reply.text for reply in replies)
