"""`bab chat` in a terminal: a full complaint typed as numbers and text, through the console channel's loop
(in-process, on text streams; tests/e2e/test_console_desk.py runs the real command as a process)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.domain.directory import Directory
from bot.services.clock import FixedClock
from tests.e2e.console_helpers import run_chat


async def test_console_complaint_then_resume_after_restart(settings: Settings, clock: FixedClock,
                                                           template_db: tuple[Path, Directory]) -> None:
    out = await run_chat(settings, clock, template_db, ["salam", "2", "1", "tetouan"])
    assert "  1. " in out and "BAB-" not in out
    # A new Bab (a new process) finds the conversation where it stopped (state lives in the database).
    out = await run_chat(settings, clock, template_db, ["1", "1", "الضو ديال الزنقة مطفي هادي سيمانة كاملة", "",
                                                        "skip"])
    assert "BAB-" not in out
    out = await run_chat(settings, clock, template_db, ["1", "1"])  # skip the contact, then send
    assert "BAB-" in out and "60" in out
    out = await run_chat(settings, clock, template_db, ["3"])  # my requests
    assert "BAB-" in out
