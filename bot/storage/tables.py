"""ORM tables: citizens and identities, staff, the directory, requests and their event log, conversations,
the outbox, the alert ledger and the calendar overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from bot.storage.crypto import (
    EncryptedBytes,
    EncryptedFloat,
    EncryptedJSON,
    EncryptedText,
    hash_with,
    keyed_hash,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite would otherwise drop the offset silently)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER PRIMARY KEY


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the citizen asked to be forgotten (bot/services/privacy.py): their identities moved to a new row.
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The optional data the citizen objected to (law 09-08), comma-separated ids of bot.flows.privacy.OBJECTIONS
    # ("contact", "location", "photos"): the forms no longer ask for them; withdrawn by lifting the objection.
    objections: Mapped[str | None] = mapped_column(String(64))


# Channels whose account id is personal data that Bab reads back to send: the identity is keyed by its keyed hash
# and the id itself is kept encrypted in `Identity.address` (WhatsApp keeps its number in `WhatsAppContact`; the web
# chat's key is already the hash of a random cookie).
HASHED_CHANNELS = frozenset({"telegram"})


def identity_key(channel: str, external_id: str, hash_key: bytes | None = None) -> str:
    """The stored key of the account `external_id` on `channel`: on HASHED_CHANNELS its keyed hash (the channel
    named inside, so that one id on two channels gives two hashes) under the installed keyring, or `hash_key`
    (`bab privacy rotate-hash-key`); elsewhere the id itself."""
    if channel not in HASHED_CHANNELS:
        return external_id
    value = f"{channel}:{external_id}"
    return keyed_hash(value) if hash_key is None else hash_with(hash_key, value)


class Identity(Base):
    """One account of a citizen on one channel (a Telegram user, a WhatsApp number, a web-chat cookie)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identities_channel_external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # What lookups compare: `identity_key` of the channel's id (a Telegram chat id's hash, a WhatsApp user id or
    # number hash, a web cookie's hash).
    external_id: Mapped[str] = mapped_column(String(128))
    # The channel's own id where `external_id` is its hash (the Telegram chat id), encrypted: read back to send.
    address: Mapped[str | None] = mapped_column(EncryptedText())
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Conversation(Base):
    """Where an identity stands in a flow; `version` guards against stale buttons and concurrent writers."""

    __tablename__ = "conversations"

    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())  # the form's answers: name, card number…
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundMessage(Base):
    """What a citizen sent, kept to process a channel's redelivery only once; its text only where the channel
    shows it again (the web transcript), until the retention purge clears it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbound_messages_channel_external_id"),
        # The texts still kept, by age (the retention purge clears them): the rows it already cleared are not in it.
        Index("ix_inbound_messages_kept_text", "created_at", sqlite_where=sql_text("text IS NOT NULL"),
              postgresql_where=sql_text("text IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Collectivity(Base):
    __tablename__ = "collectivities"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name_fr: Mapped[str] = mapped_column(String(128))
    name_ar: Mapped[str] = mapped_column(String(128))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("collectivities.code"), index=True)
    province_type: Mapped[str | None] = mapped_column(String(16))
    commune_type: Mapped[str | None] = mapped_column(String(16))
    population: Mapped[int] = mapped_column(Integer, default=0)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    on_bab: Mapped[bool] = mapped_column(Boolean, default=False)


class CollectivityAlias(Base):
    __tablename__ = "collectivity_aliases"
    __table_args__ = (UniqueConstraint("code", "alias", name="uq_collectivity_aliases_code_alias"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("collectivities.code"), index=True)
    alias: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))


class Request(Base):
    """An access-to-information request or a complaint, observation or suggestion."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    collectivity_code: Mapped[str] = mapped_column(ForeignKey("collectivities.code"), index=True)
    locale: Mapped[str] = mapped_column(String(8))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(EncryptedText())
    service: Mapped[str | None] = mapped_column(String(24))
    delivery: Mapped[str | None] = mapped_column(String(16))
    # Encrypted at rest (bot/storage/crypto.py), like the subject: SQL can only test them for NULL.
    requester_name: Mapped[str | None] = mapped_column(EncryptedText())
    id_number: Mapped[str | None] = mapped_column(EncryptedText())
    contact: Mapped[str | None] = mapped_column(EncryptedText())
    # Where the complaint is (often the citizen's home): encrypted like the details above.
    lat: Mapped[float | None] = mapped_column(EncryptedFloat())
    lon: Mapped[float | None] = mapped_column(EncryptedFloat())
    deadline_rule: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The clerk handling it; None until someone takes it.
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # A complaint to the head of the collectivity points at the request it complains about.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[str | None] = mapped_column(String(16))
    # The hash of the code the receipt gives, which reopens the request on another device (with the reference).
    access_code_hash: Mapped[str | None] = mapped_column(String(64))
    # The deadline sweeps' progress, so that each reads what is due rather than everything stored: the last
    # reminder sent (working days before the due date; set back to None whenever the due date moves, below)
    # and when the coordinators were alerted.
    reminded_step: Mapped[int | None] = mapped_column(Integer)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The retention purge's progress (bot.services.retention): when the request's personal fields and its files
    # were erased, so that the daily sweep reads only the closed requests not purged yet.
    personal_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    files_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # Open requests not marked overdue, by due date (marking; reminders at a later step, which the last
        # column lets SQLite pick from the index alone).
        Index("ix_requests_to_mark", "status", "overdue_at", "due_on", "reminded_step"),
        # Open requests not reminded yet, by due date (reminders).
        Index("ix_requests_to_remind", "status", "overdue_at", "reminded_step", "due_on"),
        # Open requests not escalated, by due date (escalation).
        Index("ix_requests_to_escalate", "status", "escalated_at", "due_on"),
        # Open requests by due date (digests, the inbox's overdue filter).
        Index("ix_requests_open_due", "status", "due_on"),
        # Requests not purged yet, by last change (the retention purge: closed ones past their retention).
        Index("ix_requests_to_purge_personal", "personal_purged_at", "updated_at"),
        Index("ix_requests_to_purge_files", "files_purged_at", "updated_at"),
    )


