"""Settings read once from the environment (and an optional `.env` file); nothing else reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_LOCALES = ("ary", "fr", "ar")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable; built by `load_settings` and passed down explicitly."""

    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    default_locale: str = "ary"
    secure_cookies: bool = False
    outbox_max_attempts: int = 8
    log_level: str = "INFO"

    @property
    def uploads_dir(self) -> Path:
        """Where photos sent through the web chat are kept."""
        return self.data_dir / "uploads"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines of a `.env` file; blank lines and # comments are ignored."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def load_settings(environ: dict[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Build Settings from `environ` (default os.environ), falling back to `env_file` values."""
    env = dict(read_env_file(env_file)) if env_file is not None else {}
    env.update(os.environ if environ is None else environ)
    data_dir = Path(env.get("BAB_DATA_DIR", "data")).expanduser().resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'bab.sqlite3'}"
    default_locale = env.get("BAB_DEFAULT_LOCALE", "ary")
    if default_locale not in SUPPORTED_LOCALES:
        raise ValueError(f"BAB_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        host=env.get("BAB_HOST", "127.0.0.1"),
        port=int(env.get("BAB_PORT", "8080")),
        default_locale=default_locale,
        secure_cookies=env.get("BAB_SECURE_COOKIES", "0").lower() in {"1", "true", "yes"},
        outbox_max_attempts=int(env.get("BAB_OUTBOX_MAX_ATTEMPTS", "8")),
        log_level=env.get("BAB_LOG_LEVEL", "INFO").upper(),
    )
