"""Data that breaks the directory (issue 10): refused at the door with a 422 naming the field, on
SQLite and PostgreSQL alike, and never a 5xx; what is refused changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import accounts
from directory.db import get_session
from tests.conftest import make_app, team_doc

SURROGATE = "\ud800"
NUL = "\x00"


@pytest.fixture
def backend_app(storage_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on each backend, answering errors as a server would (no exception propagation)."""
    app = make_app(tmp_path, DATABASE_URL=storage_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield app
    app.extensions["directory_db"].engine.dispose()


@pytest.fixture
def writer(backend_app: Flask) -> dict[str, str]:
    with backend_app.app_context():
        session = get_session()
        _token, plain = accounts.create_token(session, "tests", "write")
        session.commit()
    return {"Authorization": f"Bearer {plain}", "Content-Type": "application/json"}


def send(client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    """A JSON request whose body may hold text `json.dumps` escapes faithfully (lone surrogates, NUL)."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.open(path, method=method, data=data, headers=headers)


def create(client: FlaskClient, headers: dict[str, str], **overrides: Any) -> Any:
    response = send(client, "POST", "/api/v1/teams", team_doc(**overrides), headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response


def team_count(client: FlaskClient) -> int:
    return len(client.get("/api/v1/teams").json)


def closures_with(reason: str) -> dict[str, Any]:
    hours = team_doc()["hours"]
    return {**hours, "closures": [{"start": "2026-12-24", "end": "2026-12-26", "reason": reason}]}


# Each entry: (field path the error must name, top-level overrides carrying the bad text).
UNSTORABLE = [
    ("name", lambda bad: {"name": f"Pay{bad}roll"}),
    ("summary", lambda bad: {"summary": f"x{bad}"}),
    ("description", lambda bad: {"description": bad}),
    ("department", lambda bad: {"department": f"Fin{bad}ance"}),
    ("location", lambda bad: {"location": bad + "HQ"}),
    ("tags.1", lambda bad: {"tags": ["pay", f"t{bad}"]}),
    ("escalation", lambda bad: {"escalation": f"Ask{bad}"}),
    ("slug", lambda bad: {"slug": f"pay{bad}roll"}),
    ("timezone", lambda bad: {"timezone": f"Europe/London{bad}"}),
    ("hours.closures.0.reason", lambda bad: {"hours": closures_with(f"Closed{bad}")}),
    ("contacts.0.label", lambda bad: {"contacts": [{"kind": "email", "value": "p@example.com", "label": bad}]}),
    ("contacts.0.value", lambda bad: {"contacts": [{"kind": "email", "value": f"p{bad}@example.com"}]}),
    ("services.0.name", lambda bad: {"services": [{"name": f"Pay{bad}slips"}]}),
    ("booking.instructions", lambda bad: {"booking": {"method": "form", "instructions": bad}}),
    ("owners.0", lambda bad: {"owners": [f"alice{bad}@example.com"]}),
    ("auto_reply.subject", lambda bad: {"auto_reply": {"subject": f"Re{bad}"}}),
    ("hours", lambda bad: {"hours": {**team_doc()["hours"], f"note{bad}": "a key, not a value"}}),
]


@pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["lone-surrogate", "nul"])
def test_unstorable_text_is_refused_on_every_write_naming_the_field(
        backend_app: Flask, writer: dict[str, str], bad: str) -> None:
    client = backend_app.test_client()
    create(client, writer)
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    for path, overrides in UNSTORABLE:
        doc = team_doc(**overrides(bad))
        posted = send(client, "POST", "/api/v1/teams", {**doc, "slug": doc["slug"] + "-2"}
                      if path != "slug" else doc, writer)
        put = send(client, "PUT", "/api/v1/teams/payroll", doc, {**writer, "If-Match": etag})
        patch = send(client, "PATCH", "/api/v1/teams/payroll", overrides(bad), {**writer, "If-Match": etag})
        for method, response in (("POST", posted), ("PUT", put), ("PATCH", patch)):
            assert response.status_code == 422, (method, path, response.get_data(as_text=True)[:300])
            body = response.json
            assert body["code"] == "validation_error" and body["status"] == 422
            assert path in body["errors"], (method, path, body["errors"])
            assert ("NUL" if bad == NUL else "lone surrogate") in " ".join(body["errors"][path])
    assert team_count(client) == 1
    assert client.get("/api/v1/teams/payroll").json["version"] == 1, "a refused write changed the team"


def test_every_read_and_the_export_work_after_hostile_writes(backend_app: Flask, writer: dict[str, str]) -> None:
    """The reported damage: one accepted surrogate broke these for good."""
    client = backend_app.test_client()
    create(client, writer)
    for bad in (SURROGATE, NUL):
        send(client, "POST", "/api/v1/teams", team_doc(slug="broken", summary=f"x{bad}", department=f"D{bad}"),
             writer)
    for path in ("/api/v1/teams/payroll", "/teams/payroll", "/teams/payroll/history", "/api/v1/teams",
                 "/api/v1/teams/payroll/revisions", "/api/v1/search?q=payroll", "/api/v1/departments",
                 "/departments", "/search?q=payroll"):
        assert client.get(path).status_code == 200, path
    result = backend_app.test_cli_runner().invoke(args=["export"])
    assert result.exit_code == 0, result.output
    assert [t["slug"] for t in json.loads(result.output)] == ["payroll"]


NUL_QUERIES = [
    ("/api/v1/teams?department=%00", "department"),
    ("/api/v1/teams?tag=pay%00", "tag"),
    ("/api/v1/teams?q=%00", "q"),
    ("/api/v1/search?q=pay%00roll", "q"),
    ("/api/v1/search?q=pay&department=%00", "department.0"),
    ("/api/v1/search/suggest?q=%00", "q"),
    ("/api/v1/teams/payroll/status?tz=Europe/London%00", "tz"),
    ("/api/v1/auto-reply?to=payroll%00@example.com", "to"),
]
NUL_SLUGS = [
    "/api/v1/teams/pay%00roll", "/api/v1/teams/pay%00roll/revisions", "/api/v1/teams/pay%00roll/status",
    "/teams/pay%00roll", "/teams/pay%00roll/history", "/api/v1/departments/%00/teams", "/departments/%00",
]


def test_nul_in_query_arguments_is_refused_and_in_a_slug_names_no_team(backend_app: Flask,
                                                                         writer: dict[str, str]) -> None:
    """Anonymous reads with NUL: PostgreSQL refused to compare them and the reads answered 500."""
    create(backend_app.test_client(), writer)
    client = backend_app.test_client()
    for path, field in NUL_QUERIES:
        response = client.get(path)
        assert response.status_code == 422, (path, response.get_data(as_text=True)[:300])
        assert field in response.json["errors"] and "NUL" in response.json["message"], path
    for path in NUL_SLUGS:
        assert client.get(path).status_code == 404, path
    assert client.get("/api/v1/teams?department=Finance").status_code == 200


HUGE = [
    ("1" + "0" * 400, "at most 10000"), ("-" + "9" * 400, "greater than 0"), ("1e400", "must be a number"),
    ("123456789012345678901234567890", "at most 10000"),
]
DEEP = [
    "[" * 50_000 + "]" * 50_000,
    '{"name": "Deep", "hours": ' + "[" * 50_000 + "]" * 50_000 + "}",
    '{"name": "Deep", "hours": {"weekly": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}}",
    '{"name": "Deep", "tags": ' + "[" * 100 + "]" * 100 + "}",
]


def test_durations_beyond_float_range_are_refused(client: FlaskClient, auth_headers: dict[str, str]) -> None:
    """Validation only (no backend involved): it used to fail converting the integer to a float."""
    headers = {**auth_headers, "Content-Type": "application/json"}
    for value, message in HUGE:
        for field, body in (
            ("response_time.value", '{"name": "Huge", "response_time": {"value": VALUE, "unit": "hours"}}'),
            ("services.0.turnaround.value",
             '{"name": "Huge", "services": [{"name": "S", "turnaround": {"value": VALUE, "unit": "days"}}]}'),
        ):
            response = send(client, "POST", "/api/v1/teams", body.replace("VALUE", value), headers)
            assert response.status_code == 422, response.get_data(as_text=True)[:300]
            assert message in " ".join(response.json["errors"][field]), (value, field)
    assert team_count(client) == 0


def test_deeply_nested_bodies_are_refused_with_400(client: FlaskClient, make_team: Any,
                                                   auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    headers = {**auth_headers, "Content-Type": "application/json", "If-Match": etag}
    for body in DEEP:
        for method, path in (("POST", "/api/v1/teams"), ("PUT", "/api/v1/teams/payroll"),
                             ("PATCH", "/api/v1/teams/payroll")):
            response = send(client, method, path, body, headers)
            assert response.status_code == 400, (method, body[:40], response.get_data(as_text=True)[:300])
            assert response.json["code"] == "bad_request" and "nested too deeply" in response.json["message"]
    assert team_count(client) == 1
    assert client.get("/api/v1/teams/payroll").json["version"] == 1


def _create_at_once(app: Flask, headers: dict[str, str], body: dict[str, Any], n: int = 20) -> list[Any]:
    """`n` clients send the same create at the same moment; their (status, body) answers."""
    answers: list[tuple[int, Any]] = []
    start = threading.Barrier(n)

    def create_one() -> None:
        client = app.test_client()
        start.wait()
        response = send(client, "POST", "/api/v1/teams", body, headers)
        answers.append((response.status_code, response.json))

    threads = [threading.Thread(target=create_one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_creates_of_one_slug_give_one_team_and_conflicts(backend_app: Flask,
                                                                      writer: dict[str, str]) -> None:
    """Twenty clients create "payroll" at once: one 201, the rest 409 (the slug is taken), never a 500."""
    answers = _create_at_once(backend_app, writer, {"name": "Payroll", "slug": "payroll"})
    assert sorted(code for code, _body in answers) == [201] + [409] * 19, answers
    for code, body in answers:
        if code == 409:
            assert body["code"] == "conflict" and "slug" in body["errors"], body
    client = backend_app.test_client()
    assert [t["slug"] for t in client.get("/api/v1/teams").json] == ["payroll"]
    assert len(client.get("/api/v1/teams/payroll/revisions").json) == 1


def test_concurrent_creates_of_one_name_never_fail(backend_app: Flask, writer: dict[str, str]) -> None:
    """Without a slug each create takes the next free one (payroll, payroll-2, ...) or, when another
    took it at the same moment, answers 409; every created team exists once, with its revision."""
    answers = _create_at_once(backend_app, writer, {"name": "Payroll"})
    assert {code for code, _body in answers} <= {201, 409}, answers
    created = sorted(body["slug"] for code, body in answers if code == 201)
    assert created and len(set(created)) == len(created)
    assert all(body["code"] == "conflict" for code, body in answers if code == 409)
    client = backend_app.test_client()
    assert sorted(t["slug"] for t in client.get("/api/v1/teams").json) == created
