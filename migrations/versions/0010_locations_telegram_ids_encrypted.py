"""complaint locations and Telegram chat ids encrypted at rest (law 09-08, issue 14)

`requests.lat` / `requests.lon` (a citizen's position, often their home) become Fernet tokens of the float's text
(bot/storage/crypto.py EncryptedFloat), the columns FLOAT -> TEXT. Telegram identities are re-keyed by the keyed
hash of their chat id (bot/storage/tables.py identity_key: HMAC of "telegram:<chat id>" under BAB_HASH_KEY), and
the chat id, which the sender needs, moves encrypted to the new `identities.address`.

Existing rows are converted with the keyring the app installed (`bab migrate`, `bab run`), as in 0006; the
downgrade decrypts them back: the chat id to `external_id`, the coordinates to FLOAT.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:40:00
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.storage import crypto

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
COORDINATES = ("lat", "lon")
TELEGRAM = "telegram"


def _keyring(what: str) -> crypto.Keyring:
    try:
        return crypto.active()
    except crypto.KeyringError:
        raise crypto.KeyringError(f"migration 0010 must {what} stored data: run it with `bab migrate` (or `bab "
                                  "run`), which install the keys from the settings") from None


def _batches(query: Callable[[Any], sa.Select[Any]], key: sa.ColumnElement[Any]) -> Iterator[list[Any]]:
    """The rows `query(after)` selects (the first column their primary key), BATCH at a time in key order."""
    last = None
    while True:
        statement = query(last).order_by(key).limit(BATCH)
        rows = list(op.get_bind().execute(statement).all())
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def _after(query: sa.Select[Any], key: sa.ColumnElement[Any], last: Any) -> sa.Select[Any]:
    return query if last is None else query.where(key > last)


def _rewrite_coordinates(convert: Callable[[str], str]) -> None:
    """Write `convert(text)` over every stored coordinate, read and written as TEXT."""
    raw = sa.table("requests", sa.column("id"), *(sa.column(name, sa.Text()) for name in COORDINATES))
    chosen = sa.select(raw.c.id, raw.c.lat, raw.c.lon).where(sa.or_(raw.c.lat.is_not(None), raw.c.lon.is_not(None)))
    statement = (sa.update(raw).where(raw.c.id == sa.bindparam("b_id"))
                 .values(lat=sa.bindparam("b_lat"), lon=sa.bindparam("b_lon")))
    for rows in _batches(lambda last: _after(chosen, raw.c.id, last), raw.c.id):
        op.get_bind().execute(statement, [
            {"b_id": row_id, "b_lat": None if lat is None else convert(str(lat)),
             "b_lon": None if lon is None else convert(str(lon))} for row_id, lat, lon in rows])


def _rewrite_telegram(convert: Callable[[str, str | None], tuple[str, str | None]]) -> None:
    """Write `convert(external_id, address)` -> (external_id, address) over every Telegram identity."""
    raw = sa.table("identities", sa.column("id"), sa.column("channel"), sa.column("external_id", sa.String()),
                   sa.column("address", sa.Text()))
    chosen = sa.select(raw.c.id, raw.c.external_id, raw.c.address).where(raw.c.channel == TELEGRAM)
    statement = (sa.update(raw).where(raw.c.id == sa.bindparam("b_id"))
                 .values(external_id=sa.bindparam("b_key"), address=sa.bindparam("b_address")))
    for rows in _batches(lambda last: _after(chosen, raw.c.id, last), raw.c.id):
        updates = []
        for row_id, external_id, address in rows:
            key, new_address = convert(str(external_id), address)
            updates.append({"b_id": row_id, "b_key": key, "b_address": new_address})
        op.get_bind().execute(statement, updates)


def _has_rows() -> bool:
    bind = op.get_bind()
    located = bind.execute(sa.text("SELECT 1 FROM requests WHERE lat IS NOT NULL OR lon IS NOT NULL LIMIT 1")).first()
    chats = bind.execute(sa.text("SELECT 1 FROM identities WHERE channel = :channel LIMIT 1"),
                         {"channel": TELEGRAM}).first()
    return located is not None or chats is not None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        for name in COORDINATES:
            batch.alter_column(name, existing_type=sa.Float(), type_=sa.Text(), existing_nullable=True,
                               postgresql_using=f"{name}::text")
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("address", sa.Text(), nullable=True))
    if not _has_rows():
        return
    keyring = _keyring("encrypt")

    def seal(text: str) -> str:
        # As EncryptedFloat writes it: the float's repr (a backend's text of a double may differ in form).
        return keyring.encrypt(repr(float(text)).encode("ascii")).decode("ascii")

    def rekey(chat_id: str, _address: str | None) -> tuple[str, str | None]:
        # The formula of bot.storage.tables.identity_key at this revision, written out: it must not change here.
        return (keyring.keyed_hash(f"{TELEGRAM}:{chat_id}"),
                keyring.encrypt(chat_id.encode("utf-8")).decode("ascii"))

    _rewrite_coordinates(seal)
    _rewrite_telegram(rekey)


def downgrade() -> None:
    if _has_rows():
        keyring = _keyring("decrypt")

        def open_(token: str) -> str:
            return keyring.decrypt(token.encode("ascii")).decode("ascii")

        def restore(key: str, address: str | None) -> tuple[str, str | None]:
            # An identity without an address kept its key from before (none is written so since this revision).
            return (key if address is None else keyring.decrypt(address.encode("ascii")).decode("utf-8")), None

        _rewrite_coordinates(open_)
        _rewrite_telegram(restore)
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("address")
    with op.batch_alter_table("requests") as batch:
        for name in COORDINATES:
            batch.alter_column(name, existing_type=sa.Text(), type_=sa.Float(), existing_nullable=True,
                               postgresql_using=f"{name}::double precision")
