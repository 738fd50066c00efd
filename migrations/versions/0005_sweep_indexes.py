"""sweeps read what is due: reminder and escalation progress on requests, and the indexes the sweeps search by

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.tables import UTCDateTime

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_requests_to_mark', ['status', 'overdue_at', 'due_on', 'reminded_step'],
                              unique=False)
        batch_op.create_index('ix_requests_to_remind', ['status', 'overdue_at', 'reminded_step', 'due_on'],
                              unique=False)
        batch_op.create_index('ix_requests_to_escalate', ['status', 'escalated_at', 'due_on'], unique=False)
        batch_op.create_index('ix_requests_open_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_requests_answered_at'), ['answered_at'], unique=False)
    # Requests escalated before this revision: the ledger says when.
    op.execute("UPDATE requests SET escalated_at = (SELECT min(alerts.created_at) FROM alerts "
               "WHERE alerts.request_id = requests.id AND alerts.kind = 'escalation') "
               "WHERE EXISTS (SELECT 1 FROM alerts WHERE alerts.request_id = requests.id "
               "AND alerts.kind = 'escalation')")


def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requests_answered_at'))
        batch_op.drop_index('ix_requests_open_due')
        batch_op.drop_index('ix_requests_to_escalate')
        batch_op.drop_index('ix_requests_to_remind')
        batch_op.drop_index('ix_requests_to_mark')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('reminded_step')
