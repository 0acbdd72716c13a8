"""The `directory` command: set up, load, move and serve the directory (a Flask CLI group)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from directory import accounts, services
from directory.db import get_db, get_session, is_initialised, upgrade
from directory.errors import DirectoryError, InvalidTeam, NotFound
from directory.models import Team
from directory.search_sync import get_search

CLI_ACTOR = services.Actor(name="cli", is_admin=True)


def _create_app() -> Flask:
    from directory import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """The directory: who helps with what, when they are open, and when you will hear back."""


def register(app: Flask) -> None:
    for command in (init, seed, import_command, export, reindex, create_token, revoke_token, create_admin, serve):
        app.cli.add_command(command)


@click.command("init")
@with_appcontext
def init() -> None:
    """Create the database schema, or upgrade it to the newest version."""
    upgrade(get_db().engine)
    click.echo("Database ready: " + get_db().engine.url.render_as_string(hide_password=True))


def _ensure_schema() -> None:
    engine = get_db().engine
    if not is_initialised(engine):
        upgrade(engine)


def read_document(text: str, source: str) -> Any:
    """JSON or YAML, whichever the text is (YAML is a superset of JSON, but JSON errors read better)."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")) and not source.endswith((".yaml", ".yml")):
        return json.loads(text)
    return yaml.safe_load(text)


def load_file(path: str) -> list[dict[str, Any]]:
    """Read and validate every record of a JSON or YAML team list, all problems at once."""
    from api.schemas import load_teams

    if path == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        try:
            text, source = Path(path).read_text(encoding="utf-8"), path
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = read_document(text, source)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{source} is neither valid JSON nor YAML: {exc}") from exc
    records, problems = load_teams(document)
    if problems:
        _refuse(problems)
    return records


def _refuse(problems: list[str]) -> None:
    click.echo(f"Nothing was imported: {len(problems)} problem(s).", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    raise SystemExit(1)


def run_import(records: list[dict[str, Any]], label: str) -> services.ImportReport:
    session = get_session()
    try:
        with click.progressbar(length=len(records), label=label, file=sys.stderr) as bar:
            report = services.import_teams(session, records, CLI_ACTOR, progress=bar.update)
        session.commit()
    except DirectoryError as exc:
        session.rollback()
        _refuse([exc.message] + [f"{k}: {', '.join(v)}" for k, v in exc.errors.items()])
    return report


@click.command("seed")
@click.option("--if-empty", is_flag=True, help="Only seed a directory that has no teams yet.")
@with_appcontext
def seed(if_empty: bool) -> None:
    """Load the demo organisation from seeds/ (idempotent: re-running changes nothing)."""
    _ensure_schema()
    session = get_session()
    if if_empty and session.scalar(select(Team.id).limit(1)) is not None:
        click.echo("The directory already has teams; not seeding.")
        return
    seeds = Path(current_app.config["SEEDS_DIR"])
    records = load_file(str(seeds / "teams.yaml"))
    report = run_import(records, "Seeding teams")
    users_file = seeds / "users.yaml"
    made = 0
    if users_file.exists():
        for person in yaml.safe_load(users_file.read_text()) or []:
            if accounts.find_user(session, person["email"]) is None:
                accounts.create_user(session, person["email"], person.get("name", ""),
                                     current_app.config["DIRECTORY_DEMO_PASSWORD"],
                                     is_admin=person.get("role") == "admin")
                made += 1
        session.commit()
    click.echo(f"Seeded: {len(report.created)} created, {len(report.updated)} updated, "
               f"{len(report.unchanged)} unchanged, {made} user(s) added.")


@click.command("import")
@click.argument("file")
@with_appcontext
def import_command(file: str) -> None:
    """Import a JSON or YAML list of teams (FILE or - for stdin); all or nothing, by slug."""
    _ensure_schema()
    records = load_file(file)
    report = run_import(records, "Importing teams")
    click.echo(f"Imported: {len(report.created)} created, {len(report.updated)} updated, "
               f"{len(report.unchanged)} unchanged.")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@click.option("--include-archived", is_flag=True, help="Export archived teams too.")
@with_appcontext
def export(fmt: str, output: str | None, include_archived: bool) -> None:
    """Write every team as a list that `directory import` reads back unchanged."""
    _ensure_schema()
    stmt = select(Team).order_by(Team.slug)
    if not include_archived:
        stmt = stmt.where(Team.archived_at.is_(None))
    teams = [t.data for t in get_session().scalars(stmt)]
    if fmt == "json":
        text = json.dumps(teams, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(teams, sort_keys=False, allow_unicode=True, width=100)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Exported {len(teams)} team(s) to {output}.", err=True)
    else:
        click.echo(text, nl=False)


@click.command("reindex")
@with_appcontext
def reindex() -> None:
    """Rebuild the search index from the database."""
    _ensure_schema()
    search = get_search()
    total = services.count_teams(get_session())
    with click.progressbar(length=total, label="Indexing teams", file=sys.stderr) as bar:
        count = search.rebuild(progress=bar.update)
    click.echo(f"Indexed {count} team(s).")


@click.command("create-token")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option("--name", default="integration", show_default=True, help="What the token is for.")
@click.option("--user", "email", help="Act as this user (their rights apply); omit for an operator's token.")
@with_appcontext
def create_token(scope: str, name: str, email: str | None) -> None:
    """Create an API token; it is printed once, alone on the last line, and only its hash is kept."""
    _ensure_schema()
    session = get_session()
    user = None
    if email:
        user = accounts.find_user(session, email)
        if user is None:
            raise click.ClickException(f"no user {email}")
    token, plain = accounts.create_token(session, name, scope, user)
    session.commit()
    click.echo(f"Token {token.id} ({token.name}, scope {scope}) created. Store it now; it is not shown again:")
    click.echo(plain)


@click.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token(token_id: int) -> None:
    """Revoke an API token by its number."""
    session = get_session()
    try:
        accounts.revoke_token(session, token_id)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"Token {token_id} revoked.")


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="")
@click.password_option(help="At least 10 characters.")
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator (or make an existing user one, with this password)."""
    _ensure_schema()
    session = get_session()
    try:
        user = accounts.find_user(session, email)
        if user is None:
            user = accounts.create_user(session, email, name, password, is_admin=True)
        else:
            user.is_admin = True
            accounts.set_password(user, password)
    except InvalidTeam as exc:
        raise click.ClickException("; ".join(f"{k}: {', '.join(v)}" for k, v in exc.errors.items())) from exc
    session.commit()
    click.echo(f"{user.email} is an administrator.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--dev", is_flag=True, help="Flask's development server with reloading instead of gunicorn.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the directory (gunicorn; --dev for Flask's reloading server).

    Preparation (schema, index) runs in an application context that is popped before serving,
    and every worker builds its own app after the fork: nothing per-request (`g`, the session,
    the signed-in user) or per-process (database connections) can be shared between requests or
    workers.
    """
    from flask.cli import ScriptInfo

    info = ctx.ensure_object(ScriptInfo)
    prepared = info.load_app()
    with prepared.app_context():
        _ensure_schema()
        get_search().ensure()
    prepared.extensions["directory_db"].engine.dispose()
    if dev:
        prepared.run(host=host, port=port, debug=True)
        return
    serve_with_gunicorn(host, port, workers)


def serve_with_gunicorn(host: str, port: int, workers: int) -> None:
    """gunicorn with one app per worker, built after the fork from the environment."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("preload_app", False)

        def load(self) -> Flask:
            return _create_app()

    click.echo(f"Serving the directory at http://{host}:{port}/")
    Server().run()
