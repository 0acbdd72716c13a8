"""sign-in security: session generations and failed sign-in attempts; address claims and notes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))

    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account', sa.String(length=320), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_sign_in_failures'),
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_account', ['account'], unique=False)
        batch_op.create_index('ix_sign_in_failures_client', ['client'], unique=False)
        batch_op.create_index('ix_sign_in_failures_at', ['at'], unique=False)

    op.create_table(
        'address_claims',
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_by', sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_address_claims_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('address', name='pk_address_claims'),
    )
    with op.batch_alter_table('address_claims', schema=None) as batch_op:
        batch_op.create_index('ix_address_claims_team_id', ['team_id'], unique=False)

    op.create_table(
        'address_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_address_notes_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_address_notes'),
    )
    with op.batch_alter_table('address_notes', schema=None) as batch_op:
        batch_op.create_index('ix_address_notes_team_id', ['team_id'], unique=False)

    # Today's answer becomes the recorded one: each listed address is held by the team that listed
    # it first (the lowest row), as the auto-reply chose until now.
    op.execute(
        "INSERT INTO address_claims (address, team_id, claimed_at, claimed_by) "
        "SELECT c.address, c.team_id, CURRENT_TIMESTAMP, 'migration 0004' FROM contact_addresses c "
        "WHERE c.id = (SELECT MIN(c2.id) FROM contact_addresses c2 WHERE c2.address = c.address)"
    )


def downgrade() -> None:
    with op.batch_alter_table('address_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_address_notes_team_id')
    op.drop_table('address_notes')
    with op.batch_alter_table('address_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_address_claims_team_id')
    op.drop_table('address_claims')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_at')
        batch_op.drop_index('ix_sign_in_failures_client')
        batch_op.drop_index('ix_sign_in_failures_account')
    op.drop_table('sign_in_failures')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
