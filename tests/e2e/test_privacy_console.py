"""The citizen's rights in `bab chat` (the console channel's loop on text streams): /mydata prints the summary and
its two files, /forget withdraws the open request, and a new process finds nothing typed anywhere."""

from __future__ import annotations

import re
from pathlib import Path

from bot.app import build
from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.requests import find_reference
from bot.services import media
from bot.services.clock import FixedClock
from bot.storage import tables
from tests.e2e.console_helpers import run_chat
from tests.services.test_privacy import CARD, CONTACT, NAME, TOPIC, leftovers

LINES = ["Bonjour, je voudrais une information", TOPIC, "Tétouan", "1", "1", "1", NAME, CARD, CONTACT, "1"]


async def test_mydata_and_forget_in_the_terminal(settings: Settings, clock: FixedClock,
                                               template_db: tuple[Path, Directory]) -> None:
    out = await run_chat(settings, clock, template_db, LINES, locale="fr")
    reference = find_reference(out)
    assert reference is not None
    out = await run_chat(settings, clock, template_db, ["/mydata"], locale="fr")
    assert NAME in out and reference in out
    ids = [int(found) for found in re.findall(r"\[document (\d+)\]", out)]
    assert len(ids) == 2
    bab = await build(settings, clock=clock, directory=template_db[1])
    try:
        async with bab.sessions() as session:
            rows = [await session.get(tables.Attachment, file_id) for file_id in ids]
        paths = [media.path_of(settings.uploads_dir, row.ref) for row in rows if row is not None]
        assert all(path is not None and CARD.encode() in media.read(path) for path in paths)
    finally:
        await bab.close()

    out = await run_chat(settings, clock, template_db, ["/forget", "1"], locale="fr")
    assert reference in out
    bab = await build(settings, clock=clock, directory=template_db[1])
    try:
        assert await leftovers(bab, [NAME, CARD, CONTACT, TOPIC]) == []
        assert all(path is not None and not path.exists() for path in paths)
    finally:
        await bab.close()
