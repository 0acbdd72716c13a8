"""repair text that no backend can store or render (lone surrogates, NUL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:30:00

Before the schemas refused them, a lone surrogate ("\\ud800") could be saved inside a team's JSON
document and NUL anywhere on SQLite (and inside JSON on PostgreSQL). Such a team broke its page,
its API read, its history and the export for good. Each lone surrogate becomes U+FFFD (the
replacement character) and each NUL is removed, in teams, their tag and address rows, and every
revision (in place: restoring one must not bring the damage back). Each repaired team is also
saved as a new version with a "repair" revision, so that ETags and cached documents change and
every server's search index picks the team up again from the change sequence. Self-contained on
purpose: it must do the same thing whatever the application code becomes later.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# In stored JSON text: a NUL or surrogate escape, or a raw NUL. Pairs (emoji) match too, and come
# out unchanged, since they decode to one valid character.
SUSPECT_JSON = re.compile(r"\\u(?:0000|d[89a-f][0-9a-f]{2})|\x00", re.IGNORECASE)

TEAM_COLUMNS = ("slug", "name", "department", "location", "timezone")
REVISION_COLUMNS = ("action", "author", "note")


def repaired(value: Any) -> Any:
    """The value with lone surrogates replaced by U+FFFD and NUL removed, in every string and key."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, list):
        return [repaired(item) for item in value]
    if isinstance(value, dict):
        return {repaired(key): repaired(item) for key, item in value.items()}
    return value


def _repair_table(connection: sa.Connection, name: str, text_columns: tuple[str, ...]) -> list[int]:
    """Rewrite the rows of `name` whose JSON `data` or text columns hold unstorable text; their ids."""
    table = sa.table(name, sa.column("id"), sa.column("data", sa.JSON),
                     *(sa.column(column, sa.Text) for column in text_columns))
    query = sa.select(table.c.id, sa.cast(table.c.data, sa.Text).label("data"),
                      *(table.c[column] for column in text_columns))
    repaired_ids = []
    for row in connection.execute(query).mappings().all():
        changes: dict[str, Any] = {}
        if row["data"] is not None and SUSPECT_JSON.search(row["data"]):
            data = json.loads(row["data"])
            fixed = repaired(data)
            if json.dumps(fixed) != json.dumps(data):
                changes["data"] = fixed
        for column in text_columns:
            if row[column] is not None and repaired(row[column]) != row[column]:
                changes[column] = repaired(row[column])
        if changes:
            connection.execute(table.update().where(table.c.id == row["id"]).values(**changes))
            repaired_ids.append(row["id"])
    return repaired_ids


def _record_repairs(connection: sa.Connection, team_ids: list[int]) -> None:
    """A new version of each repaired team, as the directory records every save."""
    teams = sa.table("teams", sa.column("id"), sa.column("version"), sa.column("updated_at"),
                     sa.column("data", sa.JSON))
    revisions = sa.table("revisions", sa.column("team_id"), sa.column("number"), sa.column("action"),
                         sa.column("author"), sa.column("note"), sa.column("created_at"),
                         sa.column("data", sa.JSON))
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like every timestamp
    for team_id in team_ids:
        version, data = connection.execute(
            sa.select(teams.c.version, teams.c.data).where(teams.c.id == team_id)).one()
        connection.execute(teams.update().where(teams.c.id == team_id).values(version=version + 1, updated_at=now))
        connection.execute(revisions.insert().values(
            team_id=team_id, number=version + 1, action="repair", author="system", created_at=now, data=data,
            note="text no database can store was repaired: lone surrogates became U+FFFD, NUL was removed"))


def _repair_keyed_rows(connection: sa.Connection, name: str, column: str) -> None:
    """Repair one text column of a per-team table keyed by (team, text): a repaired value the team
    already has is a duplicate, and the damaged row goes."""
    table = sa.table(name, sa.column("team_id"), sa.column(column, sa.Text))
    rows = connection.execute(sa.select(table.c.team_id, table.c[column])).all()
    present = {(team_id, value) for team_id, value in rows}
    for team_id, value in rows:
        if value is None or repaired(value) == value:
            continue
        fixed = repaired(value)
        match = sa.and_(table.c.team_id == team_id, table.c[column] == value)
        if (team_id, fixed) in present:
            connection.execute(table.delete().where(match))
        else:
            connection.execute(table.update().where(match).values({column: fixed}))
            present.add((team_id, fixed))


def upgrade() -> None:
    connection = op.get_bind()
    repaired_teams = _repair_table(connection, "teams", TEAM_COLUMNS)
    _repair_table(connection, "revisions", REVISION_COLUMNS)
    _record_repairs(connection, repaired_teams)
    _repair_keyed_rows(connection, "team_tags", "tag")
    _repair_keyed_rows(connection, "contact_addresses", "address")


def downgrade() -> None:
    """Nothing to undo: the damaged text cannot be stored back, and the repair loses nothing readable."""
