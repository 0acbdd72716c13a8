"""The `directory` command: set up, load, move and serve the directory (a Flask CLI group)."""

from __future__ import annotations

import codecs
import json
import math
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from directory import accounts, queries, services
from directory.db import get_db, get_session, is_initialised, upgrade
from directory.errors import DirectoryError, Invalid, NotFound
from directory.jobs import check_links_command, notify_command, purge_search_log_command
from directory.models import Team
from directory.search_sync import get_search

CLI_ACTOR = services.Actor(name="cli", is_admin=True)


def _create_app(config: dict[str, Any] | None = None) -> Flask:
    from directory import create_app

    return create_app(config)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """The directory: who helps with what, when they are open, and when you will hear back."""


def register(app: Flask) -> None:
    """The commands that work inside the app's context (`serve` is on `main`: it must run in none)."""
    for command in (init, seed, import_command, export, reindex, create_token, revoke_token, create_admin):
        app.cli.add_command(command)
    from directory.mail.cli import mail_responder

    app.cli.add_command(mail_responder)
    for command in (notify_command, check_links_command, purge_search_log_command):
        app.cli.add_command(command)
    from directory.holiday_calendars import cli_group as holiday_calendar_commands

    app.cli.add_command(holiday_calendar_commands())
    from directory.performance_cli import import_requests

    app.cli.add_command(import_requests)


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


# A team list nests about eight levels (list, team, hours, weekly, day, interval, time); anything
# much deeper is not a team list, and parsing it further would exhaust Python's stack.
MAX_DEPTH = 64
# YAML aliases may repeat a block (shared hours, say) but may not multiply the document: the
# expanded size (nodes plus scalar characters) may exceed the file's own by this much at most.
ALIAS_ALLOWANCE = 1_000_000
# Longest value quoted back in a problem line; a whole file pasted into one field stays readable.
PROBLEM_WIDTH = 500
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class DocumentError(ValueError):
    """A file that cannot be read as a team list at all; the message is one line naming the file."""


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that no team list needs (too deep, aliases that multiply or recurse)."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text, or UTF-16/32 with a byte-order mark (as Windows editors save it); else one clear line."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DocumentError(f"{source}: not {codec.upper().removesuffix('-SIG')} text (byte 0x{data[exc.start]:02x} "
                            f"at line {line}, column {column}); save it as UTF-8") from exc
    if "\x00" in text:
        raise DocumentError(f"{source}: contains NUL characters (UTF-16 without a byte-order mark?); "
                            "save it as UTF-8")
    return text


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    """An unquoted YAML date is the ISO text CONTRACT §1 uses (`2026-12-24`, `2026-11-27T13:00`).

    Other timestamps (seconds, time zones, impossible days) stay as written, so that the schema
    quotes them back in its message instead of a Python repr.
    """
    try:
        value = loader.construct_yaml_timestamp(node)
    except ValueError:
        return str(node.value)
    if isinstance(value, datetime):
        if value.tzinfo is None and not value.second and not value.microsecond:
            return value.strftime("%Y-%m-%dT%H:%M")
        return str(node.value)
    return value.isoformat()


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | float:
    """An integer too long for Python to convert reads as infinity, which the schema refuses by field."""
    try:
        return loader.construct_yaml_int(node)  # type: ignore[no-any-return]
    except ValueError:
        return math.inf


class TeamFileLoader(yaml.SafeLoader):
    """SafeLoader for untrusted team lists: bounded nesting and alias expansion, dates as ISO text."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.allowance = 4 * len(stream) + ALIAS_ALLOWANCE

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep; a team list nests about eight",
                               self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node, self.allowance)
        return self.construct_document(node)


TeamFileLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
TeamFileLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def _check_expansion(root: yaml.Node, limit: int) -> None:
    """Refuse aliases that refer to themselves or multiply the document ("billion laughs").

    Sizes are computed once per node (aliases share nodes), so this costs the file's size, not
    the expansion's.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes and not children_done:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1 + len(node.value)
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value))
        if children_done:
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > limit:
                raise _Refused(f"its aliases (*name) repeat blocks so often that the document would grow beyond "
                               f"{limit:,} values and characters; write the repeated blocks out", node.start_mark)
            sizes[id(node)] = size
            continue
        sizes[id(node)] = -1  # in progress: meeting it again below itself is a cycle
        stack.append((node, True))
        for child in children:
            if sizes.get(id(child)) == -1:
                raise _Refused("the block anchored here contains an alias (*name) to itself", child.start_mark)
            if id(child) not in sizes:
                stack.append((child, False))


