"""Encryption at rest (bot/storage/crypto.py): a copy of the database or of the data folder without the keys shows
nothing a citizen typed, while Bab still shows it; migration 0006 converts what was stored before; keys rotate;
wrong or missing keys stop the start with a clear error.

Conversations are real: the web chat through the aiohttp app, WhatsApp through the fake Graph API, on a database
built by the migrations (SQLite, and PostgreSQL when TEST_DATABASE_URL is set). The dumps are the raw bytes of
every file in the data folder (the SQLite file and its WAL included) and `pg_dump`'s output.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import stat
import struct
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Date, DateTime, LargeBinary, column, insert, select, table, text
from sqlalchemy.engine import make_url

from bot.app import Bab, build, web_app
from bot.cli import main
from bot.cli_privacy import rotation_report
from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from bot.services import media
from bot.services.clock import FixedClock
from bot.services.staff import StaffAdmin
from bot.storage import crypto, keystore, repos, staff_repo, tables
from bot.storage.db import create_engine, create_sessionmaker, is_sqlite, reset_schema
from bot.storage.migrate import alembic_config, upgrade_to_head
from tests.conftest import TEST_DATA_KEY, TEST_HASH_KEY, WebUser, postgres_url
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram.conftest import TelegramCitizen, fake_api, make_bab, ptb_timedelta  # noqa: F401  (fixtures)
from tests.telegram.test_staff_on_telegram import TETOUAN

NAME = "Zineb Ouardighi"
CARD_TYPED, CARD = "qz 771204", "QZ771204"
CONTACT_TYPED, CONTACT = "0661778899", "+212661778899"
SUBJECT = "Les marchés de voirie attribués en 2024 et leurs avenants"
# A PNG by its magic bytes, with a recognisable run of "pixels".
PNG = b"\x89PNG\r\n\x1a\n" + b"PIXELS-OF-A-PRIVATE-PHOTO" + b"\x00" * 64
TYPED = (NAME, CARD, "771204", "661778899", "voirie attribu", "PIXELS-OF-A-PRIVATE-PHOTO")
OTHER_KEY = "M4BDgS66qSqcK9m883qe9zsFQtbeMWDiA-USqVpjpLo="
CHAT = 731904562  # a citizen's Telegram chat id (their user id): personal data, like a phone number
CLERK = 731904563
LAT, LON = 35.57843, -5.36829  # where the complaint is, often the citizen's home


@pytest.fixture(autouse=True)
def test_keyring() -> Any:
    """Each test here may install other keys (every `build` installs its own): the suite's fixed ones come back."""
    yield
    crypto.install(crypto.Keyring((TEST_DATA_KEY,), TEST_HASH_KEY))


def found_in(blob: bytes, values: tuple[str, ...] = TYPED) -> list[str]:
    """The values that appear in `blob`, as UTF-8 or as JSON's \\u escapes."""
    return [value for value in values
            if value.encode() in blob or json.dumps(value)[1:-1].encode() in blob]


def folder_bytes(folder: Path) -> bytes:
    """Every file under `folder`, concatenated: the SQLite database, its WAL, the uploads."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def pg_dump(url: str) -> bytes:
    """A plain-SQL dump of the PostgreSQL database at `url` (data and schema), as a backup would hold it."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--no-owner", plain], check=True, capture_output=True, timeout=120).stdout


async def dump(settings: Settings) -> bytes:
    """What a copy of this deployment's stored data would show without the keys."""
    blob = folder_bytes(settings.data_dir)
    if not is_sqlite(settings.database_url):
        blob += await asyncio.to_thread(pg_dump, settings.database_url)
    return blob


@pytest.fixture
async def db_web_user(db_bab: Bab, aiohttp_client: Any) -> WebUser:
    """A browser on the web chat of `db_bab` (each backend in turn)."""
    client = await aiohttp_client(web_app(db_bab, dispatch=False))
    user = WebUser(client, db_bab)
    await user.open()
    return user


async def file_access_request(user: WebUser) -> None:
    """The access request of the golden transcript, with this test's own name, card, contact and subject."""
    await user.say("Bonjour, je voudrais une information")
    await user.say(SUBJECT)
    await user.say("Tétouan")
    await user.tap("01.571.01.11")
    await user.tap("no")
    await user.tap("chat")
    await user.say(NAME)
    await user.say(CARD_TYPED)
    await user.say(CONTACT_TYPED)
    assert NAME in user.prompt["text"] and CARD in user.prompt["text"]  # the summary, before sending
    receipt = await user.tap("send")
    assert "BAB-" in "\n".join(message["text"] for message in receipt)


