"""Run the console channel (`bab chat`) in-process: the same `bot.handlers.console.chat` loop, on text streams.

Each call builds a new Bab on the test's database and closes it, like a new `bab chat` process would.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
from pathlib import Path

from bot.app import build
from bot.config import Settings
from bot.domain.directory import Directory
from bot.handlers.console import chat
from bot.services.clock import FixedClock


async def run_chat(settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory], lines: list[str],
                   user: str = "amina", locale: str | None = None) -> str:
    """What `bab chat --user USER` prints for these input lines."""
    if locale is not None:
        settings = dataclasses.replace(settings, default_locale=locale)
    bab = await build(settings, clock=clock, directory=template_db[1])
    out = io.StringIO()
    try:
        stdin = io.StringIO("".join(line + "\n" for line in lines))
        # The app wiring is being reworked: `chat` takes the Bab, or its conversations and dispatcher.
        if "bab" in inspect.signature(chat).parameters:
            await chat(bab, user, stdin=stdin, out=out)  # type: ignore[arg-type, call-arg]
        else:
            await chat(bab.conversations, bab.dispatcher, user, stdin=stdin, out=out)
    finally:
        await bab.close()
    return out.getvalue()
