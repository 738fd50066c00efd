"""Settings read once from the environment (and an optional `.env` file); nothing else reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_LOCALES = ("ary", "fr", "ar", "ary_Latn")
# Bab's locale -> WhatsApp template language; WhatsApp has no code for Darija, so Darija speakers get Arabic, and
# those who write Darija in Latin letters the Latin-script (French) template.
TEMPLATE_LANGUAGES: tuple[tuple[str, str], ...] = (("ary", "ar"), ("ar", "ar"), ("fr", "fr"), ("ary_Latn", "fr"))


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
    # One sender's messages read at once, then per second (a flooder slows nobody else); 0: no limit. The
    # environment's default is a limit (BAB_INBOUND_BURST=20); a Settings built in code has none.
    inbound_burst: int = 0
    inbound_per_second: float = 1.0
    log_level: str = "INFO"
    telegram_bot_token: str | None = None  # turns the Telegram channel on
    telegram_api_base_url: str = "https://api.telegram.org/bot"  # PTB's base_url: the token is appended
    public_url: str | None = None  # https://… where Telegram can reach us: webhook mode instead of polling
    telegram_webhook_secret: str | None = None  # else derived from the token, the same in every worker
    telegram_bot_username: str = ""  # for the staff invite deep links that `bab staff invite` prints
    urgent_unit: str = "calendar"  # "calendar" or "working": the unit of the 3-day urgent deadline (law.md §8.1)
    reminder_days: tuple[int, ...] = (5, 1)  # working days before the due date when clerks are reminded
    escalation_days: int = 20  # working days past due before coordinators one level up are alerted
    digest_hour: int = 8  # hour (Africa/Casablanca) of the coordinators' daily digest
    scheduler: bool = True  # run the deadline jobs inside `bab run`
    whatsapp_token: str | None = None  # a permanent system-user token: turns the WhatsApp channel on
    whatsapp_phone_number_id: str = ""  # the business number Bab sends from (and the webhooks it accepts)
    whatsapp_app_secret: str = ""  # signs every webhook POST (X-Hub-Signature-256)
    whatsapp_verify_token: str = ""  # what Meta echoes in the GET verification handshake
    whatsapp_api_base_url: str = "https://graph.facebook.com/v25.0"  # the Graph API, version included
    # Approved utility templates: notice kind -> template name (see `bab whatsapp templates`); a kind without
    # one waits for the person to write again when the 24-hour window is closed.
    whatsapp_templates: tuple[tuple[str, str], ...] = ()
    # Bab's locale -> the template language code it is approved in (there is no Darija code: Arabic is used).
    whatsapp_template_languages: tuple[tuple[str, str], ...] = TEMPLATE_LANGUAGES
    whatsapp_per_second: float = 80.0  # the number's throughput (80 by default, up to 1,000 once upgraded)
    whatsapp_pair_burst: int = 20  # messages to one person before the 6-second pair rate applies
    # Seconds a channel API call may take before it is given up (its outcome is then unknown: it may have gone).
    telegram_timeout: float = 5.0  # each of connect, write and read, for Bot API calls that send
    whatsapp_timeout: float = 30.0  # the whole Graph API call
    # After a WhatsApp send whose answer was lost (timeout, reset, 5xx), seconds to wait for a status webhook
    # proving it went (it carries the outbox id in biz_opaque_callback_data) before sending it again.
    whatsapp_receipt_grace: float = 20.0
    # Origins (https://www.commune.ma) whose pages may frame the web chat (the embed snippet); none by default.
    embed_origins: tuple[str, ...] = ()
    transparency_cache_seconds: float = 600.0  # how long the transparency figures are served before a refresh
    # Retention (law 09-08: kept only as long as the purpose needs), in days after a request stops being open.
    retention_personal_days: int = 365  # name, card number, contact, location, subject and texts of the request
    retention_files_days: int = 365  # photos and documents of the request (on disk and their rows)
    retention_messages_days: int = 90  # the web transcript and what the citizen typed there
    retention_outbox_days: int = 7  # delivered or failed outbox rows (the web keeps its transcript apart)
    retention_audit_days: int = 730  # the audit log of staff actions: who saw whose details, refused actions
    purge_hour: int = 3  # hour (Africa/Casablanca) of the daily purge of what is due
    hosting_country: str = "MA"  # ISO code of where the database is hosted: anything but MA is a transfer abroad
    controller: str = ""  # who is responsible for the processing (name and address), for the notice and register
    cndp_receipt: str = ""  # the number of the CNDP's receipt of the declaration, shown in the privacy notice
    # Encryption at rest (bot/storage/crypto.py): Fernet keys, the first encrypts and all decrypt (rotation), and
    # the key of the lookup hashes. Neither set: keys generated into the data folder (the quick start only).
    data_keys: tuple[str, ...] = field(default=(), repr=False)
    hash_key: str = field(default="", repr=False)

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


def pairs(raw: str, name: str) -> tuple[tuple[str, str], ...]:
    """'a=b,c=d' as (('a', 'b'), ('c', 'd')); a malformed item is an error naming the variable."""
    found: list[tuple[str, str]] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{name} takes key=value items separated by commas, like a=b,c=d")
        found.append((key.strip(), value.strip()))
    return tuple(found)


def embed_origins(raw: str) -> tuple[str, ...]:
    """BAB_EMBED_ORIGINS, 'https://a.ma https://b.ma' (spaces or commas): each must be a bare http(s) origin."""
    found = tuple(part.strip().rstrip("/") for part in raw.replace(",", " ").split() if part.strip())
    for origin in found:
        scheme, sep, host = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "/" in host or any(
                ch in host for ch in " ;'\"*"):
            raise ValueError(f"BAB_EMBED_ORIGINS takes origins like https://www.commune.ma, not {origin!r}")
    return found


def load_settings(environ: dict[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Build Settings from `environ` (default os.environ), falling back to `env_file` values."""
    env = dict(read_env_file(env_file)) if env_file is not None else {}
    env.update(os.environ if environ is None else environ)
    data_dir = Path(env.get("BAB_DATA_DIR", "data")).expanduser().resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'bab.sqlite3'}"
    default_locale = env.get("BAB_DEFAULT_LOCALE", "ary")
    if default_locale not in SUPPORTED_LOCALES:
        raise ValueError(f"BAB_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
    urgent_unit = env.get("BAB_URGENT_UNIT", "calendar").lower()
    if urgent_unit not in ("calendar", "working"):
        raise ValueError("BAB_URGENT_UNIT must be calendar or working")
    reminder_days = tuple(sorted({int(part) for part in env.get("BAB_REMINDER_DAYS", "5,1").split(",")
                                  if part.strip()}, reverse=True))
    if any(day < 0 for day in reminder_days):
        raise ValueError("BAB_REMINDER_DAYS must be working-day counts >= 0, like 5,1")
    digest_hour = int(env.get("BAB_DIGEST_HOUR", "8"))
    if not 0 <= digest_hour <= 23:
        raise ValueError("BAB_DIGEST_HOUR must be an hour from 0 to 23")
    retention = {name: int(env.get(f"BAB_RETENTION_{name.upper()}_DAYS", default))
                 for name, default in (("personal", "365"), ("files", "365"), ("messages", "90"), ("outbox", "7"),
                                       ("audit", "730"))}
    if any(days < 1 for days in retention.values()):
        raise ValueError("BAB_RETENTION_*_DAYS must be whole numbers of days, 1 or more")
    purge_hour = int(env.get("BAB_PURGE_HOUR", "3"))
    if not 0 <= purge_hour <= 23:
        raise ValueError("BAB_PURGE_HOUR must be an hour from 0 to 23")
    hosting_country = env.get("BAB_HOSTING_COUNTRY", "MA").strip().upper()
    if len(hosting_country) != 2 or not hosting_country.isalpha():
        raise ValueError("BAB_HOSTING_COUNTRY takes a two-letter country code, like MA or FR")
    whatsapp_rate = float(env.get("WHATSAPP_MESSAGES_PER_SECOND", "80"))
    if not 1 <= whatsapp_rate <= 1000:
        raise ValueError("WHATSAPP_MESSAGES_PER_SECOND must be from 1 to 1000 (80 unless Meta raised the number's)")
    if env.get("WHATSAPP_TOKEN") and not (env.get("WHATSAPP_PHONE_NUMBER_ID") and env.get("WHATSAPP_APP_SECRET")
                                          and env.get("WHATSAPP_VERIFY_TOKEN")):
        raise ValueError("WHATSAPP_TOKEN needs WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET and "
                         "WHATSAPP_VERIFY_TOKEN too (see the README's WhatsApp section)")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        host=env.get("BAB_HOST", "127.0.0.1"),
        port=int(env.get("BAB_PORT", "8080")),
        default_locale=default_locale,
        secure_cookies=env.get("BAB_SECURE_COOKIES", "0").lower() in {"1", "true", "yes"},
        outbox_max_attempts=int(env.get("BAB_OUTBOX_MAX_ATTEMPTS", "8")),
        inbound_burst=int(env.get("BAB_INBOUND_BURST", "20")),
        inbound_per_second=float(env.get("BAB_INBOUND_PER_SECOND", "1")),
        log_level=env.get("BAB_LOG_LEVEL", "INFO").upper(),
        embed_origins=embed_origins(env.get("BAB_EMBED_ORIGINS", "")),
        transparency_cache_seconds=float(env.get("BAB_TRANSPARENCY_CACHE_SECONDS", "600")),
        retention_personal_days=retention["personal"],
        retention_files_days=retention["files"],
        retention_messages_days=retention["messages"],
        retention_outbox_days=retention["outbox"],
        retention_audit_days=retention["audit"],
        purge_hour=purge_hour,
        hosting_country=hosting_country,
        controller=env.get("BAB_CONTROLLER", "").strip(),
        cndp_receipt=env.get("BAB_CNDP_RECEIPT", "").strip(),
        data_keys=tuple(key.strip() for key in env.get("BAB_DATA_KEYS", "").split(",") if key.strip()),
        hash_key=env.get("BAB_HASH_KEY", "").strip(),
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or "https://api.telegram.org/bot",
        public_url=(env.get("BAB_PUBLIC_URL") or "").rstrip("/") or None,
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        telegram_bot_username=env.get("TELEGRAM_BOT_USERNAME", "").lstrip("@"),
        urgent_unit=urgent_unit,
        reminder_days=reminder_days,
        escalation_days=int(env.get("BAB_ESCALATION_DAYS", "20")),
        digest_hour=digest_hour,
        scheduler=env.get("BAB_SCHEDULER", "on").lower() not in {"0", "off", "false", "no"},
        whatsapp_token=env.get("WHATSAPP_TOKEN") or None,
        whatsapp_phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", "").strip(),
        whatsapp_app_secret=env.get("WHATSAPP_APP_SECRET", ""),
        whatsapp_verify_token=env.get("WHATSAPP_VERIFY_TOKEN", ""),
        whatsapp_api_base_url=(env.get("WHATSAPP_API_BASE_URL") or "https://graph.facebook.com/v25.0").rstrip("/"),
        whatsapp_templates=pairs(env.get("WHATSAPP_TEMPLATES", ""), "WHATSAPP_TEMPLATES"),
        whatsapp_template_languages=(
            pairs(env["WHATSAPP_TEMPLATE_LANGUAGES"], "WHATSAPP_TEMPLATE_LANGUAGES")
            if env.get("WHATSAPP_TEMPLATE_LANGUAGES") else TEMPLATE_LANGUAGES),
        whatsapp_per_second=whatsapp_rate,
        whatsapp_pair_burst=int(env.get("WHATSAPP_PAIR_BURST", "20")),
        telegram_timeout=_seconds(env, "BAB_TELEGRAM_TIMEOUT", "5"),
        whatsapp_timeout=_seconds(env, "BAB_WHATSAPP_TIMEOUT", "30"),
        whatsapp_receipt_grace=_seconds(env, "BAB_WHATSAPP_RECEIPT_GRACE", "20", minimum=0.0),
    )


def _seconds(env: dict[str, str], name: str, default: str, minimum: float = 0.1) -> float:
    """A duration setting in seconds, at least `minimum`; an error naming the variable otherwise."""
    try:
        value = float(env.get(name, default))
    except ValueError:
        raise ValueError(f"{name} takes a number of seconds, like {default}") from None
    if not minimum <= value <= 3600:  # NaN included: it fails every comparison
        raise ValueError(f"{name} takes a number of seconds from {minimum:g} to 3600")
    return value