async def test_a_dump_holds_nothing_the_citizen_typed_while_bab_shows_it(db_web_user: WebUser,
                                                                         db_settings: Settings) -> None:
    user, bab = db_web_user, db_web_user.bab
    await file_access_request(user)
    upload = await user.client.post("/api/upload", data={"file": PNG})
    assert upload.status == 202
    await user.replies()
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        attachment = await session.scalar(select(tables.Attachment))
    assert request is not None and attachment is not None
    # Bab still reads everything back: the request, the transcript, the file.
    assert (request.requester_name, request.id_number, request.contact, request.subject) == (
        NAME, CARD, CONTACT, SUBJECT)
    transcript = await (await user.client.get("/api/transcript")).text()
    assert NAME in transcript and CARD in transcript  # the summary the citizen confirmed
    served = await user.client.get(f"/api/files/{attachment.id}")
    assert served.status == 200 and await served.read() == PNG
    # A shared position: kept for the transcript (which draws it again), encrypted like the texts.
    located = await user.client.post("/api/location", json={"lat": LAT, "lon": LON})
    assert located.status == 202
    await user.replies()
    assert f"{LAT:.5f}" in await (await user.client.get("/api/transcript")).text()
    await bab.close()  # the SQLite WAL is checkpointed into the file; both are read anyway
    blob = await dump(db_settings)
    assert len(blob) > 100_000  # the dump did read the database (the directory alone is larger)
    assert found_in(blob) == [], "a typed value is in the clear in the stored data"
    assert numbers_in(blob, (LAT, LON)) == [], "a shared location is in the clear in the stored data"
    # The test can fail: the same dump with the values decrypted would contain them.
    assert found_in(blob + NAME.encode() + PNG) == [NAME, "PIXELS-OF-A-PRIVATE-PHOTO"]


async def test_what_was_stored_is_readable_after_a_restart_with_the_same_keys(db_web_user: WebUser,
                                                                              db_settings: Settings,
                                                                              clock: FixedClock,
                                                                              template_db: tuple[Path, Directory]
                                                                              ) -> None:
    await file_access_request(db_web_user)
    await db_web_user.bab.close()
    again = await build(db_settings, clock=clock, directory=template_db[1])
    try:
        async with again.sessions() as session:
            request = await session.scalar(select(tables.Request))
            conversation = await session.scalar(select(tables.Conversation))
            texts = set((await session.scalars(select(tables.InboundMessage.text))).all())
            payloads = (await session.scalars(select(tables.OutboxMessage.payload))).all()
        assert request is not None and request.requester_name == NAME
        assert conversation is not None and isinstance(conversation.state, dict)
        assert NAME in texts or all(value is None for value in texts)  # minimisation may clear the texts
        assert any(NAME in str(payload) for payload in payloads)
    finally:
        await again.close()


def test_encrypted_columns_refuse_sql_comparisons() -> None:
    # Ciphertext differs on every write: an SQL equality or LIKE would silently match nothing.
    with pytest.raises(TypeError, match="keyed_hash"):
        _ = tables.Request.id_number == CARD
    with pytest.raises(TypeError):
        tables.Request.subject.like("%voirie%")
    with pytest.raises(TypeError):
        tables.OutboxMessage.payload["text"]
    assert tables.Request.contact.is_(None) is not None  # NULL tests remain (e.g. a complaint without contact)


# --- Keys ---------------------------------------------------------------------------------------------------


async def file_on(settings: Settings, clock: FixedClock, directory: Directory) -> None:
    """A conversation and a file stored under `settings`' keys, without the web server."""
    bab = await build(settings, clock=clock, directory=directory)
    try:
        from bot.flows.spec import Inbound, InboundKind

        for words in ("Bonjour, je voudrais une information", SUBJECT, "Tétouan"):
            await bab.conversations.handle("web", "visitor", Inbound(kind=InboundKind.TEXT, text=words))
        stored = media.store(settings.uploads_dir, PNG)
        assert stored is not None
    finally:
        await bab.close()


async def read_all(settings: Settings, clock: FixedClock, directory: Directory) -> tuple[list[str], list[bytes]]:
    """Every inbound text and every file's plaintext, read with `settings`' keys."""
    bab = await build(settings, clock=clock, directory=directory)
    try:
        async with bab.sessions() as session:
            texts = [value for value in (await session.scalars(select(tables.InboundMessage.text))).all() if value]
            # Every state and payload decrypts (a KeyringError otherwise).
            assert (await session.scalars(select(tables.Conversation.state))).all()
            assert (await session.scalars(select(tables.OutboxMessage.payload))).all()
        return texts, [media.read(path) for path in crypto.stored_files(settings.uploads_dir)]
    finally:
        await bab.close()


async def test_rotation_moves_everything_to_the_new_key_and_the_old_one_can_go(
        settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory]) -> None:
    directory = template_db[1]
    old = settings  # the fixed test key
    await file_on(old, clock, directory)
    new_key = crypto.new_data_key()
    both = dataclasses.replace(old, data_keys=(new_key, TEST_DATA_KEY))
    only_new = dataclasses.replace(old, data_keys=(new_key,))
    # The new key first: what was written under the old one still reads.
    texts, files = await read_all(both, clock, directory)
    assert files == [PNG] and texts
    # Without rotation, dropping the old key is refused at start-up.
    with pytest.raises(crypto.KeyringError, match="BAB_DATA_KEYS"):
        await build(only_new, clock=clock, directory=directory)
    bab = await build(both, clock=clock, directory=directory)
    try:
        first = await keystore.rotate(bab.engine, both.uploads_dir, batch=2)  # several batches per column
        second = await keystore.rotate(bab.engine, both.uploads_dir, batch=2)
    finally:
        await bab.close()
    assert first.files == 1 and first.columns["requests.subject"] == 0  # no request filed: nothing to move
    assert first.columns["inbound_messages.text"] >= 3 and first.columns["key_check.token"] == 1
    assert first.columns["conversations.state"] >= 1 and first.columns["outbox.payload"] >= 3
    assert second.total == 0, second  # idempotent: nothing is left under the old key
    assert (texts, [PNG]) == await read_all(only_new, clock, directory)
    # The old key alone no longer opens anything.
    with pytest.raises(crypto.KeyringError, match="BAB_DATA_KEYS"):
        await build(old, clock=clock, directory=directory)


