"""The app object: nothing a request sets outlives it, however the app is served or tested.

Flask reuses an application context that is already pushed (by a CLI command, by a test's
`with app.app_context():`), and `g` lives on that context: the acting user or token, the CSRF
token and the signed-in user would then carry over from one request to the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask, current_app, g, has_app_context, request
from flask.testing import FlaskClient

from tests.conftest import make_app


def test_g_set_in_one_request_is_gone_in_the_next_inside_a_pushed_app_context(tmp_path: Path) -> None:
    app = make_app(tmp_path)

    @app.route("/probe")
    def probe() -> dict[str, Any]:
        seen = {"probe": g.get("probe"), "outer": g.get("outer")}
        g.probe = request.args["set"]
        return seen

    client = app.test_client()
    with app.app_context():
        g.outer = "set by the command"
        assert client.get("/probe?set=first").json == {"probe": None, "outer": None}
        assert client.get("/probe?set=second").json == {"probe": None, "outer": None}
        assert "probe" not in g and g.outer == "set by the command"


def test_a_token_inside_a_pushed_app_context_authorises_its_own_request_only(
        app: Flask, client: FlaskClient, make_team: Any, auth_headers: dict[str, str]) -> None:
    make_team()
    with app.app_context():
        etag = client.get("/api/v1/teams/payroll").headers["ETag"]
        anonymous = client.patch("/api/v1/teams/payroll", json={"summary": "Anonymous."}, headers={"If-Match": etag})
        assert anonymous.status_code == 401
        written = client.patch("/api/v1/teams/payroll", json={"summary": "By the token."},
                               headers={**auth_headers, "If-Match": etag})
        assert written.status_code == 200, written.json
        etag = written.headers["ETag"]
        after = client.patch("/api/v1/teams/payroll", json={"summary": "Anonymous again."},
                             headers={"If-Match": etag})
        assert after.status_code == 401
        assert "/teams/payroll/edit" not in client.get("/teams/payroll").get_data(as_text=True)
        authors = [r["author"] for r in client.get("/api/v1/teams/payroll/revisions").json]
    assert authors == ["token:tests", "admin@example.com"]


def test_serve_hands_gunicorn_no_app_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from directory import cli

    for name in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    seen: dict[str, Any] = {}

    def gunicorn(host: str, port: int, workers: int, service: str | None = None) -> None:
        seen["context"] = has_app_context()
        seen["app"] = current_app.name if has_app_context() else None
        seen["service"] = service

    monkeypatch.setattr(cli, "serve_with_gunicorn", gunicorn)
    result = CliRunner().invoke(cli.main, ["serve", "--port", "5999"],
                                env={"DIRECTORY_INSTANCE": str(tmp_path / "instance"), "SEARCH_SEMANTIC": "0"})
    assert result.exit_code == 0, result.output
    assert seen == {"context": False, "app": None, "service": None}  # words alone: no search service


def test_serve_starts_the_search_service_and_tells_gunicorn_its_socket(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from directory import cli, search_service

    for name in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    started: list[str] = []

    class Supervisor:
        def __init__(self, instance: str) -> None:
            self.instance = instance

        def start(self) -> str:
            started.append(self.instance)
            return "/run/meaning.sock"

    handed: list[str | None] = []
    monkeypatch.setattr(search_service, "Supervisor", Supervisor)
    monkeypatch.setattr(cli, "serve_with_gunicorn", lambda host, port, workers, service=None: handed.append(service))
    instance = tmp_path / "instance"
    result = CliRunner().invoke(cli.main, ["serve", "--port", "5999"],
                                env={"DIRECTORY_INSTANCE": str(instance), "SEARCH_SEMANTIC": "auto"})
    assert result.exit_code == 0, result.output
    assert started == [str(instance)] and handed == ["/run/meaning.sock"]
