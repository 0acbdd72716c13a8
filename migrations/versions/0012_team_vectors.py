"""team vectors: sentence embeddings for semantic search, cached by content hash

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'team_vectors',
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('model', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('content_hash', name='pk_team_vectors'),
    )


def downgrade() -> None:
    op.drop_table('team_vectors')