async def key_check_is_current(settings: Settings, clock: FixedClock, directory: Directory) -> bool:
    bab = await build(settings, clock=clock, directory=directory)
    try:
        async with bab.sessions() as session:
            row = await session.get(tables.KeyCheck, 1)
            assert row is not None
            return crypto.active().is_current(row.token.encode("ascii"))
    finally:
        await bab.close()


async def test_an_interrupted_rotation_keeps_the_old_key_required_and_is_resumed(
        settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory]) -> None:
    directory = template_db[1]
    await file_on(settings, clock, directory)
    new_key = crypto.new_data_key()
    both = dataclasses.replace(settings, data_keys=(new_key, TEST_DATA_KEY))
    only_new = dataclasses.replace(settings, data_keys=(new_key,))
    bab = await build(both, clock=clock, directory=directory)
    try:
        # What a run stopped during the files leaves: every column rotated, no file, and a file half rewritten.
        for spec in keystore.encrypted_columns():
            if spec != keystore.KEY_CHECK:
                await keystore.rotate_column(bab.engine, spec)
        leftover = both.uploads_dir / ".photo.png.1a2b3c4d.tmp"
        leftover.write_bytes(b"half a file")
    finally:
        await bab.close()
    # The key check was not moved before the files: the old key is still asked for at start-up.
    assert not await key_check_is_current(both, clock, directory)
    with pytest.raises(crypto.KeyringError, match="BAB_DATA_KEYS lacks the key"):
        await build(only_new, clock=clock, directory=directory)
    bab = await build(both, clock=clock, directory=directory)
    try:
        resumed = await keystore.rotate(bab.engine, both.uploads_dir)
    finally:
        await bab.close()
    assert resumed.complete and resumed.files == 1 and resumed.leftovers == 1 and not leftover.exists()
    assert resumed.columns["key_check.token"] == 1 and resumed.columns["inbound_messages.text"] == 0
    assert await read_all(only_new, clock, directory) == await read_all(both, clock, directory)


async def test_a_missing_uploads_folder_is_said_and_leaves_the_key_check_when_files_are_named(
        settings: Settings, clock: FixedClock, template_db: tuple[Path, Directory]) -> None:
    directory = template_db[1]
    await file_on(settings, clock, directory)
    both = dataclasses.replace(settings, data_keys=(crypto.new_data_key(), TEST_DATA_KEY))
    elsewhere = settings.data_dir / "not-the-uploads"
    bab = await build(both, clock=clock, directory=directory)
    try:
        # No file named in the database: nothing is lost, but the report says there was no folder.
        nothing = await keystore.rotate(bab.engine, elsewhere)
        assert nothing.folder_missing and nothing.complete and nothing.files == 0
        assert "No uploads folder at" in rotation_report(nothing, elsewhere)
        now = clock.now()
        async with bab.sessions() as session, session.begin():
            identity = await session.scalar(select(tables.Identity))
            assert identity is not None
            session.add(tables.Attachment(identity_id=identity.id, kind="photo", ref="file:photo.png",
                                          mime="image/png", size=10, created_at=now))
    finally:
        await bab.close()
    # A file is named now, and a newer key comes first: run from a machine that lacks the folder, the rotation
    # leaves the key check under the key the file may still be under.
    fresh = dataclasses.replace(settings, data_keys=(crypto.new_data_key(), *both.data_keys))
    bab = await build(fresh, clock=clock, directory=directory)
    try:
        missing = await keystore.rotate(bab.engine, elsewhere)
    finally:
        await bab.close()
    assert missing.folder_missing and missing.files_named == 1 and not missing.complete
    assert missing.columns["key_check.token"] == 0 and not await key_check_is_current(fresh, clock, directory)
    report = rotation_report(missing, elsewhere)
    assert "INCOMPLETE" in report and str(elsewhere) in report and "names 1 files" in report


async def test_a_wrong_data_key_or_hash_key_stops_the_start_clearly(settings: Settings, clock: FixedClock,
                                                                    template_db: tuple[Path, Directory]) -> None:
    await file_on(settings, clock, template_db[1])
    with pytest.raises(crypto.KeyringError, match="BAB_DATA_KEYS lacks the key"):
        await build(dataclasses.replace(settings, data_keys=(OTHER_KEY,)), clock=clock, directory=template_db[1])
    with pytest.raises(crypto.KeyringError, match="BAB_HASH_KEY"):
        await build(dataclasses.replace(settings, hash_key="x" * 40), clock=clock, directory=template_db[1])
    with pytest.raises(crypto.KeyringError, match="not a Fernet key"):
        crypto.keyring_for(dataclasses.replace(settings, data_keys=("not-a-key",)))
    with pytest.raises(crypto.KeyringError, match="both"):
        crypto.keyring_for(dataclasses.replace(settings, hash_key=""))
    # Keys unset where the data was written with others (a production start that lost its environment): a
    # key file is generated, and the start stops instead of reading garbage or writing under a new key.
    unset = dataclasses.replace(settings, data_keys=(), hash_key="")
    with pytest.raises(crypto.KeyringError, match="keys.env"):
        await build(unset, clock=clock, directory=template_db[1])


