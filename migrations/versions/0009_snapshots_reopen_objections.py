"""the transparency figures kept in the database, wrong reopen codes counted there, citizens' objections

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from bot.storage.tables import BigId, UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'transparency_snapshots',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('counted_at', UTCDateTime(), nullable=False),
        sa.Column('counting_until', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_transparency_snapshots')),
    )
    op.create_table(
        'reopen_failures',
        sa.Column('id', BigId, nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reopen_failures')),
    )
    op.create_index('ix_reopen_failures_key_at', 'reopen_failures', ['key', 'at'], unique=False)
    op.create_index(op.f('ix_reopen_failures_at'), 'reopen_failures', ['at'], unique=False)
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('objections', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_column('objections')
    op.drop_index(op.f('ix_reopen_failures_at'), table_name='reopen_failures')
    op.drop_index('ix_reopen_failures_key_at', table_name='reopen_failures')
    op.drop_table('reopen_failures')
    op.drop_table('transparency_snapshots')
