"""retention and minimisation: the web transcript apart from the outbox, purge progress (owned by the retention work)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.tables import BigId, UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'web_transcript',
        sa.Column('id', BigId, autoincrement=False, nullable=False),
        sa.Column('identity_id', BigId, nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),  # EncryptedJSON, like outbox.payload
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['identity_id'], ['identities.id'],
                                name=op.f('fk_web_transcript_identity_id_identities')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_transcript')),
    )
    op.create_index('ix_web_transcript_identity', 'web_transcript', ['identity_id', 'id'], unique=False)
    op.create_index(op.f('ix_web_transcript_at'), 'web_transcript', ['at'], unique=False)
    # What the web chat showed until now was the delivered outbox rows: they become its transcript (the payloads
    # are Fernet tokens in both columns since 0006, so they are copied as they are).
    op.execute("INSERT INTO web_transcript (id, identity_id, payload, at) SELECT id, identity_id, payload, "
               "created_at FROM outbox WHERE channel = 'web' AND status = 'sent'")
    op.create_index('ix_outbox_done', 'outbox', ['status', 'created_at'], unique=False)
    op.create_index('ix_inbound_messages_kept_text', 'inbound_messages', ['created_at'], unique=False,
                    sqlite_where=sa.text('text IS NOT NULL'), postgresql_where=sa.text('text IS NOT NULL'))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_purged_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('files_purged_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_requests_to_purge_personal', ['personal_purged_at', 'updated_at'], unique=False)
        batch_op.create_index('ix_requests_to_purge_files', ['files_purged_at', 'updated_at'], unique=False)
    # Minimisation of what is already stored: only the web shows typed texts again, and only the access form
    # asks for a card number.
    op.execute("UPDATE inbound_messages SET text = NULL WHERE channel <> 'web' AND text IS NOT NULL")
    op.execute("UPDATE requests SET id_number = NULL WHERE kind <> 'access' AND id_number IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_to_purge_files')
        batch_op.drop_index('ix_requests_to_purge_personal')
        batch_op.drop_column('files_purged_at')
        batch_op.drop_column('personal_purged_at')
    op.drop_index('ix_inbound_messages_kept_text', table_name='inbound_messages')
    op.drop_index('ix_outbox_done', table_name='outbox')
    op.drop_index(op.f('ix_web_transcript_at'), table_name='web_transcript')
    op.drop_index('ix_web_transcript_identity', table_name='web_transcript')
    op.drop_table('web_transcript')
