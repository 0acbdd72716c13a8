"""search learning: search events and choices (kept for a retention window), per-day choosers,
and the search terms owners adopt for their teams

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'search_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('query', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('results', sa.Integer(), nullable=False),
        sa.Column('page', sa.Integer(), nullable=False),
        sa.Column('searcher', sa.String(length=64), nullable=False),
        sa.Column('rephrased_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['rephrased_by_id'], ['search_events.id'], name='fk_search_events_rephrased_by_id',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_search_events'),
    )
    op.create_index('ix_search_events_at', 'search_events', ['at'])
    op.create_index('ix_search_events_searcher_at', 'search_events', ['searcher', 'at'])
    op.create_index('ix_search_events_query_at', 'search_events', ['query', 'at'])
    op.create_index('ix_search_events_rephrased_by_id', 'search_events', ['rephrased_by_id'])

    op.create_table(
        'search_choices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['search_events.id'], name='fk_search_choices_event_id',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_search_choices_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_search_choices'),
    )
    op.create_index('ix_search_choices_event_id', 'search_choices', ['event_id'])
    op.create_index('ix_search_choices_team_id', 'search_choices', ['team_id'])

    op.create_table(
        'search_choice_days',
        sa.Column('query', sa.String(length=200), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('choosers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_search_choice_days_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('query', 'team_id', 'day', name='pk_search_choice_days'),
    )
    op.create_index('ix_search_choice_days_team_id', 'search_choice_days', ['team_id'])

    op.create_table(
        'team_search_terms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('term', sa.String(length=100), nullable=False),
        sa.Column('adopted_by', sa.String(length=320), nullable=False),
        sa.Column('adopted_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_team_search_terms_team_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_team_search_terms'),
        sa.UniqueConstraint('team_id', 'term', name='uq_team_search_terms_team_id_term'),
    )
    op.create_index('ix_team_search_terms_team_id', 'team_search_terms', ['team_id'])


def downgrade() -> None:
    op.drop_table('team_search_terms')
    op.drop_table('search_choice_days')
    op.drop_table('search_choices')
    op.drop_table('search_events')
