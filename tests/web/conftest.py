"""Helpers for the page tests: signing in through the real form, CSRF tokens, reading forms back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import accounts
from directory.db import get_session
from tests.conftest import make_app

PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """A CSRF token of the client's session, read from a page's form as a browser would."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def add_user(app: Flask, email: str, *, is_admin: bool = False, password: str = PASSWORD) -> None:
    with app.app_context():
        session = get_session()
        if accounts.find_user(session, email) is None:
            accounts.create_user(session, email, email.split("@")[0].title(), password, is_admin=is_admin)
            session.commit()


def sign_in(client: FlaskClient, app: Flask, email: str, *, is_admin: bool = False) -> None:
    """Create the account if needed and sign in through the real sign-in form."""
    add_user(app, email, is_admin=is_admin)
    response = client.post("/login", data={"csrf_token": csrf_token(client), "email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


class FormReader(HTMLParser):
    """The values a browser would submit for one form (by index on the page), skipping <template>s."""

    def __init__(self, form_index: int = 0, form_id: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_index, self.form_id = form_index, form_id
        self.seen_forms = -1
        self.in_form = False
        self.template = 0
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.seen_forms += 1
            self.in_form = (a.get("id") == self.form_id) if self.form_id else self.seen_forms == self.form_index
        if tag == "template":
            self.template += 1
        if not self.in_form or self.template or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind not in {"submit", "button", "image", "reset"}:
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
                self.fields.setdefault(self._select, value)
            if "selected" in a:
                self.fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "template":
            self.template -= 1
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.in_form:
            self.fields[self._textarea] += data


def read_form(html: str, form_index: int = 0, form_id: str | None = None) -> dict[str, str]:
    reader = FormReader(form_index, form_id)
    reader.feed(html)
    # A <textarea>'s first newline is not part of its value (HTML parsing rules).
    return {k: (v[1:] if v.startswith("\n") else v) for k, v in reader.fields.items()}


def editor_form(client: FlaskClient, slug: str) -> dict[str, str]:
    """The team editor's fields as the page shows them, ready to change and post back."""
    response = client.get(f"/teams/{slug}/edit")
    assert response.status_code == 200, response.status_code
    fields = read_form(response.get_data(as_text=True), form_id="team-editor")
    fields["save"] = "1"
    return fields


def near(html: str, anchor_id: str, text: str, window: int = 3000) -> bool:
    """Whether `text` appears inside the element with id `anchor_id` (roughly: just after its start)."""
    start = html.find(f'id="{anchor_id}"')
    return start != -1 and text in html[start:start + window]


@pytest.fixture
def web_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """An app factory with extra configuration (require-login mode, header auth)."""
    made: list[Flask] = []

    def factory(**config: Any) -> Flask:
        folder = tmp_path / f"app{len(made)}"
        folder.mkdir(parents=True, exist_ok=True)
        app = make_app(folder, **config)
        made.append(app)
        return app

    yield factory
    for app in made:
        app.extensions["directory_db"].engine.dispose()


@pytest.fixture
def sign_in_as(app: Flask) -> Callable[..., None]:
    """sign_in_as(client, email, is_admin=False): an account, signed in through the sign-in form."""

    def sign(client: FlaskClient, email: str, *, is_admin: bool = False, on: Flask | None = None) -> None:
        sign_in(client, on or app, email, is_admin=is_admin)

    return sign


@pytest.fixture
def editor_fields() -> Callable[[FlaskClient, str], dict[str, str]]:
    return editor_form


@pytest.fixture
def form_values() -> Callable[..., dict[str, str]]:
    return read_form


@pytest.fixture
def csrf() -> Callable[..., str]:
    return csrf_token


@pytest.fixture
def owner_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client signed in as alice@example.com, the owner of the default test team (payroll)."""
    sign_in(client, app, "alice@example.com")
    return client


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient) -> FlaskClient:
    sign_in(client, app, "admin@example.com", is_admin=True)
    return client
