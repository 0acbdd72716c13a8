"""survey rounds and kudos

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'survey_rounds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('opened_by', sa.String(length=320), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by', sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_survey_rounds'),
    )
    op.create_index('ix_survey_rounds_opened_at', 'survey_rounds', ['opened_at'])

    op.create_table(
        'survey_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('respondent', sa.String(length=320), nullable=False),
        sa.Column('responsiveness', sa.Integer(), nullable=False),
        sa.Column('clarity', sa.Integer(), nullable=False),
        sa.Column('helpfulness', sa.Integer(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name='fk_survey_responses_round_id',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_survey_responses_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_survey_responses'),
        sa.UniqueConstraint('round_id', 'team_id', 'respondent', name='uq_survey_responses_round_team_respondent'),
    )
    op.create_index('ix_survey_responses_round_id', 'survey_responses', ['round_id'])
    op.create_index('ix_survey_responses_team_id', 'survey_responses', ['team_id'])

    op.create_table(
        'kudos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('author', sa.String(length=320), nullable=False),
        sa.Column('people', sa.JSON(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_kudos_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_kudos'),
    )
    op.create_index('ix_kudos_team_id', 'kudos', ['team_id'])
    op.create_index('ix_kudos_author', 'kudos', ['author'])
    op.create_index('ix_kudos_created_at', 'kudos', ['created_at'])

    op.create_table(
        'recognition_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_recognition_audit'),
    )
    op.create_index('ix_recognition_audit_at', 'recognition_audit', ['at'])


def downgrade() -> None:
    op.drop_table('recognition_audit')
    op.drop_table('kudos')
    op.drop_table('survey_responses')
    op.drop_table('survey_rounds')
