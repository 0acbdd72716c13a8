"""directory.team_documents: the hot read's cache of dumped documents, and TeamSchema dumping them as they are."""

from __future__ import annotations

from typing import Any

import pytest

from api.cache import LRUCache
from directory import services, team_documents
from directory.errors import NotFound
from directory.schemas import DumpedTeam, TeamSchema, load_team
from tests.conftest import ADMIN, make_app, team_doc


@pytest.fixture
def db(tmp_path: Any) -> Any:
    from directory.db import get_session

    app = make_app(tmp_path)
    with app.app_context():
        yield get_session()


def test_a_miss_dumps_and_keeps_the_document_a_hit_opens_no_session(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    db.commit()
    cache: LRUCache[team_documents.Key, DumpedTeam] = LRUCache(8)
    first = team_documents.team_document(cache, lambda: db, team.id, 1, "https://d.example")
    assert isinstance(first, DumpedTeam)
    assert first == TeamSchema().dump(services.team_document(team, "https://d.example"))
    assert first["api_url"] == "https://d.example/api/v1/teams/payroll" and first["version"] == 1

    def no_session() -> Any:
        raise AssertionError("a cache hit must not open a session")

    assert team_documents.team_document(cache, no_session, team.id, 1, "https://d.example") is first
    other_site = team_documents.team_document(cache, lambda: db, team.id, 1, "https://other.example")
    assert other_site["url"] == "https://other.example/teams/payroll"


def test_a_version_written_since_is_answered_but_not_kept(db: Any) -> None:
    team = services.create_team(db, load_team(team_doc()), ADMIN)
    services.update_team(db, team, load_team({**team.data, "summary": "Pay and tax."}), ADMIN)
    db.commit()
    cache: LRUCache[team_documents.Key, DumpedTeam] = LRUCache(8)
    answer = team_documents.team_document(cache, lambda: db, team.id, 1, "")
    assert answer["version"] == 2
    assert cache.get((team.id, 1, "")) is None
    with pytest.raises(NotFound):
        team_documents.team_document(cache, lambda: db, team.id + 99, 1, "")


def test_team_schema_gives_a_dumped_team_back_as_it_is_and_dumps_anything_else() -> None:
    document = DumpedTeam(TeamSchema().dump(load_team(team_doc())))
    assert TeamSchema().dump(document) is document
    plain = dict(document, extra="not in the schema")
    assert "extra" not in TeamSchema().dump(plain)
    assert TeamSchema(only=("name",)).dump(document) == {"name": "Payroll"}
    assert TeamSchema(many=True).dump([document]) == [dict(document)]
