"""The keys against the database: the start-up check that they open its data, and key rotation.

`check_keys` runs in `bot.app.build`: the `key_check` row holds a known value encrypted and hashed when the
database first met its keys; other keys stop the start with a KeyringError that says what is wrong.
`rotate` re-encrypts every encrypted column (found in the models, so a new encrypted column is covered without
touching this module) and every uploaded file under the newest key, in batches, skipping what already is:
running it twice does nothing the second time, and a run that stopped part way (a crash, a Ctrl+C) is resumed by
running it again. The key-check row is rotated last, once every value and file is under the newest key: until
then the start-up check still asks for the older key, so it cannot be dropped while something needs it. When
the uploads folder is missing while the database names files, the key check is left as it is, and the result
says so (a command run without the workers' BAB_DATA_DIR must not pass for a complete rotation).
`rotate_hash_key` moves every lookup hash (WhatsApp numbers, Telegram chat ids, the key check) to a new
BAB_HASH_KEY in one transaction, with the workers stopped: all of it or nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    LargeBinary,
    Text,
    and_,
    bindparam,
    column,
    delete,
    func,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import TableClause

from bot.storage import crypto, tables

log = logging.getLogger(__name__)
CHECK_VALUE = "bab: the keys open this database"
ENCRYPTED_TYPES = (crypto.EncryptedText, crypto.EncryptedJSON, crypto.EncryptedBytes, crypto.EncryptedFloat)


async def check_keys(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    """Raise KeyringError unless the installed keys are those of the database; the first start records them."""
    keyring = crypto.active()
    async with sessions() as session, session.begin():
        row = await session.get(tables.KeyCheck, 1)
        if row is None:
            session.add(tables.KeyCheck(id=1, token=keyring.encrypt(CHECK_VALUE.encode()).decode("ascii"),
                                        hash=keyring.keyed_hash(CHECK_VALUE), created_at=now))
            return
        try:
            opened = keyring.decrypt(row.token.encode("ascii")).decode("utf-8")
        except crypto.KeyringError:
            raise crypto.KeyringError(
                "the data keys do not open this database: BAB_DATA_KEYS lacks the key its data was encrypted with "
                "(set it as it was; with BAB_DATA_KEYS unset, the keys are read from the data folder's "
                f"{crypto.KEY_FILE}; see docs/deployment.md)") from None
        if opened != CHECK_VALUE:
            raise crypto.KeyringError("the database's key check holds an unexpected value")
        if row.hash != keyring.keyed_hash(CHECK_VALUE):
            raise crypto.KeyringError("BAB_HASH_KEY is not the key this database's lookups were made with: set it "
                                      "as it was (WhatsApp numbers would no longer be found)")


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """An encrypted column and its table's primary key, read and written raw (tokens, not values)."""

    table: str
    key: str
    name: str
    binary: bool


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of the models, in table order, then the key check (rotated last)."""
    found: list[EncryptedColumn] = []
    for model_table in tables.Base.metadata.sorted_tables:
        keys = list(model_table.primary_key.columns)
        for col in model_table.columns:
            if isinstance(col.type, ENCRYPTED_TYPES):
                if len(keys) != 1:
                    raise RuntimeError(f"{model_table.name}: rotation needs a one-column primary key")
                found.append(EncryptedColumn(model_table.name, keys[0].name, col.name,
                                             isinstance(col.type, crypto.EncryptedBytes)))
    found.append(KEY_CHECK)  # the check follows the data
    return found


KEY_CHECK = EncryptedColumn("key_check", "id", "token", False)


@dataclass
class Rotation:
    """What a rotation re-encrypted: per 'table.column', and files; whether the uploads folder was there (and how
    many files the database names), the leftovers of an interrupted file rewrite removed, and whether it is
    complete (the key check rotated with everything else)."""

    columns: dict[str, int] = field(default_factory=dict)
    files: int = 0
    folder_missing: bool = False
    files_named: int = 0  # attachments whose file should be in the uploads folder
    leftovers: int = 0
    complete: bool = False

    @property
    def total(self) -> int:
        return sum(self.columns.values()) + self.files


def _raw(spec: EncryptedColumn) -> TableClause:
    # Plain TEXT / BLOB types: the rotation moves tokens, it never decrypts into Python values.
    return table(spec.table, column(spec.key), column(spec.name, LargeBinary() if spec.binary else Text()))


async def rotate_column(engine: AsyncEngine, spec: EncryptedColumn, batch: int = 500) -> int:
    """Re-encrypt one column under the newest key, `batch` rows per transaction; returns how many rows changed."""
    keyring = crypto.active()
    raw = _raw(spec)
    key, value = raw.c[spec.key], raw.c[spec.name]
    # Only where the token is still the one read: a row the running app rewrote meanwhile is already current.
    statement = (update(raw).where(and_(key == bindparam("b_key"), value == bindparam("b_old")))
                 .values({spec.name: bindparam("b_new")}))
    changed, last = 0, None
    while True:
        async with engine.begin() as connection:
            query = select(key, value).where(value.is_not(None)).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows: Sequence[Any] = (await connection.execute(query)).all()
            updates = []
            for row_key, token in rows:
                token_bytes = bytes(token) if spec.binary else str(token).encode("ascii")
                if keyring.is_current(token_bytes):
                    continue
                new = keyring.rotate(token_bytes)
                updates.append({"b_key": row_key, "b_old": token, "b_new": new if spec.binary else new.decode()})
            if updates:
                await connection.execute(statement, updates)
            changed += len(updates)
        if len(rows) < batch:
            return changed
        last = rows[-1][0]


async def files_named(engine: AsyncEngine) -> int:
    """How many attachments name a file of the uploads folder ('file:<name>', or a bare name as early web uploads
    were; not a channel's file id, not an erased one)."""
    ref = column("ref", Text())
    attachments = table("attachments", ref)
    async with engine.connect() as connection:
        found = await connection.scalar(select(func.count()).select_from(attachments).where(
            or_(ref.like("file:%"), ~ref.like("%:%")), ref != "erased"))
    return int(found or 0)


def remove_leftovers(folder: Path) -> int:
    """Delete the temporary files an interrupted rewrite left (`.<name>.<hex>.tmp`): the file beside each is
    whole, old or new (see crypto._replace_file)."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.name.startswith(".") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def rotate(engine: AsyncEngine, uploads_dir: Path | None, batch: int = 500) -> Rotation:
    """Re-encrypt every encrypted column, then every uploaded file, then the key check, under the newest key
    (idempotent, and resumed by running it again after an interruption)."""
    done = Rotation()
    for spec in encrypted_columns():
        if spec == KEY_CHECK:
            continue
        count = await rotate_column(engine, spec, batch)
        done.columns[f"{spec.table}.{spec.name}"] = count
        log.info("rotation column=%s.%s rows=%d", spec.table, spec.name, count)
    done.files_named = await files_named(engine)
    if uploads_dir is None or not uploads_dir.is_dir():
        done.folder_missing = True
        log.warning("rotation: no uploads folder; files named in the database=%d", done.files_named)
    else:
        done.leftovers = remove_leftovers(uploads_dir)
        for path in crypto.stored_files(uploads_dir):
            if crypto.seal_file(path):
                done.files += 1
        log.info("rotation files=%d leftovers=%d", done.files, done.leftovers)
    if done.folder_missing and done.files_named:
        # Files may still be under an older key: the start-up check must go on asking for it.
        done.columns[f"{KEY_CHECK.table}.{KEY_CHECK.name}"] = 0
        log.warning("rotation incomplete: the key check stays under its key until the files are rotated")
        return done
    count = await rotate_column(engine, KEY_CHECK, batch)
    done.columns[f"{KEY_CHECK.table}.{KEY_CHECK.name}"] = count
    done.complete = True
    log.info("rotation complete key_check=%d", count)
    return done


def _is_hash(value: str) -> bool:
    """Whether an identity key is a lookup hash (64 hex digits) rather than a business-scoped user id."""
    return len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


@dataclass(frozen=True, slots=True)
class HashRotation:
    """What `rotate_hash_key` changed: WhatsApp numbers re-hashed, identity keys renewed (of WhatsApp numbers; of
    Telegram chats), address counts dropped."""

    numbers: int
    identities: int
    dropped: int
    chats: int = 0


async def rotate_hash_key(sessions: async_sessionmaker[AsyncSession], new_key: str) -> HashRotation:
    """Re-hash every lookup under `new_key`, in one transaction (the workers must be stopped: one still on the old
    key would file a known number as a new person); afterwards only `new_key` passes the start-up check.

    A WhatsApp identity keyed by its number's hash (no business-scoped id) gets the hash of its current number
    under the new key, and a Telegram identity the hash of its chat id (its encrypted `address`), so that no key
    made with the old one is left for whoever may hold it to try numbers or chat ids against. The reopen tries
    counted per client address are keyed by the old hash: they are dropped.
    """
    if len(new_key) < crypto.MIN_HASH_KEY_LENGTH:
        raise crypto.KeyringError(f"the new hash key must be at least {crypto.MIN_HASH_KEY_LENGTH} characters "
                                  "(`bab privacy keygen` prints one)")
    key = new_key.encode("utf-8")
    contact, identity = tables.WhatsAppContact, tables.Identity
    numbers = identities = 0
    async with sessions() as session, session.begin():
        check = await session.get(tables.KeyCheck, 1)
        if check is not None and check.hash == crypto.hash_with(key, CHECK_VALUE):
            raise crypto.KeyringError("the database's lookups are already under the new hash key: set BAB_HASH_KEY "
                                      "to it and start the workers")
        rows = (await session.execute(select(contact.identity_id, contact.wa_id, contact.bsuid, identity.external_id)
                                      .join(identity, identity.id == contact.identity_id))).all()
        for identity_id, wa_id, bsuid, external_id in rows:
            if not wa_id:
                continue
            new_hash = crypto.hash_with(key, wa_id)
            # Not `contact.wa_id = …`: its validator would hash with the installed (old) key.
            await session.execute(update(contact).where(contact.identity_id == identity_id)
                                  .values(wa_id_hash=new_hash).execution_options(synchronize_session=False))
            numbers += 1
            if external_id != bsuid and _is_hash(external_id):  # keyed by a number's hash, not by a user id
                await session.execute(update(identity).where(identity.id == identity_id)
                                      .values(external_id=new_hash).execution_options(synchronize_session=False))
                identities += 1
        chats = await _rehash_chats(session, key)
        result = await session.execute(delete(tables.ReopenFailure).where(tables.ReopenFailure.key.like("addr:%")))
        dropped = int(getattr(result, "rowcount", 0) or 0)
        if check is not None:
            check.hash = crypto.hash_with(key, CHECK_VALUE)
    log.info("hash key rotated numbers=%d identities=%d chats=%d dropped=%d", numbers, identities, chats, dropped)
    return HashRotation(numbers, identities, dropped, chats)


async def _rehash_chats(session: AsyncSession, key: bytes) -> int:
    """Re-key every identity of a hashed channel (Telegram) by its address's hash under `key`; how many."""
    identity = tables.Identity
    rows = (await session.execute(select(identity.id, identity.channel, identity.address).where(
        identity.channel.in_(sorted(tables.HASHED_CHANNELS)), identity.address.is_not(None)))).all()
    updates = [{"b_id": row_id, "b_key": tables.identity_key(channel, str(address), key)}
               for row_id, channel, address in rows]
    if updates:
        # Core executemany on the session's connection: one statement for every row, not an ORM flush per row.
        raw = table("identities", column("id"), column("external_id"))
        connection = await session.connection()
        await connection.execute(update(raw).where(raw.c.id == bindparam("b_id"))
                                 .values(external_id=bindparam("b_key")), updates)
    return len(updates)