async def test_the_quick_start_generates_its_keys_once_into_the_data_folder_unlogged(
        tmp_path: Path, clock: FixedClock, template_db: tuple[Path, Directory],
        caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "fresh"
    data.mkdir()
    shutil.copy(template_db[0], data / "bab.sqlite3")
    fresh = Settings(data_dir=data, database_url=f"sqlite+aiosqlite:///{data / 'bab.sqlite3'}", default_locale="fr")
    with caplog.at_level(logging.WARNING):
        await file_on(fresh, clock, template_db[1])
    key_file = data / crypto.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = dict(line.split("=", 1) for line in key_file.read_text().splitlines() if not line.startswith("#"))
    assert "production must set them" in caplog.text
    assert keys["BAB_DATA_KEYS"] not in caplog.text and keys["BAB_HASH_KEY"] not in caplog.text
    texts, files = await read_all(fresh, clock, template_db[1])  # the same keys, read again
    assert SUBJECT in texts and files == [PNG]
    assert key_file.read_text().count("BAB_DATA_KEYS=") == 1  # kept, not generated again


def test_the_cli_prints_keys_and_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str],
                                         template_db: tuple[Path, Directory]) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["privacy", "keygen"]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = dict(line.split("=", 1) for line in lines if not line.startswith("#"))  # ready for a .env as printed
    crypto.Keyring((printed["BAB_DATA_KEYS"],), printed["BAB_HASH_KEY"])  # they are valid keys
    shutil.copy(template_db[0], tmp_path / "bab.sqlite3")
    for name, value in (("BAB_DATA_DIR", str(tmp_path)), ("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bab.sqlite3"),
                        ("BAB_DATA_KEYS", TEST_DATA_KEY), ("BAB_HASH_KEY", TEST_HASH_KEY), ("BAB_SCHEDULER", "off")):
        monkeypatch.setenv(name, value)
    assert main(["privacy", "rotate-key"]) == 0
    assert "0 values and files" in capsys.readouterr().out  # a new database: the key check only, already current
    monkeypatch.setenv("BAB_DATA_KEYS", OTHER_KEY)
    assert main(["privacy", "rotate-key"]) == 2
    assert "BAB_DATA_KEYS lacks the key" in capsys.readouterr().err
    assert main(["migrate"]) == 2  # `bab migrate` checks the keys as every start does
    assert "BAB_DATA_KEYS lacks the key" in capsys.readouterr().err


# --- Migration 0006 -----------------------------------------------------------------------------------------

PHONE = "212677001122"
OLD_BODY = json.dumps({"entry": [{"changes": [{"value": {"messages": [{"from": PHONE, "text": {
    "body": SUBJECT}}]}}]}]}).encode()


def _typed(value: object) -> Any:
    if isinstance(value, datetime):
        return DateTime(timezone=True)
    if isinstance(value, date):
        return Date()
    if isinstance(value, bytes):
        return LargeBinary()
    return None


async def put(connection: Any, into: str, /, **values: object) -> None:
    """Insert one row into table `into` as an earlier revision stored it, the values typed for each backend's
    driver."""
    raw = table(into, *(column(key, _typed(value)) for key, value in values.items()))
    await connection.execute(insert(raw).values(**values))


