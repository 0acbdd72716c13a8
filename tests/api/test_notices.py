"""Notices through the API: refused input (422 naming the field), status, search, the auto-reply
(and its cache across a notice's start and end), revisions, and the import/export round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import api.auto_reply
from directory import services
from directory.db import get_session
from directory.schemas import load_team
from tests.conftest import ADMIN, make_app, team_doc

WEEK = {"message": "Reduced capacity this week.", "starts": "2026-11-30", "ends": "2026-12-04", "level": "warning"}
MORNING = {"message": "Phones are down until 10:00.", "starts": "2026-11-24T09:00", "ends": "2026-11-24T10:00",
           "level": "info"}
UNTIL_REMOVED = {"message": "We moved to floor 4.", "starts": "2026-11-01", "ends": None, "level": "info"}


def etag(client: Any, slug: str = "payroll") -> str:
    return client.get(f"/api/v1/teams/{slug}").headers["ETag"]


@pytest.mark.parametrize(("notice", "field"), [
    ({**WEEK, "level": "urgent"}, "notices.0.level"),
    ({**WEEK, "ends": "2026-11-29"}, "notices.0.ends"),
    ({**WEEK, "message": "x" * 501}, "notices.0.message"),
    ({**WEEK, "starts": "tomorrow"}, "notices.0.starts"),
])
def test_bad_notices_are_refused_with_422_naming_the_field(client: Any, make_team: Any,
                                                           auth_headers: dict[str, str],
                                                           notice: dict[str, Any], field: str) -> None:
    make_team()
    response = client.patch("/api/v1/teams/payroll", json={"notices": [notice]},
                            headers={**auth_headers, "If-Match": etag(client)})
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert client.get("/api/v1/teams/payroll").json.get("notices") is None  # nothing saved


def test_a_notice_is_a_revision_and_reads_back_in_the_contracts_shape(client: Any, make_team: Any,
                                                                      auth_headers: dict[str, str]) -> None:
    make_team()
    response = client.patch("/api/v1/teams/payroll", json={"notices": [WEEK, UNTIL_REMOVED]},
                            headers={**auth_headers, "If-Match": etag(client)})
    assert response.status_code == 200, response.json
    team = client.get("/api/v1/teams/payroll").json
    assert team["notices"] == [WEEK, UNTIL_REMOVED] and team["version"] == 2
    revisions = client.get("/api/v1/teams/payroll/revisions").json
    assert revisions[0]["number"] == 2 and revisions[0]["team"]["notices"] == [WEEK, UNTIL_REMOVED]
    cleared = client.patch("/api/v1/teams/payroll", json={"notices": []},
                           headers={**auth_headers, "If-Match": etag(client)})
    assert cleared.status_code == 200 and "notices" not in client.get("/api/v1/teams/payroll").json


@pytest.mark.parametrize(("instant", "expected"), [
    ("2026-11-29T23:59:00Z", []),
    ("2026-11-30T00:00:00Z", ["Reduced capacity this week."]),
    ("2026-12-04T23:59:00Z", ["Reduced capacity this week."]),
    ("2026-12-05T00:00:00Z", []),
])
def test_status_lists_the_notices_active_at_the_instant(client: Any, make_team: Any, instant: str,
                                                        expected: list[str]) -> None:
    make_team(notices=[WEEK])
    status = client.get(f"/api/v1/teams/payroll/status?at={instant}").json
    assert [n["message"] for n in status["notices"]] == expected
    if expected:
        assert status["notices"][0]["level"] == "warning"
        assert status["notices"][0]["ends_at"] == "2026-12-05T00:00:00+00:00"


@pytest.mark.parametrize(("instant", "shown"), [
    ("2026-11-24T08:59:00Z", False), ("2026-11-24T09:00:00Z", True), ("2026-11-24T09:59:00Z", True),
    ("2026-11-24T10:00:00Z", False),
])
def test_every_auto_reply_format_carries_the_notice_only_while_active(client: Any, make_team: Any, instant: str,
                                                                      shown: bool) -> None:
    make_team(notices=[MORNING])
    base = f"/api/v1/auto-reply?to=payroll@example.com&at={instant}"
    text = client.get(base + "&format=text").get_data(as_text=True)
    html = client.get(base + "&format=html").get_data(as_text=True)
    data = client.get(base + "&format=json").json
    assert ("Please note: Phones are down until 10:00." in text) is shown
    assert ("Please note: Phones are down until 10:00." in html) is shown
    assert ("Phones are down" in data["text"]) is shown
    assert [n["message"] for n in data["notices"]] == (["Phones are down until 10:00."] if shown else [])
    assert data["facts"]["notices"] == data["notices"]


class _Clock:
    """`datetime` for api.auto_reply with a settable now, so the cache meets a notice's edges."""

    now = datetime(2026, 11, 24, 8, 59, 30, tzinfo=UTC)

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> type[datetime]:
        class Frozen(datetime):
            @classmethod
            def now(cls_, tz: Any = None) -> datetime:
                return cls.now if tz is None else cls.now.astimezone(tz)

        monkeypatch.setattr(api.auto_reply, "datetime", Frozen)
        return Frozen


