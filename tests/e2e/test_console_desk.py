"""The inbox through the console channel and the real `bab staff` and `bab chat` commands, in separate
processes sharing one SQLite database: a citizen files, a clerk links, opens and answers, the citizen rates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot.domain.directory import Directory


def bab(data_dir: Path, *args: str, stdin: str = "") -> str:
    env = {**os.environ, "BAB_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'bab.sqlite3'}",
           "BAB_DEFAULT_LOCALE": "fr", "TELEGRAM_BOT_USERNAME": "BabTestBot"}
    result = subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_clerk_answers_from_the_console(tmp_path: Path, template_db: tuple[Path, Directory]) -> None:
    shutil.copy(template_db[0], tmp_path / "bab.sqlite3")
    invited = bab(tmp_path, "staff", "invite", "--role", "clerk", "--collectivity", "01.571.01.11", "--name", "Fatima")
    code = re.search(r"staff-[a-z2-9]{16}", invited)
    assert code is not None and f"https://t.me/BabTestBot?start={code.group(0)}" in invited

    citizen = ["Bonjour", "1", "Le budget 2025 de la commune", "tetouan", "1", "1", "1", "Amina El Idrissi",
               "AB123456", "0612345678", "1"]
    out = bab(tmp_path, "chat", "--user", "amina", stdin="\n".join(citizen) + "\n")
    reference = re.search(r"BAB-[2-9A-Z]{6}", out)
    assert reference is not None

    out = bab(tmp_path, "chat", "--user", "fatima", stdin=f"{code.group(0)}\n1\n2\nVoici le budget 2025.\n1\n")
    assert reference.group(0) in out and "Amina El Idrissi" in out  # the inbox, then the request opened
    assert "Amina" not in bab(tmp_path, "chat", "--user", "intruder", stdin="/inbox\n" + reference.group(0) + "\n")

    out = bab(tmp_path, "chat", "--user", "amina", stdin="1\n")  # the answer waited for this terminal
    assert "Voici le budget 2025." in out
    listed = bab(tmp_path, "staff", "list")
    assert "Fatima" in listed and "linked on console" in listed
