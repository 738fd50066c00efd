"""The inbox through the console channel: a citizen files, a clerk links, opens and answers, the citizen rates.

One test runs the real `bab staff` and `bab chat` commands as processes sharing one SQLite database (stdin,
stdout, exit codes); the conversation itself runs the same console loop in-process (tests/e2e/console_helpers.py),
which is much faster than a process per terminal session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.staff import Role
from bot.services.clock import FixedClock
from bot.services.staff import StaffAdmin
from tests.e2e.console_helpers import run_chat
from tests.e2e.desk_helpers import TETOUAN


def bab(data_dir: Path, *args: str, stdin: str = "") -> str:
    env = {**os.environ, "BAB_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'bab.sqlite3'}",
           "BAB_DEFAULT_LOCALE": "fr", "TELEGRAM_BOT_USERNAME": "BabTestBot"}
    result = subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_commands_share_the_database_as_processes(tmp_path: Path, template_db: tuple[Path, Directory]) -> None:
    shutil.copy(template_db[0], tmp_path / "bab.sqlite3")
    invited = bab(tmp_path, "staff", "invite", "--role", "clerk", "--collectivity", TETOUAN, "--name", "Fatima")
    code = re.search(r"staff-[a-z2-9]{16}", invited)
    assert code is not None and f"https://t.me/BabTestBot?start={code.group(0)}" in invited
    out = bab(tmp_path, "chat", "--user", "fatima", stdin=f"{code.group(0)}\n/inbox\n")
    assert "Fatima" in out and "  1. " in out  # linked, then the (empty) inbox with its numbered choices


async def test_clerk_answers_from_the_console(settings: Settings, clock: FixedClock,
                                              template_db: tuple[Path, Directory]) -> None:
    async def terminal(user: str, lines: list[str]) -> str:
        return await run_chat(settings, clock, template_db, lines, user=user, locale="fr")

    from bot.app import build

    app = await build(settings, clock=clock, directory=template_db[1])
    try:
        invite = await StaffAdmin(app.sessions, app.directory, app.clock).invite(Role.CLERK, [TETOUAN], "Fatima")
    finally:
        await app.close()

    citizen = ["Bonjour", "1", "Le budget 2025 de la commune", "tetouan", "1", "1", "1", "Amina El Idrissi",
               "AB123456", "0612345678", "1"]
    out = await terminal("amina", citizen)
    reference = re.search(r"BAB-[2-9A-Z]{6}", out)
    assert reference is not None

    out = await terminal("fatima", [invite.code, "1", "2", "Voici le budget 2025.", "1"])
    assert reference.group(0) in out and "Amina El Idrissi" in out  # the inbox, then the request opened
    assert "Amina" not in await terminal("intruder", ["/inbox", reference.group(0)])

    out = await terminal("amina", ["1"])  # the answer waited for this terminal
    assert "Voici le budget 2025." in out
    app = await build(settings, clock=clock, directory=template_db[1])
    try:
        listed = await StaffAdmin(app.sessions, app.directory, app.clock).list()
    finally:
        await app.close()
    assert [(staff.name, channel) for staff, _, channel in listed] == [("Fatima", "console")]  # `bab staff list`
