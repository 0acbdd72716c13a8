"""`directory import-requests FILE`: load a ticket tool's export of requests, all or nothing."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime
from typing import Any

import click
from flask.cli import with_appcontext

from directory import hours, performance, services
from directory.db import get_db, get_session, is_initialised, upgrade
from directory.text import text_problem

COLUMNS = ("team", "id", "received_at", "first_reply_at", "resolved_at", "service")
INSTANTS = ("received_at", "first_reply_at", "resolved_at")
CLI_ACTOR = services.Actor(name="cli", is_admin=True)
MAX_SHOWN = 200  # problems printed; the count says how many more there were


def _read_text(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: cannot be read as UTF-8 text ({exc.__class__.__name__}: {exc})") from exc


def _records(file: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs from CSV with a header row, or from JSON lines."""
    lowered = file.lower()
    is_json = lowered.endswith((".jsonl", ".ndjson", ".json")) or (
        not lowered.endswith(".csv") and text.lstrip().startswith("{"))
    if is_json:
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                record = {"_line": f"is not JSON ({str(exc)[:120]})"}
            if not isinstance(record, dict):
                record = {"_line": "is not a JSON object"}
            found.append((number, record))
        return found
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("team", "id", "received_at") if c not in header]
    if missing:
        raise click.ClickException(f"{file}: line 1: the header lacks the column(s) {', '.join(missing)} "
                                   f"(expected {', '.join(COLUMNS)})")
    reader.fieldnames = header
    return [(reader.line_num, dict(row)) for row in reader]


def _parsed(record: dict[str, Any]) -> tuple[str, performance.Report | None, dict[str, list[str]]]:
    """The team slug and report of one record, or its problems by field."""
    errors: dict[str, list[str]] = {}
    if "_line" in record:
        return "", None, {"line": [record["_line"]]}
    values: dict[str, Any] = {}
    for column in COLUMNS:
        value = record.get(column)
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None and not isinstance(value, str):
            errors[column] = ["must be text"]
            continue
        if value is not None and text_problem(value):
            errors[column] = [text_problem(value) or ""]
            continue
        if value is not None and column in INSTANTS:
            try:
                value = hours.parse_instant(value)
            except ValueError as exc:
                years = "years" in str(exc)
                errors[column] = [str(exc) if years else "is not an ISO 8601 date-time, e.g. 2026-11-24T09:30:00Z"]
                continue
        values[column] = value
    for required in ("team", "id", "received_at"):
        if values.get(required) is None and required not in errors:
            errors[required] = ["is required"]
    if errors:
        return values.get("team") or "", None, errors
    received_at: datetime = values["received_at"]
    return values["team"], performance.Report(
        id=values["id"], received_at=received_at, first_reply_at=values.get("first_reply_at"),
        resolved_at=values.get("resolved_at"), service=values.get("service")), {}


@click.command("import-requests")
@click.argument("file")
@with_appcontext
def import_requests(file: str) -> None:
    """Load requests teams received from a CSV (header: team,id,received_at,first_reply_at,resolved_at,
    service) or JSON-lines FILE (- for stdin); all or nothing; the same team and id again updates."""
    engine = get_db().engine
    if not is_initialised(engine):
        upgrade(engine)
    records = _records(file, _read_text(file))
    problems: dict[str, list[str]] = {}
    lines: list[tuple[int, str, performance.Report]] = []
    for number, record in records:
        slug, report, errors = _parsed(record)
        for field, messages in errors.items():
            problems[f"line {number}: {field}"] = messages
        if report is not None:
            lines.append((number, slug, report))
    session = get_session()
    try:
        with click.progressbar(length=len(records), label="Importing requests", file=sys.stderr) as bar:
            bar.update(len(records) - len(lines))
            result = performance.import_requests(session, lines, CLI_ACTOR, progress=bar.update)
    except performance.InvalidRequest as exc:
        problems.update(exc.errors)
    if problems:
        session.rollback()
    else:
        session.commit()
        click.echo(f"Imported {len(lines)} request(s): {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged.")
        return
    shown = sorted(problems.items(), key=lambda item: _line_of(item[0]))
    for where, messages in shown[:MAX_SHOWN]:
        click.echo(f"{where}: {'; '.join(messages)}", err=True)
    more = f" (the first {MAX_SHOWN} shown)" if len(shown) > MAX_SHOWN else ""
    raise click.ClickException(f"Nothing was imported: {len(shown)} problem(s) in {file}{more}.")


def _line_of(where: str) -> int:
    try:
        return int(where.split(":")[0].removeprefix("line "))
    except ValueError:
        return 0
