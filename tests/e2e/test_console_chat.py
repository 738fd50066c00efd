"""`bab chat` in a terminal: a full complaint typed as numbers and text, through the real command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.domain.directory import Directory


def run_chat(data_dir: Path, lines: list[str], user: str = "amina") -> str:
    env = {**os.environ, "BAB_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'bab.sqlite3'}",
           "BAB_DEFAULT_LOCALE": "ary"}
    result = subprocess.run([sys.executable, "-m", "bot", "chat", "--user", user], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_complaint_then_resume_after_restart(tmp_path: Path, template_db: tuple[Path, Directory]) -> None:
    shutil.copy(template_db[0], tmp_path / "bab.sqlite3")
    out = run_chat(tmp_path, ["salam", "2", "1", "tetouan"])
    assert "  1. " in out and "BAB-" not in out
    # A new process finds the conversation where it stopped (state lives in the database).
    out = run_chat(tmp_path, ["1", "1", "الضو ديال الزنقة مطفي هادي سيمانة كاملة", "", "skip"])
    assert "BAB-" not in out
    out = run_chat(tmp_path, ["1", "1"])  # skip the contact, then send
    assert "BAB-" in out and "60" in out
    out = run_chat(tmp_path, ["3"])  # my requests
    assert "BAB-" in out
