"""search index changes not yet applied: no table needed (a documented no-op)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:30:00

Each host keeps its own index, so what a host has not yet applied belongs with that index, not
in the shared database: the index's state file records which change each recently written team
is indexed as of, and catch-up compares it with the revisions (see `directory.search_sync`).
This revision keeps the migration chain whole.
"""

from __future__ import annotations

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change in the schema."""


def downgrade() -> None:
    """Nothing to undo."""
