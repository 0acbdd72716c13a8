"""A served directory (`make run`, two gunicorn workers) and the visitors that talk to it over HTTP.

Nothing here reaches into the app: people sign in through the sign-in form, integrations send
bearer tokens made by the `directory` command, and every check reads what came back over the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import served

ADMIN = "admin@example.com"
OWNER = "david.chen@example.com"  # owns payroll, expenses-travel, accounts-payable, tax and treasury in seeds/
TIMEOUT = 30
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGNED_IN_RE = re.compile(r'class="site-nav__who" title="([^"]+)"')
TOKEN_RE = re.compile(r"^Token (\d+) ")
NEW_TOKEN_RE = re.compile(r'<code id="new-token">(dir_[^<]+)</code>')
# What only editors may see on a team page: the edit link, the review and archive forms.
EDIT_CONTROLS = re.compile(r'href="/teams/[^"/]+/edit"|/review"|/archive"|>Edit this page<|>Mark as reviewed<')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "smoke: starts the directory with `make run` and checks it over HTTP")


@dataclass(frozen=True)
class Token:
    id: int | None  # None when made on the administration page (the page does not show it)
    plain: str
    author: str  # the name its revisions are credited to


def create_token(directory: served.ServedDirectory, name: str, scope: str, user: str | None = None) -> Token:
    """`directory create-token` as an operator runs it: the token is the last line of its output."""
    args = ["create-token", "--scope", scope, "--name", name] + (["--user", user] if user else [])
    result = directory.cli(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    number = TOKEN_RE.match(lines[0])
    assert number, result.stdout
    return Token(int(number.group(1)), lines[-1].strip(), user or f"token:{name}")


class Visitor:
    """One browser or one integration: its own cookies (and bearer token), nothing else shared."""

    def __init__(self, directory: served.ServedDirectory, token: str | None = None) -> None:
        self.directory = directory
        self.http = requests.Session()
        self.email: str | None = None
        self.csrf_token: str | None = None
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.directory(path), timeout=TIMEOUT, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.post(self.directory(path), timeout=TIMEOUT, allow_redirects=False, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        """The CSRF token a page's form carries for this visitor's session, as a browser submits it."""
        page = self.get(path)
        match = CSRF_RE.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def signed_in_as(self, path: str = "/") -> str | None:
        """Whom the page's header names as signed in (None: the sign-in link is shown instead)."""
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        match = SIGNED_IN_RE.search(page.text)
        return match.group(1) if match else None

    def sign_in(self, email: str) -> None:
        """The sign-in form, as a browser submits it; keeps the signed-in session's CSRF token."""
        answer = self.post("/login", data={"csrf_token": self.csrf("/login"), "email": email,
                                           "password": served.DEMO_PASSWORD, "next": "/"})
        assert answer.status_code == 302, f"sign-in as {email}: {answer.status_code} {answer.text[:400]}"
        self.email = email
        self.csrf_token = self.csrf("/logout")

    def sign_out(self) -> None:
        answer = self.post("/logout", data={"csrf_token": self.csrf_token})
        assert answer.status_code == 302, f"sign-out: {answer.status_code} {answer.text[:400]}"
        self.email = self.csrf_token = None

    def team(self, slug: str) -> tuple[dict[str, Any], str]:
        """The team's API document and its ETag."""
        answer = self.get(f"/api/v1/teams/{slug}")
        assert answer.status_code == 200, answer.text[:400]
        return answer.json(), answer.headers["ETag"]

    def patch_team(self, slug: str, changes: dict[str, Any], *, etag: str | None = None,
                   csrf: bool = True) -> requests.Response:
        """PATCH with an ETag (the current one unless given); a signed-in browser adds its CSRF token.

        A successful answer carries the new ETag, so a caller may chain writes without reading again.
        """
        headers = {"If-Match": etag or self.team(slug)[1]}
        if csrf and self.csrf_token is not None:
            headers["X-CSRFToken"] = self.csrf_token
        return self.http.patch(self.directory(f"/api/v1/teams/{slug}"), json=changes, headers=headers,
                               timeout=TIMEOUT, allow_redirects=False)

    def create_token(self, name: str, scope: str) -> Token:
        """An operator's token made on the administration page (this visitor is an administrator)."""
        answer = self.post("/admin/tokens", data={"csrf_token": self.csrf_token, "name": name, "scope": scope,
                                                  "user": ""})
        plain = NEW_TOKEN_RE.search(answer.text)
        assert answer.status_code == 200 and plain, f"{answer.status_code} {answer.text[:400]}"
        return Token(None, plain.group(1), f"token:{name}")

    def revisions(self, slug: str) -> list[dict[str, Any]]:
        answer = self.get(f"/api/v1/teams/{slug}/revisions")
        assert answer.status_code == 200, answer.text[:400]
        return list(answer.json())


def assert_no_edit_controls(visitor: Visitor, slug: str) -> None:
    page = visitor.get(f"/teams/{slug}")
    assert page.status_code == 200
    assert not EDIT_CONTROLS.search(page.text), f"edit controls on {slug} for {visitor.email or 'anonymous'}"
    assert 'href="/admin"' not in page.text


def assert_edit_controls(visitor: Visitor, slug: str) -> None:
    page = visitor.get(f"/teams/{slug}")
    assert page.status_code == 200
    assert ">Edit this page<" in page.text and "Mark as reviewed" in page.text, visitor.email


@dataclass(frozen=True)
class Tokens:
    write_a: Token
    write_b: Token
    read: Token
    owner: Token
    revoked: Token


def worker_cpu_ticks(directory: served.ServedDirectory) -> dict[int, int]:
    """CPU time so far (clock ticks) of each gunicorn worker: the processes under `make run` with
    no children of their own (Linux /proc), except the search service beside them."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    leaves, todo = {}, list(children.get(directory.process.pid, []))
    while todo:
        pid = todo.pop()
        if children.get(pid):
            todo.extend(children[pid])
        elif pid in ticks and not _is_search_service(pid):
            leaves[pid] = ticks[pid]
    return leaves


def _is_search_service(pid: int) -> bool:
    try:
        return b"directory.search_service" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


TICKS_AT_START: dict[str, dict[int, int]] = {}


@pytest.fixture(scope="session")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[served.ServedDirectory]:
    """`make run` on a fresh instance with two workers, for the whole smoke session."""
    running = served.start(tmp_path_factory.mktemp("smoke"), workers=2)
    TICKS_AT_START[running.url] = worker_cpu_ticks(running)
    running.worker_pids = set(TICKS_AT_START[running.url])
    yield running
    served.stop(running)


@pytest.fixture(scope="session")
def tokens(directory: served.ServedDirectory) -> Tokens:
    """Tokens made as operators and administrators make them: the `directory` command (one of them
    revoked by it too) and the administration page.

    The commands run side by side: starting their Python process is most of what they cost.
    """
    by_command = {"write_a": ("smoke-a", "write", None), "owner": ("smoke-owner", "write", OWNER),
                  "revoked": ("smoke-revoked", "write", None)}
    with ThreadPoolExecutor(len(by_command)) as pool:
        futures = {key: pool.submit(create_token, directory, *spec) for key, spec in by_command.items()}
        admin = Visitor(directory)
        admin.sign_in(ADMIN)
        by_page = {"write_b": admin.create_token("smoke-b", "write"), "read": admin.create_token("smoke-read", "read")}
        admin.sign_out()
        made = {key: future.result() for key, future in futures.items()}
    result = directory.cli("revoke-token", str(made["revoked"].id))
    assert result.returncode == 0, result.stdout + result.stderr
    return Tokens(**made, **by_page)
