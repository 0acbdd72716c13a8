"""review nudges and link checks: the review policy, sent notifications, link check results

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'review_settings',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.String(length=320), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name='pk_review_settings'),
    )
    op.create_table(
        'sent_notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('cycle', sa.String(length=40), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_sent_notifications_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_sent_notifications'),
        sa.UniqueConstraint('team_id', 'kind', 'cycle', 'recipient',
                            name='uq_sent_notifications_team_id_kind_cycle_recipient'),
    )
    with op.batch_alter_table('sent_notifications', schema=None) as batch_op:
        batch_op.create_index('ix_sent_notifications_team_id', ['team_id'], unique=False)
    op.create_table(
        'link_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('place', sa.String(length=300), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('checked_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_link_checks_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_link_checks'),
        sa.UniqueConstraint('team_id', 'url', name='uq_link_checks_team_id_url'),
    )
    with op.batch_alter_table('link_checks', schema=None) as batch_op:
        batch_op.create_index('ix_link_checks_team_id', ['team_id'], unique=False)


def downgrade() -> None:
    op.drop_table('link_checks')
    op.drop_table('sent_notifications')
    op.drop_table('review_settings')
