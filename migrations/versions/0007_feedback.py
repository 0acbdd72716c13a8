"""feedback, follow-ups of concerns

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('rater_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.String(length=200), nullable=True),
        sa.Column('service', sa.String(length=200), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('complaint', sa.Boolean(), nullable=False),
        sa.Column('signed', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('rated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_feedback_team_id', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['rater_id'], ['users.id'], name='fk_feedback_rater_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_feedback'),
        sa.UniqueConstraint('team_id', 'rater_id', 'request_id', name='uq_feedback_team_id_rater_id_request_id'),
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_team_id_rated_at', ['team_id', 'rated_at'], unique=False)
        batch_op.create_index('ix_feedback_rater_id', ['rater_id'], unique=False)

    op.create_table(
        'feedback_follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('feedback_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('replied_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('reply', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name='fk_feedback_follow_ups_feedback_id',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_feedback_follow_ups_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_feedback_follow_ups'),
        sa.UniqueConstraint('feedback_id', name='uq_feedback_follow_ups_feedback_id'),
    )
    with op.batch_alter_table('feedback_follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_follow_ups_team_id', ['team_id'], unique=False)

    op.create_table(
        'feedback_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('said', sa.Text(), nullable=False),
        sa.Column('did', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_feedback_answers_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_feedback_answers'),
    )
    with op.batch_alter_table('feedback_answers', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_answers_team_id', ['team_id'], unique=False)
        batch_op.create_index('ix_feedback_answers_created_at', ['created_at'], unique=False)

    op.create_table(
        'feedback_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_feedback_audit_team_id', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_feedback_audit'),
    )
    with op.batch_alter_table('feedback_audit', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_feedback_audit_actor_user_id', ['actor_user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('feedback_audit')
    op.drop_table('feedback_answers')
    op.drop_table('feedback_follow_ups')
    op.drop_table('feedback')
