"""Initial schema: citizens, identities, conversations, directory, requests, events, attachments, outbox.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 23:50:11.058742
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from bot.storage.tables import UTCDateTime

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('citizens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizens'))
    )
    op.create_table('collectivities',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name_fr', sa.String(length=128), nullable=False),
    sa.Column('name_ar', sa.String(length=128), nullable=False),
    sa.Column('parent_code', sa.String(length=16), nullable=True),
    sa.Column('province_type', sa.String(length=16), nullable=True),
    sa.Column('commune_type', sa.String(length=16), nullable=True),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('on_bab', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['collectivities.code'], name=op.f('fk_collectivities_parent_code_collectivities')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_collectivities'))
    )
    with op.batch_alter_table('collectivities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collectivities_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_collectivities_parent_code'), ['parent_code'], unique=False)

    op.create_table('collectivity_aliases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('alias', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['collectivities.code'], name=op.f('fk_collectivity_aliases_code_collectivities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collectivity_aliases')),
    sa.UniqueConstraint('code', 'alias', name='uq_collectivity_aliases_code_alias')
    )
    with op.batch_alter_table('collectivity_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collectivity_aliases_code'), ['code'], unique=False)

    op.create_table('identities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('unreachable', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_identities_citizen_id_citizens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identities')),
    sa.UniqueConstraint('channel', 'external_id', name='uq_identities_channel_external_id')
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_citizen_id'), ['citizen_id'], unique=False)

    op.create_table('conversations',
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_conversations_identity_id_identities')),
    sa.PrimaryKeyConstraint('identity_id', name=op.f('pk_conversations'))
    )
    op.create_table('inbound_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_inbound_messages_identity_id_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('channel', 'external_id', name='uq_inbound_messages_channel_external_id')
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_messages_identity_id'), ['identity_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_outbox_identity_id_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_identity_id'), ['identity_id'], unique=False)

    op.create_table('requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('collectivity_code', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('service', sa.String(length=24), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=True),
    sa.Column('id_number', sa.String(length=32), nullable=True),
    sa.Column('contact', sa.String(length=320), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('deadline_rule', sa.String(length=32), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_requests_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['collectivity_code'], ['collectivities.code'], name=op.f('fk_requests_collectivity_code_collectivities')),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_requests_identity_id_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_requests_reference'))
    )
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requests_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_collectivity_code'), ['collectivity_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_status'), ['status'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=256), nullable=False),
    sa.Column('mime', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_attachments_identity_id_identities')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_attachments_request_id_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_request_id'), ['request_id'], unique=False)

    op.create_table('request_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_request_events_request_id_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_events'))
    )
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_events_request_id'), ['request_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_events_request_id'))

    op.drop_table('request_events')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_request_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_identity_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requests_status'))
        batch_op.drop_index(batch_op.f('ix_requests_kind'))
        batch_op.drop_index(batch_op.f('ix_requests_due_on'))
        batch_op.drop_index(batch_op.f('ix_requests_collectivity_code'))
        batch_op.drop_index(batch_op.f('ix_requests_citizen_id'))

    op.drop_table('requests')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_identity_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_identity_id'))

    op.drop_table('inbound_messages')
    op.drop_table('conversations')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_citizen_id'))

    op.drop_table('identities')
    with op.batch_alter_table('collectivity_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collectivity_aliases_code'))

    op.drop_table('collectivity_aliases')
    with op.batch_alter_table('collectivities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collectivities_parent_code'))
        batch_op.drop_index(batch_op.f('ix_collectivities_level'))

    op.drop_table('collectivities')
    op.drop_table('citizens')
    
