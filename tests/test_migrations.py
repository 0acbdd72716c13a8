"""Migrations on real databases: 0003 repairs text stored before the schemas refused it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from directory.db import alembic_config, make_engine, upgrade
from directory.schemas import canonical_team, load_team
from tests.conftest import make_app, team_doc

SURROGATE = "\ud800"


def upgrade_to(engine: Engine, target: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)


def damaged_document() -> dict[str, Any]:
    """A valid team with what the old schemas let through: lone surrogates and NUL, deep inside too."""
    doc = canonical_team(load_team(team_doc(slug="broken", name="Broken")))
    doc["summary"] = f"Pay{SURROGATE}slips\x00"
    doc["department"] = f"Fin{SURROGATE}ance"
    doc["tags"] = ["pay", "t\x00ax"]
    doc["hours"]["closures"][0]["reason"] = f"Closed{SURROGATE}"
    doc["services"][0]["name"] = "Pay\x00slip corrections"
    doc["escalation"] = "Ask for the manager \U0001F600"  # a valid astral character stays as it is
    return doc


def insert_damaged_team(engine: Engine, doc: dict[str, Any]) -> None:
    """Written as the old code did: JSON text with escapes; on SQLite the columns may hold NUL too."""
    sqlite = engine.dialect.name == "sqlite"
    as_json = "CAST(:data AS json)" if not sqlite else ":data"
    now = datetime(2026, 11, 1, 9, 0)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO teams (id, slug, name, department, location, timezone, data, version, created_at, updated_at) "
            f"VALUES (1, 'broken', :name, :department, :location, 'Europe/London', {as_json}, 2, :now, :now)"),
            {"name": "Bro\x00ken" if sqlite else "Broken", "department": "Fin\x00ance" if sqlite else "Finance",
             "location": doc["location"], "data": json.dumps(doc), "now": now})
        for number in (1, 2):
            connection.execute(text(
                "INSERT INTO revisions (team_id, number, action, author, note, created_at, data) "
                f"VALUES (1, :number, 'update', 'admin@example.com', :note, :now, {as_json})"),
                {"number": number, "note": "fixed\x00" if sqlite else None, "now": now,
                 "data": json.dumps(doc if number == 2 else {**doc, "summary": f"Old{SURROGATE}"})})
        tags = ["pay", "t\x00ax", "ta\x00x"] if sqlite else ["pay", "tax"]
        for tag in tags:
            connection.execute(text("INSERT INTO team_tags (team_id, tag) VALUES (1, :tag)"), {"tag": tag})
        connection.execute(text("INSERT INTO contact_addresses (team_id, address) VALUES (1, :address)"),
                           {"address": "payroll\x00@example.com" if sqlite else "payroll@example.com"})


def test_upgrade_repairs_text_that_broke_every_read(storage_url: str, tmp_path: Path) -> None:
    engine = make_engine(storage_url)
    try:
        upgrade_to(engine, "0002")
        insert_damaged_team(engine, damaged_document())
        upgrade(engine)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT name, department, CAST(data AS TEXT), version FROM teams")).one()
            history = connection.execute(text(
                "SELECT number, action, author, note, CAST(data AS TEXT) FROM revisions ORDER BY number")).all()
            tags = sorted(r[0] for r in connection.execute(text("SELECT tag FROM team_tags")))
            addresses = [r[0] for r in connection.execute(text("SELECT address FROM contact_addresses"))]
    finally:
        engine.dispose()

    data = json.loads(row[2])
    assert (row[0], row[1]) == ("Broken", "Finance")
    assert data["summary"] == "Pay\ufffdslips"
    assert data["department"] == "Fin\ufffdance"
    assert data["tags"] == ["pay", "tax"]
    assert data["hours"]["closures"][0]["reason"] == "Closed\ufffd"
    assert data["services"][0]["name"] == "Payslip corrections"
    assert data["escalation"] == "Ask for the manager \U0001F600"
    # Old revisions are repaired in place (restoring one must not bring the damage back), and the
    # repair itself is a new version, so ETags, cached documents and every search index move on.
    assert row[3] == 3
    assert [(number, action) for number, action, *_rest in history] == [(1, "update"), (2, "update"), (3, "repair")]
    assert [json.loads(r[4])["summary"] for r in history] == ["Old\ufffd", "Pay\ufffdslips", "Pay\ufffdslips"]
    assert json.loads(history[2][4]) == data
    assert history[2][2] == "system" and "repaired" in history[2][3]
    assert [r[3] for r in history[:2]] == (["fixed", "fixed"] if storage_url.startswith("sqlite") else [None, None])
    assert tags == ["pay", "tax"]  # two damaged spellings of one tag became one row
    assert addresses == ["payroll@example.com"]

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        client = app.test_client()
        for path in ("/api/v1/teams/broken", "/teams/broken", "/teams/broken/history", "/api/v1/teams",
                     "/api/v1/teams/broken/revisions", "/api/v1/departments", "/departments",
                     "/api/v1/search?q=payslips", "/search?q=payslips"):
            assert client.get(path).status_code == 200, path
        assert client.get("/api/v1/teams/broken").json["summary"] == "Pay\ufffdslips"
        exported = app.test_cli_runner().invoke(args=["export"])
        assert exported.exit_code == 0, exported.output
        assert json.loads(exported.output)[0]["summary"] == "Pay\ufffdslips"
    finally:
        app.extensions["directory_db"].engine.dispose()


def run_repair(engine: Engine) -> None:
    """0003's upgrade on a database already at the newest schema (where damage was written since)."""
    from importlib import import_module

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    migration = import_module("migrations.versions.0003_repair_text")
    with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        migration.upgrade()


def test_every_servers_search_index_picks_up_the_repair(storage_url: str, tmp_path: Path) -> None:
    """An index that holds damaged text answers the search page with a 500 until it re-indexes the
    team: the repair's new revision is what tells each server's index to do so."""
    app = make_app(tmp_path, DATABASE_URL=storage_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    engine = app.extensions["directory_db"].engine
    try:
        insert_damaged_team(engine, damaged_document())
        client = app.test_client()
        assert client.get("/search?q=payslips").status_code == 500  # the damage, as served before
        run_repair(engine)
        response = client.get("/search?q=payslips")
        assert response.status_code == 200
        assert "to=broken" in response.get_data(as_text=True)  # the result's link (through /search/go)
        assert client.get("/api/v1/search?q=payslips").json["results"][0]["summary"] == "Pay\ufffdslips"
    finally:
        engine.dispose()


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"), (f"a{SURROGATE}b\x00c", "a\ufffdbc"), ("\U0001F600", "\U0001F600"),
    ({f"k{SURROGATE}": ["\x00", 1, None]}, {"k\ufffd": ["", 1, None]}),
])
def test_repair_replaces_lone_surrogates_and_removes_nul(value: Any, expected: Any) -> None:
    from importlib import import_module

    migration = import_module("migrations.versions.0003_repair_text")
    assert migration.repaired(value) == expected
