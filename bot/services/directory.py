"""Keeping the collectivity directory in the database and building the in-memory index from it."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.directory import Directory, read_aliases, read_collectivities
from bot.storage import repos

log = logging.getLogger(__name__)


async def load_directory(sessions: async_sessionmaker[AsyncSession], force: bool = False) -> int:
    """Load the HCP list and aliases shipped in bot/data; on an empty table only unless `force`. Idempotent."""
    async with sessions() as session, session.begin():
        if not force and await repos.collectivity_count(session) > 0:
            return 0
        changed = await repos.upsert_directory(session, read_collectivities(), read_aliases())
    log.info("directory loaded changed=%s", changed)
    return changed


async def directory_from_db(sessions: async_sessionmaker[AsyncSession]) -> tuple[Directory, set[str]]:
    """The searchable directory as stored, and the codes of the collectivities that answer on Bab."""
    async with sessions() as session:
        places, aliases, on_bab = await repos.load_directory_rows(session)
    return Directory(places, aliases), on_bab