@pytest.fixture(params=["sqlite", "postgresql"])
async def at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database at revision 0005 (before encryption) with plaintext rows, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        found = postgres_url()
        if found is None:
            pytest.skip("TEST_DATABASE_URL is not set")
        url = found
        await reset_schema(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0005")
    engine = create_engine(url)
    at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        await put(connection, "collectivities", code="01", level="region", name_fr="R", name_ar="R", population=0,
                  lat=0.0, lon=0.0, on_bab=False)
        await put(connection, "citizens", id=1, locale="fr", created_at=at)
        for identity, channel, external in ((1, "whatsapp", PHONE), (2, "telegram", "123456789"),
                                            (3, "whatsapp", "MA.1000000000000000001"), (4, "web", "cookie-hash")):
            await put(connection, "identities", id=identity, citizen_id=1, channel=channel, external_id=external,
                      unreachable=False, created_at=at, last_seen_at=at)
        await put(connection, "whatsapp_contacts", identity_id=1, wa_id=PHONE, updated_at=at)
        await put(connection, "conversations", identity_id=1, version=3, updated_at=at,
                  state=json.dumps({"flow": "access", "answers": {"name": NAME, "id": CARD}}))
        await put(connection, "inbound_messages", id=1, identity_id=4, channel="web", kind="text", text=NAME,
                  created_at=at)
        await put(connection, "requests", id=1, reference="BAB-OLD1", kind="access", status="refused", citizen_id=1,
                  identity_id=1, collectivity_code="01", locale="fr", urgent=False, subject=SUBJECT,
                  requester_name=NAME, id_number=CARD, contact=CONTACT, deadline_rule="access", received_at=at,
                  due_on=date(2026, 12, 15), created_at=at, updated_at=at)
        await put(connection, "request_events", request_id=1, at=at, kind="refuse", actor="staff:1",
                  data=json.dumps({"ground": "unclear", "reason_text": NAME}))
        await put(connection, "outbox", identity_id=1, channel="whatsapp", status="sent", attempts=1,
                  next_attempt_at=at, created_at=at,
                  payload=json.dumps({"text": f"Reçu : {NAME}, {CARD}", "locale": "fr"}))
        await put(connection, "webhook_deliveries", channel="whatsapp", body=OLD_BODY, received_at=at,
                  next_attempt_at=at, attempts=1)
    await engine.dispose()
    yield url


async def test_migration_0006_encrypts_what_was_stored_before_and_the_downgrade_restores_it(
        at_0005: str, tmp_path: Path) -> None:
    url = at_0005
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "old.png").write_bytes(PNG)
    engine = create_engine(url)
    await upgrade_to_head(engine, uploads)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        request = await session.get(tables.Request, 1)
        event = await session.scalar(select(tables.RequestEvent))
        conversation = await session.get(tables.Conversation, 1)
        contact = await session.get(tables.WhatsAppContact, 1)
        outbox = await session.scalar(select(tables.OutboxMessage))
        body = await session.scalar(select(tables.WebhookDelivery.body))
        inbound = await session.get(tables.InboundMessage, 1)
        keys = dict((await session.execute(select(tables.Identity.id, tables.Identity.external_id))).all())
    assert request is not None and (request.requester_name, request.id_number, request.contact, request.subject) \
        == (NAME, CARD, CONTACT, SUBJECT)
    assert event is not None and event.data["reason_text"] == NAME and event.ground == "unclear"
    assert conversation is not None and conversation.state["answers"] == {"name": NAME, "id": CARD}
    assert contact is not None and contact.wa_id == PHONE and contact.wa_id_hash == crypto.keyed_hash(PHONE)
    assert outbox is not None and NAME in outbox.payload["text"] and body == OLD_BODY
    assert inbound is not None and inbound.text == NAME
    # The number-keyed WhatsApp identity is re-keyed by its hash; a BSUID is left alone; the Telegram id is
    # hashed too, by 0010 (tested below).
    assert keys == {1: crypto.keyed_hash(PHONE), 2: tables.identity_key("telegram", "123456789"),
                    3: "MA.1000000000000000001", 4: "cookie-hash"}
    assert media.read(uploads / "old.png") == PNG and crypto.is_token((uploads / "old.png").read_bytes())
    raw = ""
    async with engine.connect() as connection:
        for name in ("requests", "request_events", "conversations", "whatsapp_contacts", "outbox",
                     "webhook_deliveries", "inbound_messages", "identities"):
            raw += "\n".join(str(row) for row in (await connection.execute(text(f"SELECT * FROM {name}"))).all())
    assert found_in(raw.encode(), (NAME, CARD, CONTACT, PHONE, "voirie")) == []
    # Down again: everything in the clear, as revision 0005's code reads it.
    config = alembic_config(url)
    config.attributes["uploads_dir"] = uploads
    await engine.dispose()
    await asyncio.to_thread(command.downgrade, config, "0005")
    engine = create_engine(url)
    async with engine.connect() as connection:
        row = (await connection.execute(text(
            "SELECT requester_name, id_number, contact, subject FROM requests"))).one()
        state = (await connection.execute(text("SELECT state FROM conversations"))).scalar_one()
        wa_id = (await connection.execute(text("SELECT wa_id FROM whatsapp_contacts"))).scalar_one()
        data = (await connection.execute(text("SELECT data FROM request_events"))).scalar_one()
    await engine.dispose()
    assert tuple(row) == (NAME, CARD, CONTACT, SUBJECT) and wa_id == PHONE
    assert (state if isinstance(state, dict) else json.loads(state))["answers"]["name"] == NAME
    assert (data if isinstance(data, dict) else json.loads(data))["ground"] == "unclear"
    assert (uploads / "old.png").read_bytes() == PNG


def test_migration_0006_without_keys_refuses_to_touch_stored_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0005")
    engine = create_engine(url)

    async def one_citizen() -> None:
        at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
        async with engine.begin() as connection:
            await put(connection, "citizens", id=1, locale="fr", created_at=at)
            await put(connection, "identities", id=1, citizen_id=1, channel="web", external_id="x",
                      unreachable=False, created_at=at, last_seen_at=at)
            await put(connection, "conversations", identity_id=1, state="{}", version=0, updated_at=at)
        await engine.dispose()

    asyncio.run(one_citizen())
    crypto.install(None)  # as a bare `alembic upgrade` process would be: no keyring installed
    with pytest.raises(crypto.KeyringError, match="bab migrate"):
        command.upgrade(alembic_config(url), "head")