def _json_int(text: str) -> int | float:
    """Integers past Python's conversion limit read as floats (inf when huge), refused by field."""
    return int(text) if len(text) <= 100 else float(text)


def read_document(text: str, source: str) -> Any:
    """JSON or YAML, whichever the text is (YAML is a superset of JSON, but JSON errors read better).

    Raises DocumentError with one line naming the file and the place; never a parser's traceback.
    """
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")) and not source.endswith((".yaml", ".yml")):
        try:
            return json.loads(text, parse_int=_json_int)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno}") from exc
        except RecursionError as exc:
            raise DocumentError(f"{source}: nested more than {MAX_DEPTH} levels deep; "
                                "a team list nests about eight") from exc
    try:
        return yaml.load(text, Loader=TeamFileLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        kind = "" if isinstance(exc, _Refused) else "not valid YAML: "
        raise DocumentError(f"{source}: {kind}{where}{what}") from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise DocumentError(f"{source}: line {line}, column {column}: the character "
                            f"U+{ord(exc.character) if isinstance(exc.character, str) else exc.character:04X} "
                            "is not allowed in YAML; remove it") from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"{source}: not valid YAML: {_one_line(str(exc))}") from exc


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _one_line(text: str, width: int = PROBLEM_WIDTH) -> str:
    """Text fit for a terminal line: no line breaks, control characters or lone surrogates, `width` at most."""
    line = " ".join(text[:width].split()).encode("utf-8", "backslashreplace").decode("utf-8")
    line = _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", line)
    return line if len(text) <= width else f"{line}… ({len(text) - width:,} more characters)"


def _record_label(index: int, raw: Any) -> str:
    """The label `load_teams` gives a record, so that all of a record's problems read alike."""
    from directory.services import slugify

    slug = None
    if isinstance(raw, dict):
        slug = raw.get("slug") or (slugify(raw["name"]) if isinstance(raw.get("name"), str) else None)
    shown = (slug if len(slug) <= 80 else f"{slug[:80]}…") if isinstance(slug, str) else None
    return f"record {index}" + (f" ({shown})" if shown else "")


def document_problems(document: Any) -> list[str]:
    """What no schema can see: nesting too deep and unstorable characters, by record and field path.

    A lone surrogate (an escape such as "\\udc80" in JSON or YAML) is not a character and NUL
    ("\\u0000") is refused by PostgreSQL: no database can store either, wherever it sits (a
    closure's reason, a field name). They are removed in place, and values nested too deep become
    null, so that the schema still runs safely and reports every other problem of the file.
    """
    if not isinstance(document, list):
        return []
    problems: list[str] = []
    for index, raw in enumerate(document):
        if not isinstance(raw, dict | list):
            continue
        label = _record_label(index, raw)
        stack: list[tuple[Any, str, int]] = [(raw, "", 1)]
        while stack:
            value, path, depth = stack.pop()
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            for key, item in items:
                where = f"{path}.{_one_line(str(key), 80)}" if path else _one_line(str(key), 80)
                if isinstance(key, str) and (why := _unstorable(key)):
                    problems.append(f"{label}: {where}: the field name {why}")
                    value[UNSTORABLE.sub("", key)] = value.pop(key)
                    key = UNSTORABLE.sub("", key)
                if isinstance(item, str) and (why := _unstorable(item)):
                    problems.append(f"{label}: {where}: {why}")
                    value[key] = UNSTORABLE.sub("", item)
                elif isinstance(item, dict | list) and depth >= MAX_DEPTH:
                    problems.append(f"{label}: {where}: nested more than {MAX_DEPTH} levels deep")
                    value[key] = None
                elif isinstance(item, dict | list):
                    stack.append((item, where, depth + 1))
    return problems


