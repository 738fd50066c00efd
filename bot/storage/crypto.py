"""Encryption at rest: the keyring, column types that encrypt what they store, and a keyed hash for lookups.

A database dump or a copy of the data folder without the keys shows no name, card number, contact, phone
number or free text. Values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a
`MultiFernet`: the first data key encrypts, every listed key decrypts, so a key is rotated by putting a new
one first, running `bab privacy rotate-key`, then dropping the old one. Equality lookups (a phone number, a
WhatsApp identity) go through `keyed_hash`, an HMAC-SHA256 under a separate key, never through the tokens,
which differ on every write.

The column types need the keys when SQLAlchemy binds parameters and reads rows, far from any object the app
could hand down, so the keyring is one module-level value: the composition root (`bot.app.build`), the CLI
commands that open the database without it, and the Alembic environment call `install(keyring_for(settings))`
before any session is opened. Using an encrypted column before that is an error, never plaintext.

Usage for a new column: `mapped_column(EncryptedText())`, `EncryptedJSON()` (a dict), `EncryptedBytes()`,
`EncryptedFloat()` (a coordinate);
beside it, for an equality search, a `String(64)` column holding `keyed_hash(value)`. SQL cannot compare,
order or search inside an encrypted column: such an expression raises instead of silently matching nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import LargeBinary, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators

from bot.config import Settings

log = logging.getLogger(__name__)

KEY_FILE = "keys.env"  # in the data folder, written only when the environment names no key (the quick start)
TOKEN_PREFIX = b"gAAAAA"  # every Fernet token starts so (version byte 0x80, base64): no file format does
MIN_HASH_KEY_LENGTH = 32


class KeyringError(RuntimeError):
    """The keys are missing, malformed, or not those the stored data was encrypted with."""


class Keyring:
    """Data keys (first encrypts, all decrypt) and the lookup-hash key; never logged, never in a repr."""

    __slots__ = ("_fernet", "_hash_key", "_primary", "count")

    def __init__(self, data_keys: Sequence[str], hash_key: str) -> None:
        if not data_keys:
            raise KeyringError("BAB_DATA_KEYS is empty: it takes one or more Fernet keys separated by commas "
                               "(`bab privacy keygen` prints a new one)")
        try:
            fernets = [Fernet(key.strip().encode("ascii")) for key in data_keys]
        except (ValueError, UnicodeEncodeError):
            # The key itself is never quoted: the error may reach a log.
            raise KeyringError("BAB_DATA_KEYS holds a value that is not a Fernet key (32 bytes, url-safe base64; "
                               "`bab privacy keygen` prints a new one)") from None
        if len(hash_key) < MIN_HASH_KEY_LENGTH:
            raise KeyringError(f"BAB_HASH_KEY must be at least {MIN_HASH_KEY_LENGTH} characters "
                               "(`bab privacy keygen` prints a new one)")
        self._fernet = MultiFernet(fernets)
        self._primary = fernets[0]
        self._hash_key = hash_key.encode("utf-8")
        self.count = len(fernets)

    def __repr__(self) -> str:
        return f"<Keyring of {self.count} data key(s)>"

    def encrypt(self, data: bytes) -> bytes:
        """A token of `data` under the first (newest) data key."""
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        """The plaintext of a token made with any of the data keys; KeyringError if none opens it."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise KeyringError("a stored value cannot be decrypted with any key in BAB_DATA_KEYS: the key it was "
                               "encrypted with is missing, or the value was altered") from None

    def is_current(self, token: bytes) -> bool:
        """True when the newest key opens `token`: rotation leaves it as it is."""
        try:
            self._primary.decrypt(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """`token` re-encrypted under the newest key (KeyringError if no key opens it)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise KeyringError("a stored value cannot be decrypted with any key in BAB_DATA_KEYS") from None

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of `value` under the hash key, 64 hex digits: equal values, equal hashes."""
        return hash_with(self._hash_key, value)


def hash_with(hash_key: bytes, value: str) -> str:
    """HMAC-SHA256 of `value` under `hash_key` (the keyring's, or a new one during `bab privacy rotate-hash-key`)."""
    return hmac.new(hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def install(keyring: Keyring | None) -> None:
    """Make `keyring` the one every encrypted column and `keyed_hash` use from now on, in this process (None:
    none, as in a process that never read its settings)."""
    global _keyring
    _keyring = keyring


def installed() -> Keyring | None:
    """The installed keyring, if any."""
    return _keyring


def active() -> Keyring:
    """The installed keyring; KeyringError when nothing installed one (encrypted data is never written plain)."""
    if _keyring is None:
        raise KeyringError("no keyring installed: call bot.storage.crypto.install(keyring_for(settings)) before "
                           "opening the database (bot.app.build does)")
    return _keyring


def keyed_hash(value: str) -> str:
    """The lookup hash of `value` under the installed keyring's hash key."""
    return active().keyed_hash(value)


def encrypt_bytes(data: bytes) -> bytes:
    """`data` encrypted with the installed keyring (file contents)."""
    return active().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    """The plaintext of `token` under the installed keyring."""
    return active().decrypt(token)


def is_token(data: bytes) -> bool:
    """True when `data` looks like a Fernet token rather than a plaintext file (photos and PDFs never do)."""
    return data.startswith(TOKEN_PREFIX)


def open_file_bytes(data: bytes) -> bytes:
    """The plaintext of a file's contents: decrypted when a token, as they are when kept from before encryption."""
    return active().decrypt(data) if is_token(data) else data


def _replace_file(path: Path, data: bytes) -> None:
    # Written beside and renamed over: a crash leaves the old file or the new one, never half of one.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def stored_files(folder: Path) -> list[Path]:
    """The files of an uploads folder (not its leftovers of an interrupted rewrite), in name order."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))


def seal_file(path: Path) -> bool:
    """Encrypt a plaintext file in place, or re-encrypt one under an older key; False when already current."""
    keyring = active()
    data = path.read_bytes()
    if is_token(data):
        if keyring.is_current(data):
            return False
        _replace_file(path, keyring.rotate(data))
    else:
        _replace_file(path, keyring.encrypt(data))
    return True


def unseal_file(path: Path) -> bool:
    """Decrypt a file in place (a downgrade below encryption); False when it was plaintext already."""
    data = path.read_bytes()
    if not is_token(data):
        return False
    _replace_file(path, active().decrypt(data))
    return True


def new_data_key() -> str:
    """A fresh Fernet key, for BAB_DATA_KEYS."""
    return Fernet.generate_key().decode("ascii")


def new_hash_key() -> str:
    """A fresh key for BAB_HASH_KEY."""
    return secrets.token_urlsafe(32)


def keyring_for(settings: Settings) -> Keyring:
    """The keyring the settings name; with none set, the one in the data folder's key file, created (0600) the
    first time with a warning: fine for a try-out, not for production, where the keys live outside the data."""
    if settings.data_keys or settings.hash_key:
        if not settings.data_keys or not settings.hash_key:
            raise KeyringError("set both BAB_DATA_KEYS and BAB_HASH_KEY, or neither (the quick start keeps "
                               "generated keys in the data folder)")
        return Keyring(settings.data_keys, settings.hash_key)
    path = settings.data_dir / KEY_FILE
    values = _read_key_file(path)
    if values is None:
        values = {"BAB_DATA_KEYS": new_data_key(), "BAB_HASH_KEY": new_hash_key()}
        _write_key_file(path, values)
        log.warning("BAB_DATA_KEYS and BAB_HASH_KEY are not set: generated keys into %s; production must set them "
                    "in the environment, kept apart from the data and its backups (docs/deployment.md)", path)
    else:
        log.warning("BAB_DATA_KEYS and BAB_HASH_KEY are not set: using the keys in %s; production must set them "
                    "in the environment (docs/deployment.md)", path)
    data_keys = tuple(key.strip() for key in values.get("BAB_DATA_KEYS", "").split(",") if key.strip())
    return Keyring(data_keys, values.get("BAB_HASH_KEY", ""))


def _read_key_file(path: Path) -> dict[str, str] | None:
    if not path.is_file():
        return None
    values: dict[str, str] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def _write_key_file(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start (not chmod'ed after), and never overwritten: O_EXCL.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("# Bab's generated keys (quick start only): losing them loses the encrypted data.\n")
        for key, value in values.items():
            handle.write(f"{key}={value}\n")


def _refuse_sql_comparison(op: Any) -> None:
    if op not in (operators.is_, operators.is_not):
        raise TypeError("an encrypted column cannot be compared, ordered or searched in SQL: compare a keyed_hash "
                        "column, or filter in Python after reading")


class _Comparator(TypeDecorator.Comparator[Any]):
    """Only IS NULL / IS NOT NULL: anything else on ciphertext would silently match nothing."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        _refuse_sql_comparison(op)
        return super().operate(op, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        _refuse_sql_comparison(op)
        return super().reverse_operate(op, other, **kwargs)


class EncryptedText(TypeDecorator[str]):
    """A string stored as a Fernet token (TEXT); None stays NULL."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return active().encrypt(value.encode("utf-8")).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return active().decrypt(value.encode("ascii")).decode("utf-8")


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (a dict, in our tables) stored as a Fernet token of its JSON text (TEXT); None stays NULL."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return active().encrypt(text.encode("utf-8")).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(active().decrypt(value.encode("ascii")))


class EncryptedFloat(TypeDecorator[float]):
    """A float stored as a Fernet token of its shortest exact text (TEXT); None stays NULL."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def process_bind_param(self, value: float | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        # repr: the shortest text that reads back as the same float, so a value survives the round trip exactly.
        return active().encrypt(repr(float(value)).encode("ascii")).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> float | None:
        if value is None:
            return None
        return float(active().decrypt(value.encode("ascii")))


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes stored as a Fernet token (BLOB / BYTEA); None stays NULL."""

    impl = LargeBinary
    cache_ok = True
    comparator_factory = _Comparator

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return active().encrypt(bytes(value))

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return active().decrypt(bytes(value))
