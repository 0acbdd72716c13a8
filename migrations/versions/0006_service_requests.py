"""service requests: promises measured against what happened

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:00:00

Each request keeps the promises computed when it was recorded (from the team's revision in force
at `received_at`), each promise's verdict and the instant it became known, so measuring is one
grouped query answered from one covering index alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('external_id', sa.String(length=200), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('first_reply_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('service', sa.String(length=200), nullable=True),
        sa.Column('reply_by', sa.DateTime(), nullable=True),
        sa.Column('done_by', sa.DateTime(), nullable=True),
        sa.Column('reply_kept', sa.Boolean(), nullable=True),
        sa.Column('reply_settled_us', sa.BigInteger(), nullable=True),
        sa.Column('done_kept', sa.Boolean(), nullable=True),
        sa.Column('done_settled_us', sa.BigInteger(), nullable=True),
        sa.Column('received_us', sa.BigInteger(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('revision_number', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_service_requests_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_service_requests'),
        sa.UniqueConstraint('team_id', 'external_id', name='uq_service_requests_team_id_external_id'),
    )
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index('ix_service_requests_team_id_received_at', ['team_id', 'received_at'], unique=False)
        # Covering, in grouping order: the grouped query of `directory.performance` reads it alone, unsorted.
        batch_op.create_index('ix_service_requests_tally',
                              ['team_id', 'week', 'service', 'received_us', 'reply_settled_us', 'reply_kept',
                               'done_settled_us', 'done_kept'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_service_requests_tally')
        batch_op.drop_index('ix_service_requests_team_id_received_at')
    op.drop_table('service_requests')
