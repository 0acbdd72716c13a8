"""The database: one engine per app, one session per request or command, migrations by Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from directory.errors import StaleVersion

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: SQLite waits on locks and enforces foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class DirectorySession(Session):
    """A session whose writes that lose a race are refused as the domain's StaleVersion.

    A team's version column makes the database refuse an update of a team someone else saved
    since it was read (SQLAlchemy's StaleDataError). Every flush, a service's or a commit's, goes
    through here, so services, views, the API and the CLI only ever meet StaleVersion.
    """

    def flush(self, objects: Any = None) -> None:
        try:
            super().flush(objects)
        except StaleDataError as exc:
            raise StaleVersion("The team was changed by someone else at the same moment; reload and retry.") from exc


class Database:
    """Binds an engine and a session factory to the app (Flask's `init_app` pattern)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] | None = None

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        app.config["DATABASE_URL"] = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, class_=DirectorySession, expire_on_commit=False)
        app.extensions["directory_db"] = self
        app.teardown_appcontext(_close_session)


def get_db() -> Database:
    from flask import current_app  # here, not above: the search service uses this module without Flask

    return current_app.extensions["directory_db"]


def get_session() -> Session:
    """The session of the current request or command, created on first use."""
    from flask import g

    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


@contextmanager
def own_transaction() -> Iterator[Session]:
    """A session of its own, committed as the block ends (rolled back if it raises).

    For bookkeeping that must be kept whatever becomes of the request's own work, such as a
    token's last use or the account made at a first sign-in through the proxy: it never commits
    the request's session, whose one commit stays with the view that writes.
    """
    with get_db().sessionmaker.begin() as session:
        yield session


def _close_session(_exc: BaseException | None) -> None:
    from flask import g

    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("teams")