def test_file_mode_of_rewritten_files_is_private(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(PNG)
    os.chmod(path, 0o644)
    assert crypto.seal_file(path) and not crypto.seal_file(path)  # a second pass leaves it as it is
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and media.read(path) == PNG
    assert not [leftover for leftover in tmp_path.iterdir() if leftover.name.startswith(".")]


NEW_HASH_KEY = "n" * 16 + "e" * 16 + "w" * 8  # 40 characters


async def _whatsapp_people(settings: Settings, directory: Directory) -> tuple[int, int, str]:
    """Two WhatsApp people known to the database (one by number only, one by user id and number); returns their
    identity ids, once created, and the number-only one's identity key."""
    from bot.storage import whatsapp_repo

    bab = await build(settings, directory=directory)
    try:
        async with bab.sessions() as session, session.begin():
            now = bab.clock.now()
            by_number = await whatsapp_repo.resolve_contact(session, None, "212600000001", None, now, now)
            await whatsapp_repo.resolve_contact(session, "MA.user.2", "212600000002", None, now, now)
            ids = {row.external_id: row.id for row in await session.scalars(
                select(tables.Identity).where(tables.Identity.channel == whatsapp_repo.CHANNEL))}
        return ids[by_number], ids["MA.user.2"], by_number
    finally:
        await bab.close()


def test_the_hash_key_rotates_with_every_lookup_and_only_the_new_key_opens_the_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        template_db: tuple[Path, Directory]) -> None:
    from bot.config import load_settings

    monkeypatch.chdir(tmp_path)
    shutil.copy(template_db[0], tmp_path / "bab.sqlite3")
    for name, value in (("BAB_DATA_DIR", str(tmp_path)), ("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bab.sqlite3"),
                        ("BAB_DATA_KEYS", TEST_DATA_KEY), ("BAB_HASH_KEY", TEST_HASH_KEY), ("BAB_SCHEDULER", "off")):
        monkeypatch.setenv(name, value)
    number_only, with_user_id, old_key = asyncio.run(_whatsapp_people(load_settings(), template_db[1]))
    assert main(["privacy", "rotate-hash-key"]) == 2  # no BAB_NEW_HASH_KEY: nothing done
    assert "BAB_NEW_HASH_KEY" in capsys.readouterr().err
    monkeypatch.setenv("BAB_NEW_HASH_KEY", NEW_HASH_KEY)
    assert main(["privacy", "rotate-hash-key"]) == 0
    out = capsys.readouterr().out
    assert "2 WhatsApp numbers, 1 identity keys" in out and NEW_HASH_KEY not in out
    assert main(["migrate"]) == 2  # the old key no longer opens the database…
    assert "BAB_HASH_KEY" in capsys.readouterr().err
    monkeypatch.setenv("BAB_HASH_KEY", NEW_HASH_KEY)  # …the new one does, and finds the same people
    assert main(["privacy", "rotate-hash-key"]) == 1  # already done: refused, not applied twice
    assert "already under the new hash key" in capsys.readouterr().err
    again = asyncio.run(_whatsapp_people(load_settings(), template_db[1]))
    assert again[:2] == (number_only, with_user_id) and again[2] != old_key
    # No lookup made with the old key is left in the database file for whoever may hold that key.
    assert old_key.encode() not in (tmp_path / "bab.sqlite3").read_bytes()


# --- Locations and Telegram chat ids (migration 0010) --------------------------------------------------------



def number_forms(value: float) -> tuple[bytes, ...]:
    """How a number may sit in a dump: its text (a float's shortest and 5-decimal forms, as the web transcript
    writes them), SQLite's big-endian REAL or INTEGER record, and the little-endian machine forms."""
    if isinstance(value, float):
        texts = {repr(value), f"{value:.5f}", f"{abs(value):.5f}", repr(abs(value))}
        packed = {struct.pack(">d", value), struct.pack("<d", value)}
    else:
        texts = {str(value)}
        packed = {struct.pack(">i", value), struct.pack("<i", value), struct.pack(">q", value)}
    return tuple(sorted(text.encode() for text in texts)) + tuple(sorted(packed))


def numbers_in(blob: bytes, values: tuple[float, ...]) -> list[str]:
    """The values of which some form (see `number_forms`) appears in `blob`."""
    return [str(value) for value in values if any(form in blob for form in number_forms(value))]


@pytest.fixture
async def db_tg_citizen(db_settings: Settings, fake_api: FakeTelegramAPI, clock: FixedClock,  # noqa: F811
                        template_db: tuple[Path, Directory]) -> AsyncIterator[TelegramCitizen]:
    """A citizen on Telegram (the fake Bot API, polling) on each backend in turn."""
    settings = dataclasses.replace(db_settings, telegram_bot_token=fake_api.token,
                                   telegram_api_base_url=fake_api.base_url)
    bab = await make_bab(settings, clock, template_db[1])
    assert bab.telegram is not None
    bab.telegram.start(bab.conversations)
    await fake_api.wait_for("getUpdates")
    yield TelegramCitizen(fake_api, bab, chat_id=CHAT)
    await bab.close()


