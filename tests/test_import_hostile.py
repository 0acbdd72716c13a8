"""`directory import` and `export` on hostile or odd files: one clear line per problem, never a traceback.

Every refused file leaves the database as it was (teams and revisions counted before and after).
A few run the installed console script in a subprocess, so that a traceback or a runaway
expansion would show exactly as a user meets it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text

from directory.db import get_session
from directory.models import Revision, Team
from tests.conftest import ROOT, make_app, team_doc

EXE = Path(sys.executable).parent / "directory"

# 9 levels of 9 aliases each: 9**9 "lol"s (about 2 GB as a repr) from a file of under 1 KB.
LAUGHS = "lol: &a [" + ", ".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def billion_laughs() -> str:
    """The anchors in an ignored field, the expansion where a problem message quotes it."""
    anchors = "".join(f"    {line}\n" for line in LAUGHS.splitlines())
    return f"- name: Laughs\n  x-anchors:\n{anchors}  hours:\n    weekly:\n      mon: [[*i, \"17:00\"]]\n"


def counts(app: Any) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (session.scalar(select(func.count()).select_from(Team)) or 0,
                session.scalar(select(func.count()).select_from(Revision)) or 0)


@pytest.fixture
def cli_app(tmp_path: Path) -> Any:
    app = make_app(tmp_path)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import", "-"], input=json.dumps([team_doc()])).exit_code == 0
    yield app
    app.extensions["directory_db"].engine.dispose()


def refused(app: Any, path: Path | None, data: bytes | str | None = None) -> str:
    """Import a file that must be refused: exit 1, no traceback, nothing changed; returns stderr."""
    before = counts(app)
    args = ["import", str(path)] if path is not None else ["import", "-"]
    result = app.test_cli_runner().invoke(args=args, input=data)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert counts(app) == before
    return result.stderr


# --------------------------------------------------------------------------- the real console script


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """A fresh instance set up with `directory init`, holding one team."""
    folder = tmp_path_factory.mktemp("hostile")
    env = dict(os.environ, DIRECTORY_INSTANCE=str(folder / "instance"))
    env.pop("DATABASE_URL", None)
    env.pop("INDEX_DIR", None)
    init = subprocess.run([str(EXE), "init"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert init.returncode == 0, init.stderr
    one = subprocess.run([str(EXE), "import", "-"], env=env, input=json.dumps([team_doc()]),
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert one.returncode == 0, one.stderr
    return env, folder


def db_counts(folder: Path) -> tuple[int, int]:
    with sqlite3.connect(folder / "instance" / "directory.sqlite3") as conn:
        return (conn.execute("SELECT count(*) FROM teams").fetchone()[0],
                conn.execute("SELECT count(*) FROM revisions").fetchone()[0])


CHANGED = json.dumps([team_doc(summary="This valid change must not land.")])[1:-1]

HOSTILE_FILES: dict[str, tuple[bytes, str]] = {
    "laughs.yaml": (billion_laughs().encode(), "aliases (*name) repeat blocks so often"),
    "latin1.yaml": ("- name: Caf\u00e9 des sports\n".encode("latin-1"),
                    "latin1.yaml: not UTF-8 text (byte 0xe9 at line 1, column 12); save it as UTF-8"),
    "deep.json": (("[" + CHANGED + ", " + "[" * 50_000 + "]" * 50_000 + "]").encode(),
                  "deep.json: nested more than 64 levels deep"),
    "deep.yaml": (("- name: Deep\n  hours: " + "[" * 50_000 + "]" * 50_000 + "\n").encode(),
                  "deep.yaml: line 2, column "),
    "surrogate.json": (("[" + CHANGED + ', {"name": "Bad \\udc80 name"}]').encode(),
                       "record 1 (bad-name): name: contains a lone surrogate (\\udc80) at position 4"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_the_console_script_refuses_hostile_files_in_one_line(
        name: str, instance: tuple[dict[str, str], Path]) -> None:
    env, folder = instance
    content, expected = HOSTILE_FILES[name]
    path = folder / name
    path.write_bytes(content)
    before = db_counts(folder)
    # Before the fix the laughs took a minute and 2 GB, and the rest printed tracebacks.
    done = subprocess.run([str(EXE), "import", str(path)], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert expected in done.stderr
    assert max(len(line) for line in done.stderr.splitlines()) <= 1200
    assert db_counts(folder) == before
    with sqlite3.connect(folder / "instance" / "directory.sqlite3") as conn:
        summary = json.loads(conn.execute("SELECT data FROM teams WHERE slug = 'payroll'").fetchone()[0])["summary"]
    assert summary == team_doc()["summary"]


def test_the_console_script_exports_a_stored_lone_surrogate_with_a_warning(
        instance: tuple[dict[str, str], Path]) -> None:
    env, folder = instance
    with sqlite3.connect(folder / "instance" / "directory.sqlite3") as conn:
        data = json.loads(conn.execute("SELECT data FROM teams WHERE slug = 'payroll'").fetchone()[0])
        original = data["summary"]
        data["summary"] = "Pay \udc80 slips"
        conn.execute("UPDATE teams SET data = ? WHERE slug = 'payroll'", (json.dumps(data),))
    try:
        for fmt in ("json", "yaml"):
            done = subprocess.run([str(EXE), "export", "--format", fmt], env=env, capture_output=True,
                                  cwd=ROOT, timeout=60)
            assert done.returncode == 0, done.stderr.decode()
            exported = yaml.safe_load(done.stdout.decode("utf-8"))
            assert exported[0]["summary"] == "Pay \ufffd slips"
            assert b"Warning: team payroll: summary:" in done.stderr
    finally:
        data["summary"] = original
        with sqlite3.connect(folder / "instance" / "directory.sqlite3") as conn:
            conn.execute("UPDATE teams SET data = ? WHERE slug = 'payroll'", (json.dumps(data),))


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_files_with_a_byte_order_mark_are_decoded(cli_app: Any, tmp_path: Path, encoding: str, suffix: str) -> None:
    teams = [team_doc(slug="cafe", name="Caf\u00e9 \u2615", contacts=[])]
    body = json.dumps(teams, ensure_ascii=False) if suffix == "json" else yaml.safe_dump(teams, allow_unicode=True)
    data = body.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / f"teams.{suffix}"
    path.write_bytes(data)
    result = cli_app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    with cli_app.app_context():
        assert get_session().scalar(select(Team.name).where(Team.slug == "cafe")) == "Caf\u00e9 \u2615"


def test_utf16_without_a_byte_order_mark_is_named(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "teams.json"
    path.write_bytes(json.dumps([{"name": "Plain"}]).encode("utf-16-le"))
    assert "contains NUL characters (UTF-16 without a byte-order mark?); save it as UTF-8" in refused(cli_app, path)


def test_latin1_on_standard_input_is_named_by_line_and_column(cli_app: Any) -> None:
    message = refused(cli_app, None, '[{"name": "ok"},\n {"name": "Caf\u00e9"}]'.encode("latin-1"))
    assert "<stdin>: not UTF-8 text (byte 0xe9 at line 2, column 15); save it as UTF-8" in message


def test_an_odd_length_utf16_file_is_named(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_bytes("- name: x\n".encode("utf-16") + b"\x00")
    assert "teams.yaml: not UTF-16 text" in refused(cli_app, path)


@pytest.mark.parametrize(("content", "expected"), [
    ("", "teams.yaml: the file is empty; it must hold a list of teams"),
    ("# only a comment\n", "teams.yaml: the file is empty; it must hold a list of teams"),
    ("- name: ok\n- name: \"a\x01b\"\n", "teams.yaml: line 2, column 11: the character U+0001 is not allowed in YAML"),
    ("- !!python/object/apply:os.system [echo hacked]\n",
     "teams.yaml: not valid YAML: line 1, column 3: could not determine a constructor for the tag"),
    ("---\n- name: a\n---\n- name: b\n", "teams.yaml: not valid YAML: line 3, column 1: expected a single document"),
])
def test_files_that_are_not_one_yaml_list_say_why_in_one_line(
        cli_app: Any, tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(content)
    message = refused(cli_app, path)
    assert expected in message
    assert len(message.strip().splitlines()) == 1


# --------------------------------------------------------------------------- YAML aliases and nesting


def test_aliases_that_repeat_a_block_a_sensible_number_of_times_are_accepted(cli_app: Any, tmp_path: Path) -> None:
    """Shared hours written once and referred to by 300 teams: the reason YAML has anchors."""
    head = ("- name: Team 0\n  timezone: Europe/London\n  hours: &office\n    weekly:\n"
            + "".join(f"      {day}: [[\"09:00\", \"17:30\"]]\n" for day in ("mon", "tue", "wed", "thu", "fri"))
            + "    closures:\n      - {start: 2026-12-24, end: 2026-12-26, reason: Office closed}\n")
    rest = "".join(f"- name: Team {n}\n  timezone: Europe/London\n  hours: *office\n" for n in range(1, 300))
    path = tmp_path / "shared.yaml"
    path.write_text(head + rest)
    result = cli_app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "300 created" in result.output
    with cli_app.app_context():
        hours = get_session().scalar(select(Team.data).where(Team.slug == "team-299"))["hours"]
    assert hours["weekly"]["fri"] == [["09:00", "17:30"]]
    assert hours["closures"] == [{"start": "2026-12-24", "end": "2026-12-26", "reason": "Office closed"}]


def test_billion_laughs_is_refused_before_it_expands(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    message = refused(cli_app, path)
    assert "laughs.yaml: line " in message
    assert "write the repeated blocks out" in message
    assert len(message) < 1000


def test_a_merge_key_alias_is_fine(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("- &base\n  name: Base\n  department: Finance\n  timezone: Europe/London\n"
                    "- <<: *base\n  name: Derived\n")
    result = cli_app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    with cli_app.app_context():
        assert get_session().scalar(select(Team.department).where(Team.slug == "derived")) == "Finance"


def test_a_recursive_alias_is_refused(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("- &me\n  name: Loop\n  tags: *me\n")
    assert "loop.yaml: line 1, column 3: the block anchored here contains an alias (*name) to itself" in refused(cli_app, path)


def test_json_nested_beyond_the_bound_but_within_the_parser_is_refused_by_field(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    deep = json.dumps(team_doc(slug="deep", name="Deep", contacts=[], hours=None))[:-1] + ', "x": ' + \
        "[" * 300 + "]" * 300 + "}"
    path.write_text("[" + deep + ", " + json.dumps({"name": "Also bad", "timezone": "Mars/Olympus"}) + "]")
    message = refused(cli_app, path)
    assert "record 0 (deep): x." in message and "nested more than 64 levels deep" in message
    assert "record 1 (also-bad): timezone: unknown time zone 'Mars/Olympus'" in message


# --------------------------------------------------------------------------- dates, numbers, characters


def test_unquoted_yaml_dates_are_read_as_the_iso_text_of_the_contract(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text("""
- name: Dated
  timezone: Europe/London
  last_reviewed: 2026-11-01
  hours:
    weekly: {mon: [["09:00", "17:00"]]}
    closures:
      - {start: 2026-12-24, end: 2026-12-26, reason: Office closed}
      - {start: 2026-11-27 13:00:00, end: 2026-11-27T17:30:00, reason: Team training}
