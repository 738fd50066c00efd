"""Loading the directory is idempotent, and the stored rows rebuild the same searchable index."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import Bab
from bot.services.directory import directory_from_db, load_directory
from bot.storage import tables


async def test_directory_load_is_idempotent(bab: Bab) -> None:
    assert await load_directory(bab.sessions) == 0  # already loaded on first start: nothing to do
    assert await load_directory(bab.sessions, force=True) == 0  # a forced reload changes nothing either
    async with bab.sessions() as session:
        levels = dict((await session.execute(
            select(tables.Collectivity.level, func.count()).group_by(tables.Collectivity.level))).all())
        assert levels == {"region": 12, "province": 75, "commune": 1503}
        kinds = dict((await session.execute(
            select(tables.CollectivityAlias.kind, func.count()).group_by(tables.CollectivityAlias.kind))).all())
        assert kinds["arrondissement"] >= 41
    directory, on_bab = await directory_from_db(bab.sessions)
    assert len(directory) == 1590 and on_bab == set()
    assert directory.match("Sidi Moumen")[0].collectivity.code == "06.141.01.0"