async def test_a_dump_holds_no_telegram_chat_id_nor_location_while_bab_still_uses_them(
        db_tg_citizen: TelegramCitizen, db_settings: Settings) -> None:
    citizen, bab = db_tg_citizen, db_tg_citizen.bab
    clerk = TelegramCitizen(citizen.api, bab, chat_id=CLERK)
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(Role.CLERK, [TETOUAN], "Fatima")
    assert "Fatima" in clerk.texts(await clerk.say(f"/start {invite.code}"))  # staff linked on Telegram
    await citizen.say("Bonjour, j'ai une réclamation")
    await citizen.send(tg.location(CHAT, LAT, LON))  # the place step: the nearest communes
    await citizen.tap(TETOUAN)
    await citizen.tap("lighting")
    await citizen.say("Les lampadaires de la rue 12 sont éteints depuis deux semaines.")
    await citizen.send(tg.location(CHAT, LAT, LON))  # the complaint's location, instead of a photo
    await citizen.tap("skip")
    receipt = citizen.texts(await citizen.tap("send"))
    reference = find_reference(receipt)
    assert reference is not None, receipt
    assert reference in clerk.texts(await clerk.replies())  # the clerk, reached at their chat id
    # Bab reads them back: the location exactly, the chat id to send to, /mydata as before.
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        identity = await repos.find_identity(session, "telegram", str(CHAT))
        members = await staff_repo.active_members(session)
    assert request is not None and (request.lat, request.lon) == (LAT, LON)
    assert identity is not None and identity.address == str(CHAT) and identity.external_id != str(CHAT)
    assert [(member.channel, member.external_id) for member in members] == [("telegram", str(CLERK))]
    calls = await citizen.say("/mydata")
    exported = next(call.params["document"]["content"] for call in calls if call.method == "sendDocument"
                    and call.params["document"]["filename"] == "bab-my-data.json")
    data = json.loads(exported)
    assert data["identities"] == [{**data["identities"][0], "channel": "telegram", "id": str(CHAT)}]
    assert data["requests"][0]["location"] == {"lat": LAT, "lon": LON}
    await bab.close()
    blob = await dump(db_settings)
    assert len(blob) > 100_000  # the dump did read the database
    assert numbers_in(blob, (CHAT, CLERK, LAT, LON)) == [], "a chat id or a location is in the clear"
    # The test can fail: the same dump with the values in the clear would show them (as text, as SQLite's REAL).
    assert numbers_in(blob + str(CHAT).encode() + struct.pack(">d", LAT), (CHAT, CLERK, LAT, LON)) == [
        str(CHAT), str(LAT)]


async def test_forget_on_telegram_erases_the_location_and_the_chat_still_works(
        db_tg_citizen: TelegramCitizen) -> None:
    citizen, bab = db_tg_citizen, db_tg_citizen.bab
    await citizen.say("Bonjour, j'ai une réclamation")
    await citizen.say("Tétouan")
    await citizen.tap(TETOUAN)
    await citizen.tap("lighting")
    await citizen.say("Les lampadaires de la rue 12 sont éteints depuis deux semaines.")
    await citizen.send(tg.location(CHAT, LAT, LON))
    await citizen.tap("skip")
    await citizen.tap("send")
    await citizen.say("effacer mes données")
    await citizen.tap(citizen.option_ids()[0])
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        identity = await repos.find_identity(session, "telegram", str(CHAT))
    assert request is not None and (request.lat, request.lon) == (None, None)
    assert identity is not None and identity.address == str(CHAT)  # moved to a new, empty citizen: still reachable
    assert await citizen.say("Bonjour")  # the same chat goes on, answered at its chat id


async def test_rotate_key_re_encrypts_the_locations_and_chat_ids(settings: Settings, clock: FixedClock,
                                                                  template_db: tuple[Path, Directory]) -> None:
    directory = template_db[1]
    bab = await build(settings, clock=clock, directory=directory)
    try:
        async with bab.sessions() as session, session.begin():
            now = clock.now()
            identity = await repos.identity_for(session, "telegram", str(CHAT), now)
            session.add(tables.Request(
                reference="BAB-LOC1", kind="complaint", status="received", citizen_id=identity.citizen_id,
                identity_id=identity.id, collectivity_code=TETOUAN, locale="fr", subject="x", lat=LAT, lon=LON,
                deadline_rule="complaint", received_at=now, due_on=date(2026, 12, 30), created_at=now,
                updated_at=now))
    finally:
        await bab.close()
    both = dataclasses.replace(settings, data_keys=(crypto.new_data_key(), TEST_DATA_KEY))
    bab = await build(both, clock=clock, directory=directory)
    try:
        done = await keystore.rotate(bab.engine, both.uploads_dir)
        assert (done.columns["requests.lat"], done.columns["requests.lon"], done.columns["identities.address"]) \
            == (1, 1, 1)
    finally:
        await bab.close()
    bab = await build(dataclasses.replace(both, data_keys=both.data_keys[:1]), clock=clock, directory=directory)
    try:  # the new key alone reads them
        async with bab.sessions() as session:
            request = await session.scalar(select(tables.Request))
            found = await repos.find_identity(session, "telegram", str(CHAT))
        assert request is not None and (request.lat, request.lon) == (LAT, LON)
        assert found is not None and found.address == str(CHAT)
    finally:
        await bab.close()


def test_the_hash_key_rotates_the_telegram_keys_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str],
                                                    template_db: tuple[Path, Directory]) -> None:
    from bot.config import load_settings

    monkeypatch.chdir(tmp_path)
    shutil.copy(template_db[0], tmp_path / "bab.sqlite3")
    for name, value in (("BAB_DATA_DIR", str(tmp_path)), ("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bab.sqlite3"),
                        ("BAB_DATA_KEYS", TEST_DATA_KEY), ("BAB_HASH_KEY", TEST_HASH_KEY), ("BAB_SCHEDULER", "off")):
        monkeypatch.setenv(name, value)

    async def chats() -> dict[str, tuple[int, str]]:
        """The Telegram identities as Bab finds them by chat id (created the first time): id and stored key."""
        bab = await build(load_settings(), directory=template_db[1])
        try:
            async with bab.sessions() as session, session.begin():
                found = {}
                for chat in (CHAT, CLERK):
                    row = await repos.identity_for(session, "telegram", str(chat), bab.clock.now())
                    found[str(chat)] = (row.id, row.external_id)
                return found
        finally:
            await bab.close()

    before = asyncio.run(chats())
    monkeypatch.setenv("BAB_NEW_HASH_KEY", NEW_HASH_KEY)
    assert main(["privacy", "rotate-hash-key"]) == 0
    assert "2 Telegram chats" in capsys.readouterr().out
    monkeypatch.setenv("BAB_HASH_KEY", NEW_HASH_KEY)
    after = asyncio.run(chats())
    # The same identities, found by their chat ids under the new key; no key made with the old one is left.
    assert {chat: row_id for chat, (row_id, _) in after.items()} == {chat: row_id for chat, (row_id, _) in before.items()}
    database = (tmp_path / "bab.sqlite3").read_bytes()
    for chat, (_, old_key) in before.items():
        assert after[chat][1] != old_key and old_key.encode() not in database


