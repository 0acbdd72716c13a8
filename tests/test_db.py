"""directory.db: the engine per backend, one session per app context, and Alembic's configuration."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from directory.db import Database, alembic_config, get_db, get_session, is_initialised, make_engine, upgrade


def test_sqlite_connections_enforce_foreign_keys_and_wait_for_locks(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
            connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            connection.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                                    "parent_id INTEGER NOT NULL REFERENCES parent(id))"))
            with pytest.raises(IntegrityError):
                connection.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 42)"))
    finally:
        engine.dispose()


def test_a_sqlite_engine_may_be_used_from_another_thread(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    found: list[int] = []
    with engine.connect() as connection:
        worker = threading.Thread(target=lambda: found.append(connection.execute(text("SELECT 7")).scalar_one()))
        worker.start()
        worker.join()
    engine.dispose()
    assert found == [7]


@pytest.mark.parametrize(("given", "used"), [
    ("postgres://dir@db.example/directory", "postgresql+psycopg://dir@db.example/directory"),
    ("postgresql://dir@db.example/directory", "postgresql+psycopg://dir@db.example/directory"),
    ("postgresql+psycopg://dir@db.example/directory", "postgresql+psycopg://dir@db.example/directory"),
])
def test_postgres_urls_of_every_spelling_use_psycopg_3(given: str, used: str) -> None:
    app = Flask(__name__)
    app.config["DATABASE_URL"] = given
    database = Database()
    database.init_app(app)  # builds the engine; connects to nothing yet
    assert app.config["DATABASE_URL"] == used
    assert database.engine is not None and database.engine.url.render_as_string() == used
    assert database.engine.pool._pre_ping  # a server restart costs a retry, not an error page
    assert app.extensions["directory_db"] is database


def test_one_session_per_app_context_closed_when_it_ends(app: Flask) -> None:
    with app.app_context():
        assert get_db() is app.extensions["directory_db"]
        session = get_session()
        assert get_session() is session
        session.execute(text("SELECT 1"))
        assert session.in_transaction()
    assert not session.in_transaction(), "the context's end closed the session"
    with app.app_context():
        assert get_session() is not session


def test_alembic_reads_a_url_with_percent_escapes_unchanged() -> None:
    url = "postgresql+psycopg://dir:p%40ss%25word@db.example/directory"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url
    assert alembic_config(url).get_main_option("script_location").endswith("migrations")


def test_upgrade_creates_the_schema_once_and_again_changes_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        assert not is_initialised(engine)
        upgrade(engine)
        assert is_initialised(engine)
        with engine.connect() as connection:
            head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    finally:
        engine.dispose()
