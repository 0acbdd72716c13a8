"""mail responder: sender memory, outgoing queue, counters

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:00:00

The once-per-period memory, the queue of replies and the counters live in the shared database,
so that several `directory mail-responder` processes and their restarts behave as one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'mail_team_settings',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('period_days', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id'),
    )
    op.create_table(
        'mail_sender_memory',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=320), nullable=False),
        sa.Column('replied_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', 'sender'),
    )
    op.create_index('ix_mail_sender_memory_replied_at', 'mail_sender_memory', ['replied_at'])
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('team_address', sa.String(length=320), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=False),
        sa.Column('in_reply_to', sa.Text(), nullable=True),
        sa.Column('message', sa.LargeBinary(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('leased_until', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_mail_outbox_due', 'mail_outbox', ['status', 'next_attempt_at'])
    op.create_index('ix_mail_outbox_team', 'mail_outbox', ['team_id', 'id'])
    op.create_table(
        'mail_counters',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('mail_counters')
    op.drop_index('ix_mail_outbox_team', table_name='mail_outbox')
    op.drop_index('ix_mail_outbox_due', table_name='mail_outbox')
    op.drop_table('mail_outbox')
    op.drop_index('ix_mail_sender_memory_replied_at', table_name='mail_sender_memory')
    op.drop_table('mail_sender_memory')
    op.drop_table('mail_team_settings')
