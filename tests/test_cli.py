"""The `directory` command: init, seed, import (all or nothing), export round trip, tokens, reindex."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from directory.db import get_session
from directory.models import ApiToken, Revision, Team
from tests.conftest import ROOT, make_app, team_doc


def counts(app: Any) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (session.scalar(select(func.count()).select_from(Team)) or 0,
                session.scalar(select(func.count()).select_from(Revision)) or 0)


@pytest.fixture
def cli_app(tmp_path: Path, storage_url: str) -> Any:
    app = make_app(tmp_path, DATABASE_URL=storage_url)
    yield app
    app.extensions["directory_db"].engine.dispose()


def test_seed_loads_the_demo_organisation_and_is_idempotent(cli_app: Any) -> None:
    runner = cli_app.test_cli_runner()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    teams, revs = counts(cli_app)
    assert teams >= 40
    with cli_app.app_context():
        departments = set(get_session().scalars(select(Team.department)))
    assert len(departments) >= 8
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0, again.output
    assert counts(cli_app) == (teams, revs)
    assert f"0 created, 0 updated, {teams} unchanged" in again.output


def test_export_then_import_is_a_no_op(cli_app: Any, tmp_path: Path) -> None:
    runner = cli_app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0
    before = counts(cli_app)
    for fmt in ("json", "yaml"):
        out = tmp_path / f"export.{fmt}"
        result = runner.invoke(args=["export", "--format", fmt, "--output", str(out)])
        assert result.exit_code == 0, result.output
        again = runner.invoke(args=["import", str(out)])
        assert again.exit_code == 0, again.output
        assert "0 created, 0 updated" in again.output
        assert counts(cli_app) == before
    exported = json.loads(runner.invoke(args=["export"]).output)
    assert len(exported) == before[0]
    assert yaml.safe_load((tmp_path / "export.yaml").read_text()) == exported


def test_import_from_stdin_creates_and_updates_by_slug(cli_app: Any) -> None:
    runner = cli_app.test_cli_runner()
    result = runner.invoke(args=["import", "-"], input=json.dumps([team_doc()]))
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    result = runner.invoke(args=["import", "-"], input=json.dumps([team_doc(summary="Now with P60s.")]))
    assert "1 updated" in result.output
    assert counts(cli_app) == (1, 2)


def test_import_refuses_bad_files_listing_every_problem_and_changes_nothing(cli_app: Any, tmp_path: Path) -> None:
    runner = cli_app.test_cli_runner()
    assert runner.invoke(args=["import", "-"], input=json.dumps([team_doc()])).exit_code == 0
    before = counts(cli_app)
    bad = [
        team_doc(summary="this valid change must not land"),
        team_doc(slug="tz", name="Bad zone", timezone="Europe/Atlantis", contacts=[]),
        team_doc(slug="hours", name="Bad hours", contacts=[], hours={"weekly": {"mon": [["9am", "17:00"]]}}),
        team_doc(slug="unit", name="Bad unit", contacts=[], response_time={"value": 2, "unit": "weeks"}),
        team_doc(slug="tz", name="Duplicate slug", contacts=[]),
        team_doc(slug="dup-mail", name="Duplicate mail",
                 contacts=[{"kind": "email", "value": "PAYROLL@example.com"}]),
    ]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    output = result.output
    assert "Nothing was imported" in output
    assert "record 1 (tz): timezone" in output
    assert "record 2 (hours): hours.weekly.mon" in output
    assert "record 3 (unit): response_time.unit" in output
    assert "record 4 (tz): slug: duplicates record 1" in output
    assert "dup-mail" not in output  # a mailbox shared with another team is allowed
    assert counts(cli_app) == before
    with cli_app.app_context():
        assert get_session().scalar(select(Team.data).where(Team.slug == "payroll"))["summary"] == \
            team_doc()["summary"]


@pytest.mark.parametrize("document", ['{"name": "not a list"}', "just text", "[1, 2]", "{{{"])
def test_import_refuses_documents_that_are_not_team_lists(cli_app: Any, document: str) -> None:
    result = cli_app.test_cli_runner().invoke(args=["import", "-"], input=document)
    assert result.exit_code != 0
    assert counts(cli_app) == (0, 0)


def test_create_token_prints_it_alone_on_the_last_line_and_stores_only_a_hash(cli_app: Any) -> None:
    result = cli_app.test_cli_runner().invoke(args=["create-token", "--scope", "write"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("dir_") and " " not in token
    with cli_app.app_context():
        stored = get_session().scalar(select(ApiToken))
        assert stored.scope == "write"
        assert token not in (stored.token_hash, stored.prefix)
    response = cli_app.test_client().post("/api/v1/teams", json={"name": "Via token"},
                                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json


def test_reindex_rebuilds_a_deleted_index(cli_app: Any) -> None:
    runner = cli_app.test_cli_runner()
    assert runner.invoke(args=["import", "-"], input=json.dumps([team_doc()])).exit_code == 0
    import shutil

    shutil.rmtree(cli_app.config["INDEX_DIR"], ignore_errors=True)
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 team" in result.output
    hits = cli_app.test_client().get("/api/v1/search?q=payslip").json
    assert [h["slug"] for h in hits["results"]] == ["payroll"]


def test_console_script_runs_against_a_fresh_instance(tmp_path: Path) -> None:
    """The installed `directory` command itself, as a newcomer runs it."""
    env = dict(os.environ, DIRECTORY_INSTANCE=str(tmp_path / "inst"))
    env.pop("DATABASE_URL", None)
    exe = Path(sys.executable).parent / "directory"
    init = subprocess.run([str(exe), "init"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert init.returncode == 0, init.stderr
    imported = subprocess.run([str(exe), "import", "-"], env=env, input=json.dumps([team_doc()]),
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert imported.returncode == 0, imported.stderr
    exported = subprocess.run([str(exe), "export", "--format", "yaml"], env=env, capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
    assert yaml.safe_load(exported.stdout)[0]["slug"] == "payroll"
    token = subprocess.run([str(exe), "create-token"], env=env, capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
    assert token.stdout.strip().splitlines()[-1].startswith("dir_")


def test_the_maintainers_evaluation_data_imports_and_round_trips(tmp_path: Path) -> None:
    """91 real teams (../shared/eval/teams.json): plain-string services, extra keys, shared mailboxes."""
    source = ROOT.parent / "shared" / "eval" / "teams.json"
    if not source.exists():
        pytest.skip(f"{source} is not beside this checkout")
    app = make_app(tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    assert "91 created" in result.output
    client = app.test_client()
    # connectcoe@gsa.gov is listed by the CoE and its six centres: the auto-reply answers for the CoE.
    reply = client.get("/api/v1/auto-reply?to=ConnectCoE@gsa.gov&format=json").json
    assert reply["team"]["name"] == "IT Modernization Centers of Excellence (CoE)"
    exported = tmp_path / "export.json"
    assert runner.invoke(args=["export", "-o", str(exported)]).exit_code == 0
    again = runner.invoke(args=["import", str(exported)])
    assert "0 created, 0 updated, 91 unchanged" in again.output
    app.extensions["directory_db"].engine.dispose()