@event.listens_for(Request.due_on, "set")
def _due_date_moved(target: Request, value: date, old: object, initiator: object) -> None:
    """A due date that moves (an extension, a holiday correction) makes its reminders due again."""
    if old is not value and old != value:
        target.reminded_step = None


class RequestEvent(Base):
    """Append-only history of a request: status changes, messages, deadline changes, with their actor."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON(), default=dict)  # texts: clarifications, answers
    # A decision's legal ground, in the clear beside the encrypted data: an anonymous fact the transparency figures
    # count (without decrypting every event) and that outlives the erasure of the texts.
    ground: Mapped[str | None] = mapped_column(String(32))


class Attachment(Base):
    """A photo or document a citizen sent; `ref` is a file name in the data folder or a channel's file id."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(256))
    mime: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to deliver, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    # Due rows (the dispatcher); delivered or failed rows by age (the retention purge deletes them).
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_done", "status", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())  # receipts hold the name and card number
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    # Set when the message had to wait for the person to write again (WhatsApp's 24-hour window): its status
    # is then "waiting" until they do, and it goes out with a line saying it waited.
    waited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The least advanced receipt the channel reported for the message's parts: sent, delivered, read, failed.
    delivery_status: Mapped[str | None] = mapped_column(String(12))


class WebTranscript(Base):
    """A bot message as the web chat shows it again, copied from the outbox when delivered (same id: the page's
    cursor), so that delivered outbox rows can be deleted; kept `retention_messages_days`."""

    __tablename__ = "web_transcript"
    __table_args__ = (Index("ix_web_transcript_identity", "identity_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # the outbox row's id
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())  # like the outbox row it copies
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # when it was queued, as the page shows it


class ChannelMessage(Base):
    """One message a channel accepted for an outbox row (a WhatsApp wamid), and its delivery receipts."""

    __tablename__ = "channel_messages"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_channel_messages_channel_external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(12))  # accepted < sent < delivered < read; failed is final
    error_code: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """A verified webhook body, stored before it is acknowledged and processed after: a bug can be replayed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_pending", "channel", "processed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The raw bytes the signature was checked over (before storing), encrypted: they hold texts and numbers.
    body: Mapped[bytes] = mapped_column(EncryptedBytes())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())  # a lease while a worker processes it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))


class WhatsAppContact(Base):
    """How to reach a WhatsApp identity: its business-scoped user id and/or phone number, and its window."""

    __tablename__ = "whatsapp_contacts"

    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), primary_key=True)
    bsuid: Mapped[str | None] = mapped_column(String(160), unique=True)
    # The phone number, encrypted (it is read back to send), and its keyed hash, the one that lookups compare.
    wa_id: Mapped[str | None] = mapped_column(EncryptedText())
    wa_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    # When the person last wrote (the message's own timestamp): the 24-hour customer service window.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @validates("wa_id")
    def _hash_wa_id(self, _key: str, value: str | None) -> str | None:
        """Every assignment of the number keeps its lookup hash in step."""
        self.wa_id_hash = keyed_hash(value) if value else None
        return value


class Staff(Base):
    """A clerk, coordinator or admin; linked to one chat identity by a one-time invite code."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), unique=True)
    invite_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffScope(Base):
    """A collectivity a staff member covers; `collectivity_code` None means the whole country."""

    __tablename__ = "staff_scopes"
    __table_args__ = (UniqueConstraint("staff_id", "collectivity_code", name="uq_staff_scopes_staff_id_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    collectivity_code: Mapped[str | None] = mapped_column(ForeignKey("collectivities.code"), index=True)


class AuditEvent(Base):
    """Staff actions refused or worth keeping (forged buttons, out-of-scope references, revoked accounts)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Alert(Base):
    """Ledger of scheduled notices: `dedupe_key` makes each (request, alert kind, recipient, …) send once."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarOverride(Base):
    """A day that coordinators fixed by hand: a holiday confirmed, moved or added, or a day made working."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "holiday" or "working"
    name: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(16))  # "confirmed", "moved", "added"
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyCheck(Base):
    """One row: a known value encrypted and hashed with the keys the data is under, so that a start with other
    keys (a lost or mistyped BAB_DATA_KEYS) stops with a clear error instead of failing on the first row read."""

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(200))  # a Fernet token, written and read by bot.storage.keystore
    hash: Mapped[str] = mapped_column(String(64))  # keyed_hash of the same value: checks BAB_HASH_KEY
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TransparencySnapshot(Base):
    """The last transparency figures counted, shared by every worker: a restarted one serves them at once and
    recounts in the background (bot/services/transparency.py). One row per `name` ("figures")."""

    __tablename__ = "transparency_snapshots"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    figures: Mapped[Any] = mapped_column(JSONType)  # per area: the counts of bot.domain.transparency.Figures
    as_of: Mapped[date] = mapped_column(Date)  # the Moroccan day "overdue" was counted on
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A worker recounting claims the row until then, so that several workers do not all count at once.
    counting_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReopenFailure(Base):
    """A wrong reference-and-code pair on the web chat's "Follow a request", or a lock it caused, counted against
    a key: "ref:<reference>", "visitor:<hash>", "addr:<keyed hash>", or "lock:<reference>" (a lock's start).
    Shared by the workers and kept a day at most (bot/services/web_chat.py)."""

    __tablename__ = "reopen_failures"
    __table_args__ = (Index("ix_reopen_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
