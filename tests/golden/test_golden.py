"""Every golden transcript, on every channel: the same texts and option ids (see tests/golden/__init__.py).

To rewrite the files from the current behaviour: `.venv/bin/python -m tests.golden record` (then `git diff`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.domain.staff import Role
from bot.services.staff import StaffAdmin
from tests.golden.conftest import CHANNELS
from tests.golden.players import Channel, Player
from tests.golden.transcript import Placeholders, Transcript, Turn, all_paths, load, render

RECORD = os.environ.get("BAB_GOLDEN_RECORD") == "1"


async def replay(transcript: Transcript, channel: Channel) -> Transcript:
    """Send the transcript's messages and taps on the channel; the transcript of what Bab actually answered."""
    placeholders = Placeholders()
    for directive in transcript.directives:
        if directive[0] == "invite":  # @invite ROLE SCOPE NAME: a staff invite, written {invite}
            role, scope, name = directive[1], directive[2], " ".join(directive[3:])
            scopes: list[str | None] = [None if scope == "national" else scope]
            invite = await StaffAdmin(channel.bab.sessions, channel.bab.directory, channel.bab.clock).invite(
                Role(role), scopes, name)
            placeholders.add("invite", invite.code)
        else:
            raise ValueError(f"{transcript.name}: unknown directive @{directive[0]}")
    people: dict[str, Player] = {}
    for index, actor in enumerate(transcript.actors):
        people[actor] = await channel.person(index)
    actual: list[Turn] = []
    for turn in transcript.turns:
        value = placeholders.fill(turn.value)
        person = people[turn.actor]
        await (person.tap(value) if turn.kind == "tap" else person.say(value))
        done = Turn(turn.actor, turn.kind, turn.value)
        # The person who acted first, then anyone else a notice reached.
        for actor in sorted(people, key=lambda name: name != turn.actor):
            for reply in await people[actor].fetch(actor):
                reply.text = placeholders.hide(reply.text)
                reply.options = [(placeholders.hide(option_id), placeholders.hide(label)) for option_id, label in reply.options]
                done.replies.append(reply)
        actual.append(done)
    return Transcript(transcript.name, transcript.header, actual)


# Every transcript runs on the web chat over SQLite, the reference; these also run on the other channels (each
# replay there costs a few seconds, and what differs between channels is rendering, not the conversation).
EVERYWHERE = {"access_request_ary", "clerk_answers_ar_ary", "access_request_fr"}
CASES = [(path, name) for path in all_paths() for name in CHANNELS
         if name == "web-sqlite" or path.stem in EVERYWHERE]


@pytest.mark.parametrize(("path", "channel"), CASES, indirect=["channel"],
                         ids=[f"{path.stem}-{name}" for path, name in CASES])
async def test_transcript(path: Path, channel: Channel) -> None:
    expected = load(path)
    actual = await replay(expected, channel)
    if RECORD:
        path.write_text(render(actual), encoding="utf-8")
        return
    assert render(actual, labels=channel.labels) == render(expected, labels=channel.labels), (
        f"{path.name} differs on {channel.name}; if the new wording is intended, re-record with "
        "`.venv/bin/python -m tests.golden record` and review `git diff tests/golden`")
