"""old slugs that redirect to a team's current slug

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'slug_aliases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_slug_aliases_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_slug_aliases'),
        sa.UniqueConstraint('slug', name='uq_slug_aliases_slug'),
    )
    with op.batch_alter_table('slug_aliases', schema=None) as batch_op:
        batch_op.create_index('ix_slug_aliases_team_id', ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slug_aliases', schema=None) as batch_op:
        batch_op.drop_index('ix_slug_aliases_team_id')
    op.drop_table('slug_aliases')