def test_the_cached_reply_never_outlives_a_notice_edge(client: Any, make_team: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Payroll is closed before 09:00, so a reply would hold five minutes: the cache must end when
    the early notice starts (08:00) and again when it ends (08:30)."""
    make_team(notices=[{**MORNING, "starts": "2026-11-24T08:00", "ends": "2026-11-24T08:30"}])
    _Clock.install(monkeypatch)
    url = "/api/v1/teams/payroll/auto-reply?format=text"

    _Clock.now = datetime(2026, 11, 24, 7, 59, 30, tzinfo=UTC)
    before = client.get(url)
    assert "Phones are down" not in before.get_data(as_text=True)
    assert before.headers["Cache-Control"] == "public, max-age=30"  # not 300: the notice starts at 08:00
    assert "Phones are down" not in client.get(url).get_data(as_text=True)  # from the cache, same minute

    _Clock.now = datetime(2026, 11, 24, 8, 0, 5, tzinfo=UTC)
    assert "Please note: Phones are down until 10:00." in client.get(url).get_data(as_text=True)

    _Clock.now = datetime(2026, 11, 24, 8, 29, 40, tzinfo=UTC)
    last = client.get(url)
    assert "Phones are down" in last.get_data(as_text=True)
    assert last.headers["Cache-Control"] == "public, max-age=20"  # the notice ends at 08:30

    _Clock.now = datetime(2026, 11, 24, 8, 30, 0, tzinfo=UTC)
    after = client.get(url)
    assert "Phones are down" not in after.get_data(as_text=True)
    assert after.headers["Cache-Control"] == "public, max-age=300"


@pytest.fixture
def backend_app(tmp_path: Path, storage_url: str) -> Iterator[Flask]:
    """An app on SQLite and on PostgreSQL: search reads the notices out of the stored JSON in SQL."""
    app = make_app(tmp_path, DATABASE_URL=storage_url)
    yield app
    app.extensions["directory_db"].engine.dispose()


def test_search_results_show_active_notices_only(backend_app: Flask) -> None:
    with backend_app.app_context():
        session = get_session()
        for doc in (team_doc(notices=[{**WEEK, "starts": "2026-01-01", "ends": "2099-12-31"},
                                      {**MORNING, "starts": "2020-01-01T09:00", "ends": "2020-01-01T10:00"}]),
                    team_doc(slug="legal", name="Legal", summary="Contracts and payslip disputes",
                             contacts=[{"kind": "email", "value": "legal@example.com"}])):
            services.create_team(session, load_team(doc), ADMIN)
        session.commit()
    results = backend_app.test_client().get("/api/v1/search?q=payslips").json["results"]
    by_slug = {hit["slug"]: hit for hit in results}
    assert [n["message"] for n in by_slug["payroll"]["notices"]] == ["Reduced capacity this week."]
    assert by_slug["legal"]["notices"] == []


def test_export_and_import_round_trip_notices(app: Any, make_team: Any, tmp_path: Path) -> None:
    make_team(notices=[WEEK, UNTIL_REMOVED])
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["export"])
    assert exported.exit_code == 0, exported.output
    documents = json.loads(exported.output)
    assert documents[0]["notices"] == [WEEK, UNTIL_REMOVED]
    again = runner.invoke(args=["import", "-"], input=exported.output)
    assert again.exit_code == 0 and "0 created, 0 updated, 1 unchanged" in again.output

    changed = [dict(documents[0], notices=[MORNING])]
    (tmp_path / "teams.yaml").write_text(json.dumps(changed))
    result = runner.invoke(args=["import", str(tmp_path / "teams.yaml")])
    assert result.exit_code == 0 and "1 updated" in result.output
    assert json.loads(runner.invoke(args=["export"]).output)[0]["notices"] == [MORNING]

    bad = [team_doc(slug="hr", name="HR", notices=[{**WEEK, "level": "loud"}])]
    refused = runner.invoke(args=["import", "-"], input=json.dumps(bad))
    assert refused.exit_code != 0 and "notices.0.level" in refused.output