# Migration 0010 from a database at 0009 with rows: both backends, up, down and up again.

@pytest.fixture(params=["sqlite", "postgresql"])
async def at_0009(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database at revision 0009 with a located complaint and Telegram, WhatsApp and web identities."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        found = postgres_url()
        if found is None:
            pytest.skip("TEST_DATABASE_URL is not set")
        url = found
        await reset_schema(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0009")
    engine = create_engine(url)
    at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    sealed = crypto.active().encrypt(SUBJECT.encode()).decode("ascii")  # encrypted since 0006
    async with engine.begin() as connection:
        await put(connection, "collectivities", code="01", level="region", name_fr="R", name_ar="R", population=0,
                  lat=0.0, lon=0.0, on_bab=False)
        await put(connection, "citizens", id=1, locale="fr", created_at=at)
        for identity, channel, external in ((1, "telegram", str(CHAT)), (2, "telegram", str(CLERK)),
                                            (3, "whatsapp", "MA.1000000000000000001"), (4, "web", "cookie-hash")):
            await put(connection, "identities", id=identity, citizen_id=1, channel=channel, external_id=external,
                      unreachable=False, created_at=at, last_seen_at=at)
        for number, lat, lon in ((1, LAT, LON), (2, None, None)):
            await put(connection, "requests", id=number, reference=f"BAB-OLD{number}", kind="complaint",
                      status="received", citizen_id=1, identity_id=1, collectivity_code="01", locale="fr",
                      urgent=False, subject=sealed, lat=lat, lon=lon, deadline_rule="complaint", received_at=at,
                      due_on=date(2026, 12, 15), created_at=at, updated_at=at)
        await put(connection, "staff", id=1, role="clerk", name="Fatima", identity_id=2, created_at=at, linked_at=at)
    await engine.dispose()
    yield url


async def raw_rows(url: str) -> str:
    """The requests and identities as the database holds them, read without the models."""
    engine = create_engine(url)
    try:
        rows = []
        async with engine.connect() as connection:
            for name in ("requests", "identities"):
                rows += (await connection.execute(text(f"SELECT * FROM {name}"))).all()
        return "\n".join(str(row) for row in rows)
    finally:
        await engine.dispose()


async def test_migration_0010_encrypts_locations_and_telegram_ids_and_the_downgrade_restores_them(
        at_0009: str) -> None:
    url = at_0009
    engine = create_engine(url)
    await upgrade_to_head(engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        located, plain = (await session.scalars(select(tables.Request).order_by(tables.Request.id))).all()
        identities = {row.id: row for row in await session.scalars(select(tables.Identity))}
        found = await repos.find_identity(session, "telegram", str(CHAT))
        members = await staff_repo.active_members(session)
    await engine.dispose()
    assert (located.lat, located.lon, plain.lat, plain.lon) == (LAT, LON, None, None)
    assert found is not None and found.id == 1
    assert [(row.external_id, row.address) for _, row in sorted(identities.items())] == [
        (tables.identity_key("telegram", str(CHAT)), str(CHAT)), (tables.identity_key("telegram", str(CLERK)),
                                                                  str(CLERK)),
        ("MA.1000000000000000001", None), ("cookie-hash", None)]
    assert [member.external_id for member in members] == [str(CLERK)]  # the clerk is reached at their chat id
    assert numbers_in((await raw_rows(url)).encode(), (CHAT, CLERK, LAT, LON)) == []
    # Down to 0009: the chat ids are the keys again, the coordinates floats.
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0009")
    engine = create_engine(url)
    async with engine.connect() as connection:
        coordinates = (await connection.execute(text("SELECT lat, lon FROM requests ORDER BY id"))).all()
        keys = (await connection.execute(text("SELECT external_id FROM identities ORDER BY id"))).scalars().all()
        columns = (await connection.execute(text("SELECT * FROM identities"))).keys()
    await engine.dispose()
    assert [tuple(row) for row in coordinates] == [(LAT, LON), (None, None)]
    assert keys == [str(CHAT), str(CLERK), "MA.1000000000000000001", "cookie-hash"] and "address" not in columns
    # And up again, as a redeploy would.
    engine = create_engine(url)
    await upgrade_to_head(engine)
    async with create_sessionmaker(engine)() as session:
        again = await session.get(tables.Request, 1)
        assert again is not None and (again.lat, again.lon) == (LAT, LON)
        assert await repos.find_identity(session, "telegram", str(CLERK)) is not None
    await engine.dispose()