""")
    result = cli_app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    with cli_app.app_context():
        data = get_session().scalar(select(Team.data).where(Team.slug == "dated"))
    assert data["last_reviewed"] == "2026-11-01"
    assert data["hours"]["closures"] == [
        {"start": "2026-12-24", "end": "2026-12-26", "reason": "Office closed"},
        {"start": "2026-11-27T13:00", "end": "2026-11-27T17:30", "reason": "Team training"},
    ]
    exported = tmp_path / "export.yaml"
    runner = cli_app.test_cli_runner()
    assert runner.invoke(args=["export", "--format", "yaml", "-o", str(exported)]).exit_code == 0
    assert "0 created, 0 updated, 2 unchanged" in runner.invoke(args=["import", str(exported)]).output


def test_yaml_timestamps_the_contract_has_no_spelling_for_are_quoted_as_written(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text("""
- name: Odd dates
  last_reviewed: 2026-02-30
  hours:
    closures:
      - {start: 2026-11-27T13:00:30, end: 2026-11-27T17:30:00Z}
""")
    message = refused(cli_app, path)
    assert "record 0 (odd-dates): last_reviewed: " in message
    assert "'2026-11-27T13:00:30' is not a date" in message
    assert "'2026-11-27T17:30:00Z' is not a date" in message
    assert "datetime" not in message


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_an_integer_too_long_to_convert_is_a_field_problem(cli_app: Any, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big.{suffix}"
    path.write_text('[{"name": "Big", "response_time": {"value": ' + "9" * 5000 + ', "unit": "hours"}}]')
    assert "record 0 (big): response_time.value: must be a number" in refused(cli_app, path)


def test_unstorable_characters_are_named_by_record_and_field_with_every_other_problem(
        cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "chars.json"
    path.write_text(json.dumps([
        team_doc(summary="This valid change must not land."),
        {"name": "Reasons", "hours": {"closures": [{"start": "2026-12-24", "end": "2026-12-24",
                                                    "reason": "Closed \ud800"}]}},
        {"name": "Nul", "summary": "a\u0000b", "x\udcff": 1},
        {"name": "Zone", "timezone": "Nowhere/Else"},
    ]))
    message = refused(cli_app, path)
    lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert lines == [
        "  - record 1 (reasons): hours.closures.0.reason: contains a lone surrogate (\\ud800) at position 7, "
        "which is not a character; write the character itself",
        "  - record 2 (nul): summary: contains the NUL character (\\u0000) at position 1; remove it",
        "  - record 2 (nul): x\\udcff: the field name contains a lone surrogate (\\udcff) at position 1, "
        "which is not a character; write the character itself",
        "  - record 3 (zone): timezone: unknown time zone 'Nowhere/Else'",
    ]


def test_a_huge_value_is_quoted_shortened_on_one_line(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps([{"name": "Huge", "hours": {"weekly": {"mon": [["9\n" * 100_000, "17:00"]]}}}]))
    message = refused(cli_app, path)
    problem = next(line for line in message.splitlines() if "record 0 (huge): hours.weekly.mon" in line)
    assert len(problem) < 1100
    assert "more characters)" in problem


# --------------------------------------------------------------------------- export of odd stored data


def test_export_replaces_a_stored_lone_surrogate_warns_and_imports_back(cli_app: Any, tmp_path: Path) -> None:
    with cli_app.app_context():
        session = get_session()
        data = session.scalar(select(Team.data).where(Team.slug == "payroll"))
        data["hours"]["closures"][0]["reason"] = "Closed \udc80"
        data["tags"].append("\udc81")
        session.execute(text("UPDATE teams SET data = :data WHERE slug = 'payroll'"), {"data": json.dumps(data)})
        session.commit()
    runner = cli_app.test_cli_runner()
    for fmt in ("json", "yaml"):
        out = tmp_path / f"export.{fmt}"
        result = runner.invoke(args=["export", "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "Warning: team payroll: hours.closures.0.reason:" in result.stderr
        assert "Warning: team payroll: tags.3:" in result.stderr
        exported = yaml.safe_load(out.read_text(encoding="utf-8"))
        assert exported[0]["hours"]["closures"][0]["reason"] == "Closed \ufffd"
        assert exported[0]["tags"][3] == "\ufffd"
    first = runner.invoke(args=["import", str(tmp_path / "export.json")])
    assert "0 created, 1 updated" in first.output
    second = runner.invoke(args=["import", str(tmp_path / "export.yaml")])
    assert "0 created, 0 updated, 1 unchanged" in second.output
    with cli_app.app_context():
        stored = get_session().scalar(select(Team.data).where(Team.slug == "payroll"))
    assert stored["hours"]["closures"][0]["reason"] == "Closed \ufffd"


def test_a_huge_slug_is_shortened_in_every_problem_line_of_its_record(cli_app: Any, tmp_path: Path) -> None:
    path = tmp_path / "slug.json"
    services = [{"name": "", "turnaround": {"value": -1, "unit": "hours"}}] * 200
    path.write_text(json.dumps([{"slug": "s" * 1_000_000, "name": "Long", "services": services}]))
    message = refused(cli_app, path)
    lines = message.splitlines()
    assert len(lines) > 400
    assert all(len(line) < 300 for line in lines)
    assert f"  - record 0 ({'s' * 80}…): services.199.turnaround.value: " in message


def test_export_leaves_out_unreadable_teams_with_a_warning_and_status_1(cli_app: Any, tmp_path: Path) -> None:
    runner = cli_app.test_cli_runner()
    others = [team_doc(slug=slug, name=slug.title(), contacts=[]) for slug in ("broken", "empty", "listed", "bytes")]
    assert runner.invoke(args=["import", "-"], input=json.dumps(others)).exit_code == 0
    with cli_app.app_context():
        session = get_session()
        for slug, value in (("broken", "'not json'"), ("empty", "'null'"), ("listed", "'[1, 2]'"),
                            ("bytes", "CAST(X'7B226E616D65223A2022FF227D' AS TEXT)")):  # invalid UTF-8
            session.execute(text(f"UPDATE teams SET data = {value} WHERE slug = :slug"), {"slug": slug})
        session.commit()
    out = tmp_path / "export.json"
    result = runner.invoke(args=["export", "-o", str(out)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Exported 1 team(s)" in result.stderr
    assert [team["slug"] for team in json.loads(out.read_text())] == ["payroll"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: team broken: its stored data cannot be read (Expecting value: line 1 column 1 (char 0)); left out",
        "Warning: team bytes: its stored data cannot be read (Could not decode to UTF-8 column 'data' with text "
        "'{\"name\": \"\ufffd\"}'); left out",
        "Warning: team empty: its stored data cannot be read (not an object but NoneType); left out",
        "Warning: team listed: its stored data cannot be read (not an object but list); left out",
    ]
