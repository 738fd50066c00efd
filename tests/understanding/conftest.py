"""The directory the app itself builds (from the migrated template database), shared by the understanding tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.directory import Directory


@pytest.fixture(scope="session")
def directory(template_db: tuple[Path, Directory]) -> Directory:
    return template_db[1]
