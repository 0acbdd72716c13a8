"""Departments: the organisation's top level, with their team counts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields

from api.common import Blueprint, require_read, site_url
from directory import queries, services
from directory.db import get_session
from directory.schemas import TeamSchema

blp = Blueprint("departments", __name__, description="Departments and their teams.")


@blp.before_request
def _guard() -> None:
    require_read()


class DepartmentSchema(Schema):
    name = fields.String(metadata={"example": "Finance"})
    slug = fields.String(metadata={"example": "finance"})
    team_count = fields.Integer(metadata={"example": 5})
    teams_url = fields.String(metadata={"example": "/api/v1/departments/finance/teams"})


def departments(session: Any) -> list[dict[str, Any]]:
    return [dict(d, teams_url=f"{site_url()}/api/v1/departments/{d['slug']}/teams")
            for d in queries.departments(session)]


@blp.route("/departments")
class Departments(MethodView):
    @blp.response(200, DepartmentSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every department that has teams, with how many."""
        return departments(get_session())


@blp.route("/departments/<slug>/teams")
class DepartmentTeams(MethodView):
    @blp.response(200, TeamSchema(many=True))
    @blp.alt_response(404, schema="Error")
    def get(self, slug: str) -> list[dict[str, Any]]:
        """The teams of one department (by its slug), by name."""
        session = get_session()
        names = [d["name"] for d in departments(session) if d["slug"] == slug]
        if not names:
            abort(404, message=f"No department with the slug '{slug}'.")
        return [services.team_document(t, site_url()) for t in queries.department_teams(session, names)]
