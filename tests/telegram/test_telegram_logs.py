"""The bot token never reaches a log line, even at DEBUG, while the real python-telegram-bot talks to the Bot API."""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterator

import pytest

from bot.app import Bab
from bot.cli import BODY_LOGGERS, configure_logging
from tests.telegram.conftest import TelegramCitizen


@pytest.fixture
def log_stream(tg_bab: Bab) -> Iterator[io.StringIO]:
    """Bab's own logging set-up (`bab run`'s), at DEBUG, into a string; the test run's handlers restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved = {name: logging.getLogger(name).level for name in ("httpx", "alembic", *BODY_LOGGERS)}
    stream = io.StringIO()
    configure_logging(dataclasses.replace(tg_bab.settings, log_level="DEBUG"), stream=stream)
    try:
        yield stream
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


async def test_the_token_is_redacted_from_every_line(citizen: TelegramCitizen, log_stream: io.StringIO) -> None:
    token = citizen.api.token
    await citizen.say("Bonjour")
    await citizen.tap("access")
    logging.getLogger("httpx").warning("HTTP Request: POST %s/getMe", citizen.api.base_url + token)
    logged = log_stream.getvalue()
    assert "getMe" in logged and "[redacted]" in logged  # a line that carried the token was written, redacted
    assert token not in logged and token.split(":")[-1] not in logged
    assert "Bonjour" not in logged  # nor a message body
    assert "INFO bot.services.conversations: handled channel=telegram" in logged  # Bab's own lines are there
