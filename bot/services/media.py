"""Files people send, on any channel, kept in Bab's uploads folder under random names.

Every channel stores what it receives here (the web upload, a Telegram photo fetched with getFile, a WhatsApp
document fetched by media id), so that any other channel can send it on and the web can serve it: an
attachment's `ref` is always 'file:<name>'. The kind is decided from the bytes, never from what the sender claims.
Files are encrypted on disk (bot/storage/crypto.py): every reader goes through `read`, never `Path.read_bytes`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.storage import crypto

MAX_FILE_BYTES = 16 * 1024 * 1024  # WhatsApp's own ceiling for images is 5 MB and for documents 100 MB
SIGNATURES: tuple[tuple[bytes, str, str, str], ...] = (  # (magic bytes, mime, extension, kind)
    (b"\xff\xd8\xff", "image/jpeg", "jpg", "photo"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png", "photo"),
    (b"GIF87a", "image/gif", "gif", "photo"),
    (b"GIF89a", "image/gif", "gif", "photo"),
    (b"%PDF-", "application/pdf", "pdf", "document"),
)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file written to the uploads folder."""

    kind: str  # "photo" or "document"
    ref: str  # "file:<name>"
    mime: str
    size: int
    sha256: str
    name: str  # the file name on disk


def sniff(data: bytes) -> tuple[str, str, str] | None:
    """(mime, extension, kind) of a JPEG, PNG, GIF, WebP or PDF; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp", "photo"
    for magic, mime, extension, kind in SIGNATURES:
        if data.startswith(magic):
            return mime, extension, kind
    return None


def store(uploads_dir: Path, data: bytes) -> StoredFile | None:
    """Write `data`, encrypted, under a random name if it is a photo or a PDF within MAX_FILE_BYTES; else None."""
    found = sniff(data)
    if found is None or len(data) > MAX_FILE_BYTES:
        return None
    mime, extension, kind = found
    name = write(uploads_dir, data, extension)
    return StoredFile(kind=kind, ref=f"file:{name}", mime=mime, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), name=name)


def write(uploads_dir: Path, data: bytes, extension: str) -> str:
    """Write `data` (a file received or one Bab made: an export, a CSV) encrypted under a new random name; the name."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{extension}"
    (uploads_dir / name).write_bytes(crypto.encrypt_bytes(data))
    return name


def path_of(uploads_dir: Path, ref: str) -> Path | None:
    """The file on disk for a 'file:<name>' ref (or a bare name, as early web uploads were), if it exists."""
    scheme, sep, value = ref.partition(":")
    if sep and scheme != "file":
        return None
    name = value if sep else ref
    root = uploads_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def read(path: Path) -> bytes:
    """The plaintext of a stored file: decrypted, or as it is for a file kept from before encryption."""
    return crypto.open_file_bytes(path.read_bytes())
