"""The CNDP register, the privacy page and the confirmation notice state what the settings say, in every language."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from bot.app import build, web_app
from bot.config import Settings, load_settings
from bot.domain.privacy_facts import (
    RECEIPT_PLACEHOLDER,
    PrivacyFacts,
    confirmation_line,
    notice,
    period,
)
from bot.domain.privacy_register import register
from bot.flows import access, feedback
from bot.flows.engine import Context, Turn
from bot.flows.spec import State
from bot.i18n import LOCALES, translator
from bot.services.clock import FixedClock


def facts(tmp_path: Path, **env: str) -> PrivacyFacts:
    return PrivacyFacts.from_settings(load_settings({"BAB_DATA_DIR": str(tmp_path), **env}, env_file=None))


def test_register_follows_the_retention_settings(tmp_path: Path) -> None:
    default = register(facts(tmp_path))
    assert "effacés 365 jours après la clôture" in default and "supprimé 90 jours après" in default
    assert "aucun : base de données et fichiers hébergés au Maroc" in default
    assert f"Récépissé de déclaration CNDP : {RECEIPT_PLACEHOLDER}" in default
    changed = register(facts(tmp_path, BAB_RETENTION_PERSONAL_DAYS="180", BAB_RETENTION_MESSAGES_DAYS="30",
                             BAB_RETENTION_FILES_DAYS="400", BAB_HOSTING_COUNTRY="fr", BAB_CNDP_RECEIPT="D-123/2026",
                             TELEGRAM_BOT_TOKEN="1:x"))
    assert "effacés 180 jours après la clôture" in changed and "365 jours" not in changed
    assert "supprimé 30 jours après" in changed and "supprimés 400 jours après" in changed
    assert "hébergement hors du Maroc (FR)" in changed and "aucun : base" not in changed
    assert "Récépissé de déclaration CNDP : D-123/2026" in changed and "Telegram" in changed


@pytest.mark.parametrize("locale", LOCALES)
def test_notice_follows_the_same_facts(tmp_path: Path, locale: str) -> None:
    t = translator(locale)
    for days in (365, 180):
        found = facts(tmp_path, BAB_RETENTION_PERSONAL_DAYS=str(days), BAB_RETENTION_FILES_DAYS="45",
                      BAB_CNDP_RECEIPT="D-77/2026")
        text = "\n".join(line for _heading, lines in notice(t, found) for line in lines)
        assert period(t, days) in text and period(t, 45) in text and "D-77/2026" in text
        assert period(t, 90) in text  # the messages' default period
        assert period(t, days) in confirmation_line(t, found) and "D-77/2026" in confirmation_line(t, found)
    assert re.search(r"\b180\b", text) and not re.search(r"\b365\b", text)


async def test_page_and_confirmation_show_the_settings(settings: Settings, clock: FixedClock,
                                                      template_db: tuple[Path, Any], aiohttp_client: Any) -> None:
    changed = dataclasses.replace(settings, retention_personal_days=200, retention_files_days=45,
                                  cndp_receipt="D-9/2026")
    bab = await build(changed, clock=clock, directory=template_db[1])
    try:
        client = await aiohttp_client(web_app(bab, dispatch=False))
        page = await (await client.get("/privacy?lang=fr")).text()
        assert "200 jours" in page and "D-9/2026" in page and "365 jours" not in page
        # The confirmation summaries render the facts the running app was built with.
        ctx = Context(directory=bab.directory, privacy=bab.conversations.privacy_facts)
        for summary in (access.summary, feedback.summary):
            text = summary(Turn(State(locale="fr"), ctx))
            assert "200 jours" in text and "D-9/2026" in text, summary
    finally:
        await bab.close()
