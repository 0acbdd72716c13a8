"""The API's own schemas: query arguments and the PATCH body.

The team document itself (`TeamSchema`, `load_team`) lives in `directory.schemas`, the one
validation that the API, the pages and the import share; the API documents and dumps with it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from directory.schemas import StorableString, TeamSchema


class TeamPatchSchema(TeamSchema):
    """PATCH's body: any writable fields of a team, documented as TeamSchema's.

    Not checked here: the view merges the body over the stored team and validates that whole
    document once with `load_team`, so a PATCH loads the schema (and trial-renders an auto-reply
    template) once, not twice (issue 11).
    """

    def load(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            raise ValidationError({"_schema": ["must be an object"]})
        return data


class TeamQueryArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    department = StorableString(metadata={"description": "only teams of this department (exact name)"})
    tag = StorableString(metadata={"description": "only teams with this tag"})
    open_now = fields.Boolean(metadata={"description": "only teams open at this instant"})
    q = StorableString(metadata={"description": "a plain substring filter on the team name"})
    include_archived = fields.Boolean(load_default=False,
                                      metadata={"description": "admins only: list archived teams too"})
