"""Shared fixtures: an app on a temporary instance folder (real SQLite or PostgreSQL, real index)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import create_app, services
from directory.db import get_db, get_session, upgrade

PG_HOST, PG_PORT = "127.0.0.1", 5432
ROOT = Path(__file__).resolve().parent.parent


def postgres_available() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL must answer at 127.0.0.1:5432 under CI")
    pytest.skip("no PostgreSQL server answers at 127.0.0.1:5432")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the local server, dropped afterwards."""
    require_postgres()
    import psycopg

    name = f"directory_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(tmp_path: Path, **config: Any) -> Flask:
    settings = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'directory.sqlite3'}",
        "INDEX_DIR": str(tmp_path / "index"),
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "WTF_CSRF_ENABLED": True,
        # Words only, unless a test asks for meaning (tests/search/test_semantic.py and the sparse
        # relevance test): embedding every team written would slow the whole suite for nothing.
        "SEARCH_SEMANTIC": False,
    }
    settings.update(config)
    app = create_app(settings)
    with app.app_context():
        upgrade(get_db().engine)
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends, for the tests that must hold on each."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'directory.sqlite3'}"


@pytest.fixture
def db(tmp_path: Path, storage_url: str) -> Iterator[Any]:
    """A session on each backend, inside an app context, for service-level tests."""
    from directory.db import get_session

    app = make_app(tmp_path, DATABASE_URL=storage_url)
    with app.app_context():
        session = get_session()
        yield session
        session.close()
    app.extensions["directory_db"].engine.dispose()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path)
    yield app
    get_db_engine(app).dispose()


def get_db_engine(app: Flask) -> Any:
    return app.extensions["directory_db"].engine


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    with app.app_context():
        yield get_session()


ADMIN = services.Actor(name="admin@example.com", email="admin@example.com", is_admin=True)


def team_doc(**overrides: Any) -> dict[str, Any]:
    """A complete, valid §1 team; overrides replace top-level fields."""
    doc: dict[str, Any] = {
        "slug": "payroll",
        "name": "Payroll",
        "summary": "Salaries, payslips, tax codes and expense reimbursement.",
        "description": "We pay everyone. **Payslips** on the 25th.",
        "department": "Finance",
        "tags": ["pay", "expenses", "tax"],
        "location": "London HQ, floor 3",
        "timezone": "Europe/London",
        "hours": {
            "weekly": {
                "mon": [["09:00", "12:30"], ["13:30", "17:30"]],
                "tue": [["09:00", "17:30"]], "wed": [["09:00", "17:30"]],
                "thu": [["09:00", "17:30"]], "fri": [["09:00", "16:00"]],
                "sat": [], "sun": [],
            },
            "holidays": {"country": "GB", "subdivision": "ENG"},
            "closures": [
                {"start": "2026-12-24", "end": "2026-12-26", "reason": "Office closed"},
                {"start": "2026-11-27T13:00", "end": "2026-11-27T17:30", "reason": "Team training"},
            ],
        },
        "response_time": {"value": 4, "unit": "business_hours"},
        "booking": {"method": "form", "url": "https://intranet.example/forms/payroll",
                    "instructions": "Use the form; attach your payslip."},
        "contacts": [
            {"kind": "email", "value": "payroll@example.com", "label": "Team mailbox"},
            {"kind": "chat", "value": "#payroll-help"},
        ],
        "services": [
            {"name": "Payslip corrections", "description": "Wrong amount, missing overtime.",
             "turnaround": {"value": 3, "unit": "business_days"}, "booking": None},
        ],
        "escalation": "Ask for the Payroll manager via the team mailbox, subject 'Escalation'.",
        "owners": ["alice@example.com"],
        "last_reviewed": "2026-11-01",
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def make_team(app: Flask) -> Callable[..., Any]:
    """Create a team through the service layer (as every writer does); returns its document."""
    from directory.schemas import load_team

    def make(**overrides: Any) -> dict[str, Any]:
        with app.app_context():
            session = get_session()
            team = services.create_team(session, load_team(team_doc(**overrides)), ADMIN)
            session.commit()
            return services.team_document(team)

    return make


@pytest.fixture
def write_token(app: Flask) -> str:
    from directory import accounts

    with app.app_context():
        session = get_session()
        _token, plain = accounts.create_token(session, "tests", "write")
        session.commit()
        return plain


@pytest.fixture
def auth_headers(write_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {write_token}"}