# Characters no database stores: lone UTF-16 surrogates (not characters at all) and NUL.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, in words for a problem line; None when it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"contains the NUL character (\\u0000) at position {found.start()}; remove it"
    return (f"contains a lone surrogate (\\u{ord(found.group()):04x}) at position {found.start()}, "
            "which is not a character; write the character itself")


def load_file(path: str) -> list[dict[str, Any]]:
    """Read and validate every record of a JSON or YAML team list, all problems at once."""
    from directory.schemas import load_teams

    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        data, source = (stdin.read() if stdin is not None else sys.stdin.read().encode()), "<stdin>"
    else:
        try:
            data, source = Path(path).read_bytes(), path
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = read_document(decode_text(data, source), source)
    except DocumentError as exc:
        raise click.ClickException(_one_line(str(exc), 2 * PROBLEM_WIDTH)) from exc
    if document is None:
        raise click.ClickException(f"{_one_line(source, 200)}: the file is empty; it must hold a list of teams")
    early = document_problems(document)
    records, problems = load_teams(document)
    if early or problems:
        _refuse(sorted(early + problems, key=_record_number))
    return records


def _record_number(problem: str) -> int:
    head = problem.removeprefix("record ").split(" ", 1)[0].rstrip(":")
    return int(head) if head.isdigit() else -1


def _refuse(problems: list[str]) -> None:
    click.echo(f"Nothing was imported: {len(problems)} problem(s).", err=True)
    for problem in problems:
        click.echo(f"  - {_one_line(problem, 2 * PROBLEM_WIDTH)}", err=True)
    raise SystemExit(1)


def run_import(records: list[dict[str, Any]], label: str) -> services.ImportReport:
    session = get_session()
    get_search().semantic.background = False  # many new teams' vectors: `compute_vectors`, or the server
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
    compute_vectors()


def compute_vectors() -> None:
    """Compute the vectors of search by meaning that teams lack, with a progress bar. The teams
    are searchable by their words already; if this is interrupted, the server computes the rest."""
    ranker = get_search().semantic
    if not ranker.enabled or not ranker.missing():
        return
    total = queries.count_teams(get_session())
    with click.progressbar(length=total, label="Computing search vectors", file=sys.stderr) as bar:
        count = ranker.compute_missing(progress=bar.update)
    click.echo(f"Search vectors: {count} team(s).")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@click.option("--include-archived", is_flag=True, help="Export archived teams too.")
