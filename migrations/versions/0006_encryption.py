"""sensitive fields encrypted at rest (owned by the encryption work)

Names, card numbers, contacts, subjects, event texts, inbound texts, conversation states (the form's answers),
outbox payloads, raw webhook bodies and WhatsApp phone numbers become Fernet tokens (bot/storage/crypto.py);
the JSON columns become TEXT (a token is not JSON). WhatsApp numbers gain a keyed hash for lookups, and
identities keyed by a phone number are re-keyed by its hash. A refusal's ground moves to a column of its own,
in the clear, so that the transparency figures need not decrypt. Uploaded files are encrypted when the
migration runs from Bab (`bab run`, `bab migrate`), which tells it where the uploads folder is.

Existing rows are converted in batches with the keyring the app installed; the downgrade decrypts them back.
The identities re-keyed by a hash keep it on the way down: any unique key works there, since earlier code finds
a WhatsApp person by their contact row, then uses whatever key the identity has.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from bot.storage import crypto

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
# table -> (primary key, text columns encrypted); the JSON ones are converted from JSON to TEXT first.
TEXT_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "requests": ("id", ("subject", "requester_name", "id_number", "contact")),
    "request_events": ("id", ("data",)),
    "inbound_messages": ("id", ("text",)),
    "conversations": ("identity_id", ("state",)),
    "outbox": ("id", ("payload",)),
    "whatsapp_contacts": ("identity_id", ("wa_id",)),
}
JSON_COLUMNS = (("request_events", "data"), ("conversations", "state"), ("outbox", "payload"))
JSON_NAMES = {name for _table, name in JSON_COLUMNS}
BYTES_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {"webhook_deliveries": ("id", ("body",))}
# The widths before: a token does not fit them.
NARROW = (("requester_name", 200), ("id_number", 32), ("contact", 320))


def _json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _uploads_dir() -> Path | None:
    config = op.get_context().config
    found = config.attributes.get("uploads_dir") if config is not None else None
    return Path(found) if found else None


def _keyring(what: str) -> crypto.Keyring:
    try:
        return crypto.active()
    except crypto.KeyringError:
        raise crypto.KeyringError(f"migration 0006 must {what} stored data: run it with `bab migrate` (or `bab "
                                  "run`), which install the keys from the settings") from None


def _rows(table: str, key: str, columns: tuple[str, ...], binary: bool,
          channel: str | None = None) -> Iterator[list[Any]]:
    """The rows of `table` (of one `channel`) in primary-key order, `BATCH` at a time, the columns read raw."""
    kind: Callable[[], sa.types.TypeEngine[Any]] = sa.LargeBinary if binary else sa.Text
    raw = sa.table(table, sa.column(key), sa.column("channel"), *(sa.column(name, kind()) for name in columns))
    last = None
    while True:
        query = sa.select(raw.c[key], *(raw.c[name] for name in columns)).order_by(raw.c[key]).limit(BATCH)
        if channel is not None:
            query = query.where(raw.c.channel == channel)
        if last is not None:
            query = query.where(raw.c[key] > last)
        rows = list(op.get_bind().execute(query).all())
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def _rewrite(table: str, key: str, columns: tuple[str, ...], binary: bool,
             convert: Callable[[str, Any], Any], extra: dict[str, Callable[[str, Any], Any]] | None = None,
             channel: str | None = None) -> None:
    """Write `convert(column, value)` over every non-NULL value (and `extra` columns computed from them)."""
    kind: Callable[[], sa.types.TypeEngine[Any]] = sa.LargeBinary if binary else sa.Text
    written = list(columns) + list(extra or {})
    raw = sa.table(table, sa.column(key), *(sa.column(name, kind() if name in columns else sa.String())
                                            for name in written))
    statement = (sa.update(raw).where(raw.c[key] == sa.bindparam("b_key"))
                 .values({name: sa.bindparam(f"b_{name}") for name in written}))
    for rows in _rows(table, key, columns, binary, channel):
        updates = []
        for row in rows:
            values: dict[str, Any] = {"b_key": row[0]}
            for index, name in enumerate(columns, start=1):
                values[f"b_{name}"] = None if row[index] is None else convert(name, row[index])
            for name, compute in (extra or {}).items():
                values[f"b_{name}"] = compute(name, row)
            updates.append(values)
        op.get_bind().execute(statement, updates)


def _has_rows() -> bool:
    bind = op.get_bind()
    return any(bind.execute(sa.text(f"SELECT 1 FROM {name} LIMIT 1")).first() is not None
               for name in (*TEXT_COLUMNS, *BYTES_COLUMNS))


def _ground(_name: str, row: Any) -> str | None:
    data = json.loads(row[1]) if row[1] is not None else None
    ground = data.get("ground") if isinstance(data, dict) else None
    return str(ground) if ground else None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        for name, width in NARROW:
            batch.alter_column(name, existing_type=sa.String(width), type_=sa.Text(), existing_nullable=True)
    for table, name in JSON_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(name, existing_type=_json_type(), type_=sa.Text(),
                               existing_nullable=False, postgresql_using=f"{name}::text")
    with op.batch_alter_table("request_events") as batch:
        batch.add_column(sa.Column("ground", sa.String(length=32), nullable=True))
    with op.batch_alter_table("whatsapp_contacts") as batch:
        batch.drop_constraint("uq_whatsapp_contacts_wa_id", type_="unique")
        batch.alter_column("wa_id", existing_type=sa.String(32), type_=sa.Text(), existing_nullable=True)
        batch.add_column(sa.Column("wa_id_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_check")),
    )
    if _has_rows():
        keyring = _keyring("encrypt")

        def seal(name: str, value: Any) -> str:
            text = str(value)
            if name in JSON_NAMES:  # PostgreSQL's jsonb text, re-serialised as EncryptedJSON writes it
                text = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
            return keyring.encrypt(text.encode("utf-8")).decode("ascii")

        for table, (key, columns) in TEXT_COLUMNS.items():
            extra: dict[str, Callable[[str, Any], Any]] = {}
            if table == "request_events":
                extra["ground"] = _ground
            if table == "whatsapp_contacts":
                extra["wa_id_hash"] = lambda _name, row: keyring.keyed_hash(str(row[1])) if row[1] else None
            _rewrite(table, key, columns, False, seal, extra)
        for table, (key, columns) in BYTES_COLUMNS.items():
            _rewrite(table, key, columns, True, lambda _name, value: keyring.encrypt(bytes(value)))
        # WhatsApp identities keyed by a phone number (digits; a business-scoped user id has a country prefix
        # and a dot) are re-keyed by its hash, which is what the code now passes around.
        _rewrite("identities", "id", ("external_id",), False,
                 lambda _name, value: keyring.keyed_hash(value) if str(value).isdigit() else value,
                 channel="whatsapp")
    with op.batch_alter_table("whatsapp_contacts") as batch:
        batch.create_unique_constraint("uq_whatsapp_contacts_wa_id_hash", ["wa_id_hash"])
    uploads = _uploads_dir()
    if uploads is not None and crypto.stored_files(uploads):
        _keyring("encrypt uploaded files as well as")
        for path in crypto.stored_files(uploads):
            crypto.seal_file(path)


def downgrade() -> None:
    if _has_rows():
        keyring = _keyring("decrypt")

        def open_(_name: str, value: Any) -> Any:
            return keyring.decrypt(str(value).encode("ascii")).decode("utf-8")

        for table, (key, columns) in TEXT_COLUMNS.items():
            _rewrite(table, key, columns, False, open_)
        for table, (key, columns) in BYTES_COLUMNS.items():
            _rewrite(table, key, columns, True, lambda _name, value: keyring.decrypt(bytes(value)))
    uploads = _uploads_dir()
    if uploads is not None and crypto.stored_files(uploads):
        _keyring("decrypt the uploaded files and")
        for path in crypto.stored_files(uploads):
            crypto.unseal_file(path)
    op.drop_table("key_check")
    with op.batch_alter_table("whatsapp_contacts") as batch:
        batch.drop_constraint("uq_whatsapp_contacts_wa_id_hash", type_="unique")
        batch.drop_column("wa_id_hash")
        batch.alter_column("wa_id", existing_type=sa.Text(), type_=sa.String(32), existing_nullable=True)
        batch.create_unique_constraint("uq_whatsapp_contacts_wa_id", ["wa_id"])
    with op.batch_alter_table("request_events") as batch:
        batch.drop_column("ground")
    for table, name in JSON_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(name, existing_type=sa.Text(), type_=_json_type(),
                               existing_nullable=False, postgresql_using=f"{name}::jsonb")
    with op.batch_alter_table("requests") as batch:
        for name, width in NARROW:
            batch.alter_column(name, existing_type=sa.Text(), type_=sa.String(width), existing_nullable=True)
