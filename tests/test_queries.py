"""directory.queries, the reads shared by the API, the web pages and the domain modules, on both backends."""

from __future__ import annotations

from typing import Any

from directory import queries, services
from directory.models import Team
from directory.schemas import load_team
from tests.conftest import ADMIN, team_doc


def add(db: Any, slug: str, name: str, department: str | None) -> Team:
    doc = team_doc(slug=slug, name=name, department=department,
                   contacts=[{"kind": "email", "value": f"{slug}@example.com"}])
    team = services.create_team(db, load_team(doc), ADMIN)
    db.commit()
    return team


def test_revision_by_number_and_newest_first(db: Any) -> None:
    team = add(db, "payroll", "Payroll", "Finance")
    services.update_team(db, team, load_team({**team.data, "summary": "Pay, payslips and tax."}), ADMIN)
    db.commit()
    assert queries.revision(db, team.id, 1).data["summary"] == team_doc()["summary"]
    assert queries.revision(db, team.id, 2).data["summary"] == "Pay, payslips and tax."
    assert queries.revision(db, team.id, 3) is None
    assert queries.revision_data(db, team.id, 2)["summary"] == "Pay, payslips and tax."
    assert queries.revision_data(db, team.id, 9) is None
    assert [r.number for r in queries.revisions(db, team.id)] == [2, 1]
    other = add(db, "it", "IT Service Desk", "Technology")
    assert queries.revision(db, other.id, 2) is None
    assert [r.number for r in queries.revisions(db, other.id)] == [1]


def test_active_teams_count_and_departments_leave_archived_teams_out(db: Any) -> None:
    add(db, "payroll", "Payroll", "Finance")
    add(db, "accounts", "Accounts Payable", "Finance")
    add(db, "it", "IT Service Desk", "Technology")
    gone = add(db, "print", "Print Room", "Facilities")
    add(db, "post", "Post Room", None)
    services.archive_team(db, gone, ADMIN)
    db.commit()
    assert [t.slug for t in queries.active_teams(db)] == ["accounts", "it", "payroll", "post"]
    assert queries.count_teams(db) == 4
    assert queries.departments(db) == [
        {"name": "Finance", "slug": "finance", "team_count": 2},
        {"name": "Technology", "slug": "technology", "team_count": 1},
    ]
    assert queries.department(db, "finance") == {"name": "Finance", "slug": "finance", "team_count": 2}
    assert queries.department(db, "facilities") is None
    assert [t.slug for t in queries.department_teams(db, ["Finance"])] == ["accounts", "payroll"]
    assert list(queries.department_teams(db, ["Facilities"])) == []


def test_team_head_reads_id_version_and_archival_without_the_document(db: Any) -> None:
    team = add(db, "payroll", "Payroll", "Finance")
    head = queries.team_head(db.connection(), "payroll")
    assert (head.id, head.version, head.archived_at) == (team.id, 1, None)
    services.archive_team(db, team, ADMIN)
    db.commit()
    head = queries.team_head(db.connection(), "payroll")
    assert head.version == 2 and head.archived_at is not None
    assert queries.team_head(db.connection(), "nobody") is None
