"""`make run` on PostgreSQL: many readers at once, and the identities that the SQLite smoke checks.

Each gunicorn worker must open its own connections after the fork: connections shared between
workers interleave their protocol messages, which shows up under concurrent reads as 500s.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests import served
from tests.conftest import PG_HOST, PG_PORT, require_postgres
from tests.smoke.conftest import ADMIN, Visitor, assert_no_edit_controls, create_token

pytestmark = [pytest.mark.smoke, pytest.mark.slow, pytest.mark.postgres]

READS, THREADS = 400, 8
READ_PATHS = ("/api/v1/teams/payroll", "/api/v1/teams/it-service-desk", "/api/v1/teams?page_size=20",
              "/api/v1/search?q=laptop+wont+start", "/api/v1/teams/tax/status", "/teams/payroll",
              "/api/v1/teams/payroll/revisions", "/healthz")


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[served.ServedDirectory]:
    """`make run` with two workers on a fresh PostgreSQL database, dropped afterwards."""
    require_postgres()
    import psycopg

    admin_dsn = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres"
    name = f"directory_smoke_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    folder: Path = tmp_path_factory.mktemp("smoke-postgres")
    try:
        running = served.start(folder, workers=2, extra_env={
            "DATABASE_URL": f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"})
        try:
            yield running
        finally:
            served.stop(running)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_concurrent_reads_all_succeed(directory: served.ServedDirectory) -> None:
    def read_share(worker: int) -> Counter[tuple[str, int | str]]:
        visitor = Visitor(directory)  # one connection pool per thread, as separate clients have
        seen: Counter[tuple[str, int | str]] = Counter()
        for n in range(worker, READS, THREADS):
            path = READ_PATHS[n % len(READ_PATHS)]
            try:
                seen[(path, visitor.get(path).status_code)] += 1
            except requests.RequestException as exc:  # a worker that died mid-answer
                seen[(path, type(exc).__name__)] += 1
        return seen

    with ThreadPoolExecutor(THREADS) as pool:
        answers = sum(pool.map(read_share, range(THREADS)), Counter())
    assert sum(answers.values()) == READS
    failed = {f"{path} -> {status}": count for (path, status), count in answers.items() if status != 200}
    assert not failed, f"{failed}\n{directory.log_text()[-3000:]}"


def test_identities_stay_apart(directory: served.ServedDirectory) -> None:
    slug = "accounts-payable"
    token = create_token(directory, "smoke-pg", "write")
    integration = Visitor(directory, token.plain)
    admin = Visitor(directory)
    admin.sign_in(ADMIN)
    anonymous = Visitor(directory)
    first_new = anonymous.revisions(slug)[0]["number"] + 1
    _, etag = anonymous.team(slug)
    expected = []
    for n in range(6):
        for visitor, author in ((integration, token.author), (admin, ADMIN)):
            summary = f"Supplier invoices on PostgreSQL; round {n}, saved by {author}."
            answer = visitor.patch_team(slug, {"summary": summary}, etag=etag)
            assert answer.status_code == 200, (author, answer.text[:400])
            etag = answer.headers["ETag"]
            expected.append((author, summary))
            assert anonymous.patch_team(slug, {"summary": "anonymous"}, etag=etag).status_code == 401
            assert_no_edit_controls(anonymous, slug)
    saved = [r for r in anonymous.revisions(slug) if r["number"] >= first_new]
    assert [(r["author"], r["team"]["summary"]) for r in reversed(saved)] == expected
    admin.sign_out()
    assert admin.signed_in_as() is None