@with_appcontext
def export(fmt: str, output: str | None, include_archived: bool) -> None:
    """Write every team as a list that `directory import` reads back unchanged.

    Odd stored data (written around the schemas) never stops the export: unstorable characters
    are written as U+FFFD with a warning; a team whose data cannot be read at all is left out with
    a warning, and the exit status is then 1, as the file is not the whole directory.
    """
    _ensure_schema()
    teams, warnings = _exported_documents(get_session(), include_archived)
    if fmt == "json":
        text = json.dumps(teams, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(teams, sort_keys=False, allow_unicode=True, width=100)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Exported {len(teams)} team(s) to {output}.", err=True)
    else:
        click.echo(text, nl=False)
    for warning in warnings:
        click.echo(f"Warning: {_one_line(warning)}", err=True)
    if any(warning.endswith("left out") for warning in warnings):
        raise SystemExit(1)


def _exported_documents(session: Any, include_archived: bool) -> tuple[list[Any], list[str]]:
    """Every team's document by slug, and warnings naming each team and field that needed care."""
    live = (Team.archived_at.is_(None),) if not include_archived else ()
    try:
        rows = session.execute(select(Team.slug, Team.data).where(*live).order_by(Team.slug)).all()
    except (SQLAlchemyError, ValueError):  # a row the driver or the JSON decoder cannot read: one by one
        session.rollback()
        rows = []
        for team_id, slug in session.execute(select(Team.id, Team.slug).where(*live).order_by(Team.slug)):
            try:
                rows.append((slug, session.scalar(select(Team.data).where(Team.id == team_id))))
            except (SQLAlchemyError, ValueError) as exc:
                session.rollback()
                rows.append((slug, exc))
    teams: list[Any] = []
    warnings: list[str] = []
    for slug, data in rows:
        label = f"team {_one_line(str(slug), 80)}"
        if not isinstance(data, dict):
            problem = (str(getattr(data, "orig", None) or data) if isinstance(data, Exception)
                       else f"not an object but {type(data).__name__}")
            warnings.append(f"{label}: its stored data cannot be read ({_one_line(problem, 200)}); left out")
            continue
        try:
            clean, repaired = _without_surrogates(data)
        except (RecursionError, ValueError, TypeError) as exc:
            warnings.append(f"{label}: its stored data cannot be written ({type(exc).__name__}); left out")
            continue
        warnings.extend(f"{label}: {where}: a character no file can hold (a lone surrogate or NUL) was written "
                        "as U+FFFD" for where in repaired)
        teams.append(clean)
    return teams, warnings


def _without_surrogates(data: Any) -> tuple[Any, list[str]]:
    """A stored document fit for UTF-8 output, and the paths where lone surrogates were replaced.

    Such data can only come from a writer that bypassed validation; the export must still be
    written (and read back by import), so each one becomes U+FFFD on a copy, never in the database.
    """
    if not UNSTORABLE.search(json.dumps(data, ensure_ascii=False)):
        return data, []
    copy = json.loads(json.dumps(data))
    repaired: list[str] = []
    stack: list[tuple[Any, str]] = [(copy, "")]
    while stack:
        value, path = stack.pop()
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for key, item in items:
            clean_key = _replaced(key) if isinstance(key, str) else key
            where = f"{path}.{clean_key}" if path else str(clean_key)
            if isinstance(item, str) and UNSTORABLE.search(item):
                item = _replaced(item)
                repaired.append(where)
            if clean_key != key:
                del value[key]
                repaired.append(where)
            value[clean_key] = item
            if isinstance(item, dict | list):
                stack.append((item, where))
    return copy, sorted(set(repaired))


def _replaced(text: str) -> str:
    return UNSTORABLE.sub("\ufffd", text)


@click.command("reindex")
@with_appcontext
def reindex() -> None:
    """Rebuild the search index from the database."""
    _ensure_schema()
    search = get_search()
    total = queries.count_teams(get_session())
    with click.progressbar(length=total, label="Indexing teams", file=sys.stderr) as bar:
        count = search.rebuild(progress=bar.update)
    click.echo(f"Indexed {count} team(s).")
    compute_vectors()


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
        user = accounts.make_admin(session, email, name, password)
    except Invalid as exc:
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
    service = None
    if prepared.config.get("SEARCH_SEMANTIC", False):
        from directory.search_service import Supervisor

        service = Supervisor(prepared.instance_path).start()  # the model and the vectors, once for every worker
    serve_with_gunicorn(host, port, workers, service)


def serve_with_gunicorn(host: str, port: int, workers: int, service: str | None = None) -> None:
    """gunicorn with one app per worker, built after the fork from the environment (and told the
    search service's socket, when one runs)."""
    from gunicorn.app.base import BaseApplication

    from directory.search_service import SOCKET_SETTING

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("preload_app", False)
            # gunicorn's control socket lives at one path per user; several directories served
            # side by side (hosts, tests) would contend for it, and nothing here uses it.
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            return _create_app({SOCKET_SETTING: service} if service else None)

    click.echo(f"Serving the directory at http://{host}:{port}/")
    Server().run()


main.add_command(serve)
