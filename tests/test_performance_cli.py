"""directory.performance_cli: `directory import-requests FILE`, all or nothing, every problem by line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from directory import create_app, performance, services
from directory.db import get_db, get_session, is_initialised
from directory.models import Revision, ServiceRequest, Team
from directory.performance_cli import MAX_SHOWN, _parsed, _records
from directory.schemas import load_team
from tests.conftest import ADMIN, get_db_engine
from tests.test_performance import FRI_BEFORE_DST, london_team, record, utc

HEADER = "team,id,received_at,first_reply_at,resolved_at,service\n"


@pytest.fixture
def team(session: Any) -> Team:
    made = services.create_team(session, load_team(london_team()), ADMIN)
    session.commit()
    session.execute(update(Revision).where(Revision.team_id == made.id).values(created_at=utc(2026, 1, 1)))
    session.commit()
    return made


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_requests_from_csv_and_again_changes_nothing(team: Team, session: Any, runner: Any,
                                                            tmp_path: Path) -> None:
    csv_file = write(tmp_path, "export.csv", (
        "team,id,received_at,first_reply_at,resolved_at,service\n"
        "it-desk,T-1,2026-03-27T16:00:00Z,2026-03-30T10:59:00Z,2026-03-31T14:00:00Z,Laptop repair\n"
        "it-desk,T-2,2026-03-27T16:00:00Z,2026-03-30T11:30:00Z,,\n"
        "it-desk,T-3,2026-12-24T15:00:00Z,,,\n"))
    result = runner.invoke(args=["import-requests", csv_file])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    found = performance.performance(session, team, utc(2026, 3, 1), utc(2027, 1, 1))
    assert found["requests"] == 3
    assert found["reply"] == {"measured": 3, "kept": 1, "kept_ratio": round(1 / 3, 4)}
    assert found["resolution"] == {"measured": 1, "kept": 1, "kept_ratio": 1.0}
    again = runner.invoke(args=["import-requests", csv_file])
    assert again.exit_code == 0 and "3 unchanged" in again.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 3


def test_import_requests_from_json_lines_updates_by_id(team: Team, session: Any, runner: Any,
                                                       tmp_path: Path) -> None:
    record(session, team, "T-1", FRI_BEFORE_DST)
    lines = [{"team": "it-desk", "id": "T-1", "received_at": "2026-03-27T16:00:00Z",
              "first_reply_at": "2026-03-30T10:00:00Z"},
             {"team": "it-desk", "id": "T-9", "received_at": "2026-03-27T16:00:00+00:00", "service": None}]
    result = runner.invoke(args=["import-requests", write(tmp_path, "x.jsonl", "\n".join(map(json.dumps, lines)))])
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated" in result.output
    session.expire_all()
    assert session.scalar(select(ServiceRequest.reply_kept).where(ServiceRequest.external_id == "T-1")) is True


def test_import_requests_lists_every_problem_and_writes_nothing(team: Team, session: Any, runner: Any,
                                                               tmp_path: Path) -> None:
    csv_file = write(tmp_path, "bad.csv", (
        "team,id,received_at,first_reply_at,resolved_at,service\n"
        "it-desk,ok,2026-03-27T16:00:00Z,,,\n"
        "nobody,T-2,2026-03-27T16:00:00Z,,,\n"
        "it-desk,T-3,yesterday,,,\n"
        "it-desk,T-4,2026-03-27T16:00:00Z,2026-03-27T15:00:00Z,,Printing\n"
        "it-desk,,2026-03-27T16:00:00Z,,,\n"))
    result = runner.invoke(args=["import-requests", csv_file])
    assert result.exit_code != 0
    for expected in ("line 3: team", "line 4: received_at", "line 5: first_reply_at", "line 5: service",
                     "line 6: id", "Nothing was imported: 5 problem(s)"):
        assert expected in result.output, result.output
    assert "line 2" not in result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_import_requests_finds_a_renamed_team_by_its_old_slug(team: Team, session: Any, runner: Any,
                                                               tmp_path: Path) -> None:
    services.update_team(session, team, load_team({**team.data, "slug": "service-desk"}), ADMIN)
    session.commit()
    line = {"team": "it-desk", "id": "T-1", "received_at": "2026-03-27T16:00:00Z"}
    result = runner.invoke(args=["import-requests", write(tmp_path, "old.jsonl", json.dumps(line) + "\n")])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.scalar(select(ServiceRequest.team_id)) == team.id


def test_import_requests_refuses_a_csv_without_the_needed_columns(runner: Any, tmp_path: Path) -> None:
    result = runner.invoke(args=["import-requests", write(tmp_path, "x.csv", "ticket,opened\n1,2026-01-01\n")])
    assert result.exit_code != 0
    assert "line 1" in result.output and "team, id, received_at" in result.output




def count(session: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ServiceRequest))


def test_a_csv_with_a_byte_order_mark_and_spaced_header_is_read(team: Team, session: Any, runner: Any,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff team , id ,received_at\r\nit-desk,T-1,2026-03-27T16:00:00Z\r\n".encode())
    result = runner.invoke(args=["import-requests", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 request(s): 1 created" in result.output and count(session) == 1


def test_json_lines_from_standard_input(team: Team, session: Any, runner: Any) -> None:
    line = json.dumps({"team": "it-desk", "id": "T-1", "received_at": "2026-03-27T16:00:00Z"})
    result = runner.invoke(args=["import-requests", "-"], input=f"\n{line}\n\n")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and count(session) == 1


def test_lines_that_are_not_json_objects_are_named_and_nothing_is_written(team: Team, session: Any, runner: Any,
                                                                          tmp_path: Path) -> None:
    good = json.dumps({"team": "it-desk", "id": "T-1", "received_at": "2026-03-27T16:00:00Z"})
    text = "\n".join([good, "[1, 2]", "{not json", json.dumps({"team": "it-desk", "id": 7,
                                                                "received_at": "2026-03-27T16:00:00Z"})])
    result = runner.invoke(args=["import-requests", write(tmp_path, "x.jsonl", text)])
    assert result.exit_code != 0
    assert "line 2: line: is not a JSON object" in result.output
    assert "line 3: line: is not JSON" in result.output
    assert "line 4: id: must be text" in result.output
    assert "Nothing was imported: 3 problem(s)" in result.output and count(session) == 0


def test_problems_are_listed_in_line_order_and_at_most_so_many(team: Team, session: Any, runner: Any,
                                                               tmp_path: Path) -> None:
    rows = "".join(f"it-desk,T-{n},someday,,,\n" for n in range(MAX_SHOWN + 5))
    result = runner.invoke(args=["import-requests", write(tmp_path, "many.csv", HEADER + rows)])
    assert result.exit_code != 0
    shown = [line for line in result.output.splitlines() if line.startswith("line ")]
    assert len(shown) == MAX_SHOWN
    assert shown[:3] == [f"line {n}: received_at: is not an ISO 8601 date-time, e.g. 2026-11-24T09:30:00Z"
                         for n in (2, 3, 4)]
    numbers = [int(line.split(":")[0].removeprefix("line ")) for line in shown]
    assert numbers == sorted(numbers), "line 10 comes after line 9, not after line 1"
    assert f"{MAX_SHOWN + 5} problem(s) in" in result.output and f"(the first {MAX_SHOWN} shown)" in result.output
    assert count(session) == 0


@pytest.mark.parametrize(("name", "content", "says"), [
    ("latin1.csv", HEADER.encode() + "it-desk,Caf\xe9,2026-03-27T16:00:00Z,,,\n".encode("latin-1"),
     "cannot be read as UTF-8 text (UnicodeDecodeError"),
    ("missing.csv", None, "cannot be read as UTF-8 text (FileNotFoundError"),
])
def test_a_file_that_cannot_be_read_is_named(runner: Any, tmp_path: Path, name: str, content: bytes | None,
                                             says: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(args=["import-requests", str(path)])
    assert result.exit_code != 0
    assert f"{path}: {says}" in result.output


def test_an_uninitialised_database_is_created_first(tmp_path: Path) -> None:
    app: Flask = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test",
                             "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
                             "INDEX_DIR": str(tmp_path / "index"), "TESTING": True})
    try:
        with app.app_context():
            assert not is_initialised(get_db().engine)
        line = json.dumps({"team": "nobody", "id": "T-1", "received_at": "2026-03-27T16:00:00Z"})
        result = app.test_cli_runner().invoke(args=["import-requests", "-"], input=line + "\n")
        assert result.exit_code != 0 and "line 1: team" in result.output, result.output
        with app.app_context():
            assert is_initialised(get_db().engine)
            assert get_session().scalar(select(func.count()).select_from(ServiceRequest)) == 0
    finally:
        get_db_engine(app).dispose()


def test_records_read_json_when_the_name_or_the_text_says_so() -> None:
    assert _records("export", '{"team": "a"}\n') == [(1, {"team": "a"})]
    assert _records("EXPORT.NDJSON", '\n{"team": "a"}\n') == [(2, {"team": "a"})]
    assert _records("x.csv", "team,id,received_at\n{a},1,2\n") == [(2, {"team": "{a}", "id": "1", "received_at": "2"})]
    [(_, deep)] = _records("x.jsonl", "[" * 100_000 + "\n")
    assert deep["_line"].startswith("is not JSON")


def test_a_record_is_parsed_into_a_report_or_its_problems_by_field() -> None:
    slug, report, errors = _parsed({"team": " it-desk ", "id": "T-1", "received_at": "2026-03-27T16:00:00Z",
                                    "first_reply_at": "", "service": " Laptop repair "})
    assert (slug, errors) == ("it-desk", {})
    assert report == performance.Report(id="T-1", received_at=FRI_BEFORE_DST, first_reply_at=None, resolved_at=None,
                                        service="Laptop repair")
    slug, report, errors = _parsed({"team": " ", "id": "T-1\x00", "received_at": "0001-01-01T00:00:00Z"})
    assert report is None and slug == ""
    assert errors == {"team": ["is required"], "id": ["must not contain the NUL character (\\u0000)"],
                      "received_at": ["must be between the years 1900 and 2200"]}
    assert _parsed({"_line": "is not a JSON object"}) == ("", None, {"line": ["is not a JSON object"]})
    _slug, _report, errors = _parsed({"team": "it-desk", "id": "T-1", "received_at": "2026-03-27T16:00:00Z",
                                      "resolved_at": ["2026"]})
    assert errors == {"resolved_at": ["must be text"]}
