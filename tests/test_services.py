"""The service layer on both backends: revisions, versions, uniqueness, authorisation, import."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from directory import services
from directory.errors import Conflict, Forbidden, StaleVersion
from directory.models import ContactAddress, Revision, Team
from directory.schemas import load_team, load_teams
from tests.conftest import ADMIN, team_doc

OWNER = services.Actor(name="alice@example.com", email="alice@example.com")
STRANGER = services.Actor(name="bob@example.com", email="bob@example.com")


def revisions(session: Any, team: Team) -> list[Revision]:
    return list(session.scalars(select(Revision).where(Revision.team_id == team.id).order_by(Revision.number)))


def test_create_records_first_revision_and_derives_slug(db: Any) -> None:
    doc = team_doc()
    del doc["slug"]
    team = services.create_team(db, load_team(doc), ADMIN)
    db.commit()
    assert team.slug == "payroll"
    assert team.version == 1
    [rev] = revisions(db, team)
    assert (rev.number, rev.action, rev.author) == (1, "create", "admin@example.com")
    assert rev.data == team.data
    second = services.create_team(db, load_team({"name": "Payroll", "contacts": []}), ADMIN)
    assert second.slug == "payroll-2"


def test_every_save_is_a_revision_and_unchanged_saves_add_none(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    data = copy.deepcopy(team.data)
    data["summary"] = "Pay, payslips and P60s."
    assert services.update_team(db, team, data, OWNER, expected_version=1) is True
    db.commit()
    assert team.version == 2
    assert services.update_team(db, team, copy.deepcopy(data), OWNER) is False
    db.commit()
    assert [r.number for r in revisions(db, team)] == [1, 2]
    assert revisions(db, team)[1].data["summary"] == "Pay, payslips and P60s."


def test_stale_version_is_refused_and_changes_nothing(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    data = dict(team.data, summary="first editor")
    services.update_team(db, team, data, OWNER, expected_version=1)
    db.commit()
    with pytest.raises(StaleVersion):
        services.update_team(db, team, dict(team.data, summary="second editor"), OWNER, expected_version=1)
    db.rollback()
    assert db.get(Team, team.id).data["summary"] == "first editor"


def test_only_owners_and_admins_may_edit(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    with pytest.raises(Forbidden):
        services.update_team(db, team, dict(team.data, summary="x"), STRANGER)
    with pytest.raises(Forbidden):
        services.create_team(db, load_team(team_doc(slug="other", contacts=[])), OWNER)
    with pytest.raises(Forbidden):
        services.archive_team(db, team, OWNER)
    read_only = services.Actor(name="t", is_admin=True, can_write=False)
    with pytest.raises(Forbidden):
        services.update_team(db, team, dict(team.data, summary="x"), read_only)


def test_slugs_are_unique_and_addresses_may_be_shared(db: Any) -> None:
    payroll = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    with pytest.raises(Conflict) as caught:
        services.create_team(db, load_team(team_doc(contacts=[])), ADMIN)
    assert "slug" in caught.value.errors
    db.rollback()
    sub = services.create_team(db, load_team(team_doc(slug="payroll-queries", name="Payroll queries", contacts=[
        {"kind": "email", "value": "Payroll+queries@Example.com"}])), ADMIN)
    db.commit()
    # The auto-reply answers for the team that listed the shared mailbox first.
    assert services.address_owner(db, "payroll@example.com").slug == "payroll"
    assert services.shared_addresses(db, sub) == {"payroll@example.com": ["Payroll"]}
    services.archive_team(db, payroll, ADMIN)
    db.commit()
    assert services.address_owner(db, "payroll@example.com").slug == "payroll-queries"


def test_archive_frees_addresses_and_restore_brings_back(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    services.archive_team(db, team, ADMIN)
    db.commit()
    assert team.archived
    assert db.scalar(select(func.count()).select_from(ContactAddress)) == 0
    assert services.address_owner(db, "payroll@example.com") is None
    services.restore_revision(db, team, 1, ADMIN)
    db.commit()
    assert not team.archived
    assert [a.address for a in team.addresses] == ["payroll@example.com"]
    assert [r.action for r in revisions(db, team)] == ["create", "archive", "restore"]


def test_restore_makes_an_old_version_current_as_a_new_revision(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    services.update_team(db, team, dict(team.data, summary="changed"), OWNER)
    db.commit()
    services.restore_revision(db, team, 1, OWNER)
    db.commit()
    assert team.data["summary"] == team_doc()["summary"]
    assert team.version == 3
    assert revisions(db, team)[-1].note == "restored revision 1"


def test_mark_reviewed(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    assert services.mark_reviewed(db, team, OWNER, date(2026, 11, 23)) is True
    db.commit()
    assert team.data["last_reviewed"] == "2026-11-23"
    assert services.mark_reviewed(db, team, OWNER, date(2026, 11, 23)) is False


def test_import_is_all_or_nothing(db: Any) -> None:
    good = team_doc()
    records, problems = load_teams([good])
    services.import_teams(db, records, ADMIN)
    db.commit()
    before = db.scalar(select(func.count()).select_from(Revision))
    changed = dict(good, summary="changed by import")
    records, problems = load_teams([changed, team_doc(name="Again", contacts=[]), {"name": "x", "timezone": "Nowhere"}])
    assert problems == [
        "record 1 (payroll): slug: duplicates record 0",
        "record 2 (x): timezone: unknown time zone 'Nowhere'",
    ]
    assert db.scalar(select(Team.data).where(Team.slug == "payroll"))["summary"] == good["summary"]
    assert db.scalar(select(func.count()).select_from(Revision)) == before


def test_import_updates_by_slug_and_repeats_are_no_ops(db: Any) -> None:
    records, _ = load_teams([team_doc(), team_doc(slug="legal", name="Legal", contacts=[])])
    report = services.import_teams(db, records, ADMIN)
    db.commit()
    assert sorted(report.created) == ["legal", "payroll"]
    again = services.import_teams(db, load_teams([team_doc(), team_doc(slug="legal", name="Legal", contacts=[])])[0],
                                  ADMIN)
    db.commit()
    assert sorted(again.unchanged) == ["legal", "payroll"]
    assert db.scalar(select(func.count()).select_from(Revision)) == 2
    update = services.import_teams(db, load_teams([team_doc(summary="new words")])[0], ADMIN)
    db.commit()
    assert update.updated == ["payroll"]


def test_import_accepts_mailboxes_shared_between_records(db: Any) -> None:
    records, problems = load_teams([
        team_doc(),
        team_doc(slug="legal", name="Legal", contacts=[{"kind": "email", "value": "payroll@example.com"}]),
    ])
    assert problems == []
    services.import_teams(db, records, ADMIN)
    db.commit()
    owner = services.address_owner(db, "payroll@example.com")
    assert owner is not None and owner.slug == "payroll"


def test_a_concurrent_save_is_refused_as_stale_version(db: Any) -> None:
    """Two editors read version 1; the second save reaches the database after the first committed.
    No version was given to compare, so only the database's version check sees it: the service
    still answers StaleVersion (never SQLAlchemy's StaleDataError), and the first save stands."""
    from directory.db import get_db

    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    other = get_db().sessionmaker()
    try:
        theirs = other.get(Team, team.id)
        assert theirs is not None and theirs.version == 1
        services.update_team(db, team, dict(team.data, summary="first editor"), OWNER, expected_version=1)
        db.commit()
        with pytest.raises(StaleVersion):
            services.update_team(other, theirs, dict(theirs.data, summary="second editor"), OWNER)
        other.rollback()
    finally:
        other.close()
    db.expire_all()
    assert db.get(Team, team.id).data["summary"] == "first editor"
    assert [r.number for r in revisions(db, team)] == [1, 2]
